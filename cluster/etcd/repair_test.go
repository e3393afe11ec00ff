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
	mons := fleetMonitors(n, func(m *cpra.Monitor) {
		m.Timeout, m.FailureThreshold = time.Second, 1
		m.Policy = intervene.Policy{MaxAttempts: 4, Backoff: 400 * time.Millisecond, MaxBackoff: 400 * time.Millisecond}
	})
	join := func(name string) *member {
		return start(t, spec{endpoint: ep, name: name, notify: newReceiver(), fleet: f, monitors: mons,
			each: func(member string, _ int, m *cpra.Monitor) { m.Remediate = fix(member) }})
	}
	a := join("a")
	b := join("b")
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
