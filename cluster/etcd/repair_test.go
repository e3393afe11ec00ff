package etcd

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestRepairsMoveWithTheShard repairs targets that stay broken while the
// member repairing them shuts down: the next owner goes on counting the
// attempts where the first stopped (1, 2, 3, 4, never a second 1), the
// member that left makes no attempt after its shutdown, and no two
// attempts on one monitor ever run at once.
func TestRepairsMoveWithTheShard(t *testing.T) {
	ep := startEtcd(t)
	f := newFleet(t)
	const n, bad = 60, 20
	f.setDown(0, bad, true)
	type call struct {
		member     string
		attempt    int
		start, end time.Time
	}
	var mu sync.Mutex
	calls := map[string][]call{}
	fix := func(member string) intervene.Remediator {
		return intervene.RemediatorFunc(func(ctx context.Context, inc intervene.Incident) error {
			c := call{member: member, attempt: inc.Attempt, start: time.Now()}
			time.Sleep(30 * time.Millisecond)
			c.end = time.Now()
			mu.Lock()
			calls[inc.Monitor] = append(calls[inc.Monitor], c)
			mu.Unlock()
			return errors.New("still broken")
		})
	}
	start := func(name string) *member {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 5 * time.Second, Logger: nopZap()})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := New(Config{Client: cli, Name: name, Shards: testShards, TTL: 2 * time.Second, Logger: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		eng, err := cpra.New(cpra.WithCluster(cl), cpra.WithNotifier(newReceiver()), cpra.WithLogger(quietLog()))
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			_, err := eng.Add(cpra.Monitor{
				Name:     "svc-" + strconv.Itoa(i),
				Check:    pulse.MustHTTP(f.srv.URL + "/m/" + strconv.Itoa(i)),
				Interval: 100 * time.Millisecond, Timeout: time.Second, FailureThreshold: 1,
				Remediate: fix(name),
				Policy:    intervene.Policy{MaxAttempts: 4, Backoff: 400 * time.Millisecond, MaxBackoff: 400 * time.Millisecond},
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		m := &member{name: name, cli: cli, cl: cl, eng: eng}
		t.Cleanup(func() { m.stop(context.Background()) })
		return m
	}
	a := start("a")
	b := start("b")
	settled(t, a, b)
	waitFor(t, "a first attempt on every broken target", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i := range bad {
			if len(calls["svc-"+strconv.Itoa(i)]) == 0 {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	a.stop(ctx)
	cancel()
	left := time.Now()
	waitFor(t, "four attempts on every broken target", 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i := range bad {
			if len(calls["svc-"+strconv.Itoa(i)]) < 4 {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // no fifth
	mu.Lock()
	defer mu.Unlock()
	moved := 0
	for i := range bad {
		name := "svc-" + strconv.Itoa(i)
		cs := calls[name]
		var seq []int
		for k, c := range cs {
			seq = append(seq, c.attempt)
			if c.member == "a" && c.start.After(left) {
				t.Errorf("%s: member a made attempt %d after it shut down", name, c.attempt)
			}
			if k > 0 && c.start.Before(cs[k-1].end) {
				t.Errorf("%s: attempts %d and %d ran at once", name, cs[k-1].attempt, c.attempt)
			}
			if k > 0 && c.member != cs[k-1].member {
				moved++
			}
		}
		if !slices.Equal(seq, []int{1, 2, 3, 4}) {
			t.Errorf("%s: attempts %v, want 1 to 4 once each, across the handover", name, seq)
		}
	}
	if moved == 0 {
		t.Error("no repair moved from one member to the other; the test proves nothing")
	}
	t.Logf("monitors whose repairs moved between members: %d of %d", moved, bad)
}
