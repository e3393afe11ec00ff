package etcd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ziad/cpra"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Bounds of one state transaction, under etcd's defaults (128 operations,
// 1.5 MiB a request).
const (
	txnShards = 64
	txnBytes  = 1 << 20
)

// A shard's state is a base key, all its records, and deltas written
// after it, each the records one batch changed: a batch costs what it
// changed, not the size of the shard. Every so many deltas (or once they
// outweigh the base) the owner writes a new base and deletes the deltas,
// in the same transaction; a new owner does so at its first write.
const (
	maxDeltas     = 16
	minDeltaBytes = 64 << 10
)

// shardLog is what the owner knows of a shard's keys.
type shardLog struct {
	seq        uint64 // of the next delta
	deltas     int
	deltaBytes int
	baseBytes  int
	fresh      bool // claimed, not written yet: the first write compacts
}

func (c *Cluster) baseKey(s int) string { return c.stateKey(s) + "/base" }
func (c *Cluster) deltaKey(s int, seq uint64) string {
	return fmt.Sprintf("%s/d%016x", c.stateKey(s), seq)
}

// Write applies the engine's changes to the state of the shards they
// name and writes, for each shard touched, a delta (or a new base), in
// transactions that succeed only while the member's token is still the
// shard's. Changes stamped with another token (the shard moved on) are
// dropped.
func (c *Cluster) Write(changes []cpra.Change) error {
	type put struct {
		s       int
		tok     int64
		ops     []clientv3.Op
		size    int
		compact bool
	}
	c.mu.Lock()
	var touched []int
	delta := map[int]map[string][]byte{}
	for _, ch := range changes {
		s := ch.Shard
		if s < 0 || s >= len(c.owner) || c.owner[s] == 0 || c.owner[s] != ch.Token {
			c.stats.conflicts.Add(1)
			continue
		}
		m, k := c.states[s], string(ch.Key)
		_, had := m[k]
		switch {
		case ch.Value == nil && had:
			delete(m, k)
			c.stats.records.Add(-1)
		case ch.Value != nil:
			m[k] = bytes.Clone(ch.Value)
			if !had {
				c.stats.records.Add(1)
			}
		}
		d := delta[s]
		if d == nil {
			d = map[string][]byte{}
			delta[s] = d
			touched = append(touched, s)
		}
		d[k] = m[k] // nil: deleted
	}
	puts := make([]put, 0, len(touched))
	for _, s := range touched {
		lg := &c.logs[s]
		p := put{s: s, tok: c.owner[s]}
		b := encodeDelta(delta[s])
		if lg.fresh || lg.deltas >= maxDeltas || lg.deltaBytes+len(b) > max(lg.baseBytes, minDeltaBytes) {
			b = encodeState(c.states[s])
			p.compact = true
			p.ops = []clientv3.Op{clientv3.OpPut(c.baseKey(s), string(b)),
				clientv3.OpDelete(c.deltaKey(s, 0), clientv3.WithRange(c.deltaKey(s, 1<<63)))}
		} else {
			p.ops = []clientv3.Op{clientv3.OpPut(c.deltaKey(s, lg.seq), string(b))}
		}
		p.size = len(b)
		puts = append(puts, p)
	}
	c.mu.Unlock()

	done := func(p put) {
		c.mu.Lock()
		if c.owner[p.s] == p.tok {
			lg := &c.logs[p.s]
			if p.compact {
				lg.deltas, lg.deltaBytes, lg.baseBytes, lg.fresh = 0, 0, p.size, false
			} else {
				lg.seq++
				lg.deltas++
				lg.deltaBytes += p.size
			}
		}
		c.mu.Unlock()
		c.stats.writes.Add(1)
		c.stats.writeBytes.Add(uint64(p.size))
	}
	var errs []error
	for len(puts) > 0 {
		n, size := 0, 0
		for n < len(puts) && n < txnShards && (n == 0 || size+puts[n].size <= txnBytes) {
			size += puts[n].size
			n++
		}
		chunk := puts[:n]
		puts = puts[n:]
		cmps := make([]clientv3.Cmp, len(chunk))
		var ops []clientv3.Op
		for i, p := range chunk {
			cmps[i] = clientv3.Compare(clientv3.CreateRevision(c.ownerKey(p.s)), "=", p.tok)
			ops = append(ops, p.ops...)
		}
		ctx, cancel := c.opContext()
		r, err := c.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("writing the state of %d shards: %w", len(chunk), err)
		}
		if r.Succeeded {
			for _, p := range chunk {
				done(p)
			}
			continue
		}
		// Some shard moved on: write the others one by one.
		for i, p := range chunk {
			ctx, cancel := c.opContext()
			r, err := c.cli.Txn(ctx).If(cmps[i]).Then(p.ops...).Commit()
			cancel()
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("writing the state of shard %d: %w", p.s, err))
			case r.Succeeded:
				done(p)
			default:
				c.stats.conflicts.Add(1)
			}
		}
	}
	return errors.Join(errs...)
}

// loadShard reads a shard's records from its base and deltas, in key
// order, and the log's position.
func loadShard(kvs []*mvccpb.KeyValue) (map[string][]byte, shardLog, error) {
	m := map[string][]byte{}
	lg := shardLog{fresh: true}
	for _, kv := range kvs {
		k := string(kv.Key)
		if name := k[strings.LastIndex(k, "/")+1:]; name != "base" {
			seq, err := strconv.ParseUint(strings.TrimPrefix(name, "d"), 16, 64)
			if err != nil {
				return nil, lg, fmt.Errorf("shard state: bad delta key %q", k)
			}
			lg.seq = max(lg.seq, seq+1)
			lg.deltas++
		}
		if err := applyState(m, kv.Value); err != nil {
			return nil, lg, fmt.Errorf("%s: %w", k, err)
		}
	}
	return m, lg, nil
}

// stateVersion is the first byte of a shard's base and delta keys.
const stateVersion = 2

// encodeState encodes records, in key order, as puts: a shard's base, or
// a location's report.
func encodeState(m map[string][]byte) []byte {
	size := 1 + binary.MaxVarintLen64
	for k, v := range m {
		size += len(k) + len(v) + 1 + 2*binary.MaxVarintLen32
	}
	b := make([]byte, 0, size)
	b = append(b, stateVersion)
	b = binary.AppendUvarint(b, uint64(len(m)))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b = appendEntry(b, k, m[k], true)
	}
	return b
}

// encodeDelta encodes changes of records: a nil value deletes.
func encodeDelta(d map[string][]byte) []byte {
	b := []byte{stateVersion}
	b = binary.AppendUvarint(b, uint64(len(d)))
	for _, k := range slices.Sorted(maps.Keys(d)) {
		b = appendEntry(b, k, d[k], d[k] != nil)
	}
	return b
}

func appendEntry(b []byte, k string, v []byte, put bool) []byte {
	b = binary.AppendUvarint(b, uint64(len(k)))
	b = append(b, k...)
	if !put {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// decodeState decodes records encoded by encodeState.
func decodeState(b []byte) (map[string][]byte, error) {
	m := map[string][]byte{}
	return m, applyState(m, b)
}

// applyState applies encoded puts and deletes to m.
func applyState(m map[string][]byte, b []byte) error {
	if len(b) == 0 || b[0] != stateVersion {
		return fmt.Errorf("shard state of version %d, want %d", first(b), stateVersion)
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return errors.New("shard state: bad record count")
	}
	b = b[k:]
	field := func() ([]byte, error) {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, errors.New("shard state: truncated record")
		}
		f := b[k : k+int(l)]
		b = b[k+int(l):]
		return f, nil
	}
	for range n {
		key, err := field()
		if err != nil {
			return err
		}
		if len(b) == 0 {
			return errors.New("shard state: truncated record")
		}
		op := b[0]
		b = b[1:]
		switch op {
		case 0:
			delete(m, string(key))
		case 1:
			val, err := field()
			if err != nil {
				return err
			}
			m[string(key)] = bytes.Clone(val)
		default:
			return fmt.Errorf("shard state: bad operation %d", op)
		}
	}
	if len(b) != 0 {
		return errors.New("shard state: trailing bytes")
	}
	return nil
}

func first(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}
