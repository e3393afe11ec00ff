package etcd

import (
	"bytes"
	"fmt"
	"maps"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// TestShardLogReplays checks that a base and the deltas after it, read in
// key order, give back the records the owner held, deletes included.
func TestShardLogReplays(t *testing.T) {
	c := &Cluster{cfg: Config{Prefix: "/data/cpra/"}}
	held := map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": []byte("3")}
	kvs := []*mvccpb.KeyValue{{Key: []byte(c.baseKey(7)), Value: encodeState(held)}}
	steps := []map[string][]byte{
		{"a": nil, "d": []byte("4")},
		{"b": []byte("22")},
		{"d": nil, "e": []byte("5")},
	}
	for i, d := range steps {
		kvs = append(kvs, &mvccpb.KeyValue{Key: []byte(c.deltaKey(7, uint64(i))), Value: encodeDelta(d)})
		for k, v := range d {
			if v == nil {
				delete(held, k)
			} else {
				held[k] = v
			}
		}
	}
	got, lg, err := loadShard(kvs)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(got, held, bytes.Equal) {
		t.Errorf("replayed %v, want %v", fmt.Sprint(got), fmt.Sprint(held))
	}
	if lg.seq != 3 || lg.deltas != 3 || !lg.fresh {
		t.Errorf("log after replay: %+v, want the next delta 3, 3 deltas, and a compaction at the first write", lg)
	}
	if _, _, err := loadShard([]*mvccpb.KeyValue{{Key: []byte(c.baseKey(7)), Value: []byte{9, 0}}}); err == nil {
		t.Error("a base of an unknown version was accepted")
	}
	if _, _, err := loadShard([]*mvccpb.KeyValue{{Key: []byte(c.baseKey(7)), Value: encodeState(held)[:5]}}); err == nil {
		t.Error("a truncated base was accepted")
	}
}
