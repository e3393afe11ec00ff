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
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range bad {
			name := "svc-" + strconv.Itoa(i)
			var seq []string
			for _, c := range calls[name] {
				seq = append(seq, c.member+strconv.Itoa(c.attempt))
			}
			t.Logf("%s: attempts %v", name, seq)
		}
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

// TestQueuedRepairIsNotSpentByAHandover hands a shard over while a repair
// of one of its monitors waits for a worker (the member has one, busy
// with a repair of another shard's monitor that waits for the test): the
// repair never ran, so it is not counted, and the next owner runs it as
// attempt 1.
func TestQueuedRepairIsNotSpentByAHandover(t *testing.T) {
	ep := startEtcd(t)
	f := newFleet(t)
	// A monitor that stays on a (the hog), and one whose shard goes to b
	// when b joins.
	plan := assign(testShards, []string{"a", "b"})
	hog, moving := -1, -1
	for i := 0; hog < 0 || moving < 0; i++ {
		switch plan[cpra.ShardOf("svc-"+strconv.Itoa(i), testShards)] {
		case "a":
			if hog < 0 {
				hog = i
			}
		case "b":
			if moving < 0 {
				moving = i
			}
		}
	}
	hogName, movingName := "svc-"+strconv.Itoa(hog), "svc-"+strconv.Itoa(moving)
	release := make(chan struct{})
	var once sync.Once
	letGo := func() { once.Do(func() { close(release) }) }
	hogRuns := make(chan struct{}, 1)
	var mu sync.Mutex
	var calls []string // the moving monitor's attempts: member and number
	mons := fleetMonitors(max(hog, moving)+1, func(m *cpra.Monitor) {
		m.FailureThreshold = 1
		m.Policy = intervene.Policy{MaxAttempts: 3, Backoff: 200 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	})
	each := func(member string, i int, m *cpra.Monitor) {
		switch i {
		case hog:
			m.Remediate = intervene.RemediatorFunc(func(ctx context.Context, _ intervene.Incident) error {
				select {
				case hogRuns <- struct{}{}:
				default:
				}
				select {
				case <-release:
				case <-ctx.Done():
				}
				return errors.New("still broken")
			})
			m.Timeout = time.Second
			m.Policy.Timeout = 2 * time.Minute
		case moving:
			m.Remediate = intervene.RemediatorFunc(func(_ context.Context, inc intervene.Incident) error {
				mu.Lock()
				calls = append(calls, member+strconv.Itoa(inc.Attempt))
				mu.Unlock()
				return errors.New("still broken")
			})
		}
	}
	join := func(name string) *member {
		return start(t, spec{endpoint: ep, name: name, notify: newReceiver(), fleet: f, monitors: mons, each: each,
			opts: []cpra.Option{cpra.WithWorkers(1, 1)}})
	}
	a := join("a")
	settled(t, a)
	t.Cleanup(letGo) // before the members stop
	f.setDown(hog, hog+1, true)
	select {
	case <-hogRuns:
	case <-time.After(time.Minute):
		t.Fatalf("%s: no repair within a minute", hogName)
	}
	f.setDown(moving, moving+1, true)
	id, _ := a.eng.Lookup(movingName)
	waitFor(t, movingName+"'s repair queued on a", time.Minute, func() bool {
		st, err := a.eng.Status(id)
		return err == nil && st.Attempts == 1
	})
	b := join("b")
	settled(t, a, b)
	waitFor(t, movingName+" repaired by b", time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) > 0
	})
	// The worker, once free, finds the recalled repair and does not run it.
	letGo()
	waitFor(t, "the recalled repair fenced off on a", time.Minute, func() bool {
		return a.eng.Stats().RemediationsFenced > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if calls[0] != "b1" {
		t.Errorf("%s: repairs %v, want b1 first: the attempt queued on a never ran, and must not count", movingName, calls)
	}
	for _, c := range calls {
		if c[0] == 'a' {
			t.Errorf("%s: repairs %v: a repaired it after handing it over", movingName, calls)
		}
	}
}
