package alerts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ark "github.com/mlange-42/ark/ecs"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
)

// gated is a notifier that records what it is sent, in order, and holds
// each call until its gate is opened (or the call's context ends).
type gated struct {
	mu   sync.Mutex
	gate chan struct{}
	got  []string // "monitor code", e.g. "b red"
	seen []alert.Alert
}

func newGated() *gated { return &gated{gate: make(chan struct{})} }

func (g *gated) Notify(ctx context.Context, a alert.Alert) error {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.got = append(g.got, a.Monitor+" "+a.Code.String())
	g.seen = append(g.seen, a)
	return nil
}

func (g *gated) open() { close(g.gate) }

func (g *gated) sent() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.got)
}

// rig is a path with monitors named by the test, driven by the test as
// the engine's loop drives it.
type rig struct {
	t      *testing.T
	p      *Path
	ctr    *Counters
	cancel context.CancelFunc
	world  *ark.World
	names  map[ecs.Entity]string
	labels map[ecs.Entity]map[string]string

	mu   sync.Mutex
	dead []string // "monitor code: error"
}

func newRig(t *testing.T, n alert.Notifier, set func(*Config)) *rig {
	w := ark.NewWorld()
	r := &rig{t: t, ctr: new(Counters), world: w, names: map[ecs.Entity]string{}, labels: map[ecs.Entity]map[string]string{}}
	cfg := Config{
		Default: n, Timeout: time.Hour, Retries: 0, Backoff: time.Second, MaxElapsed: time.Hour,
		PerNotifier: 1, MaxInFlight: 1 << 10, PerMonitor: 32, Memory: 1 << 20,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Epoch: time.Now(),
		TimeoutErr: func(op string, d time.Duration) error { return fmt.Errorf("%s: timeout after %v", op, d) },
		PanicErr:   func(op string, v any, _ []byte) error { return fmt.Errorf("%s: panic: %v", op, v) },
		Info:       func(en ecs.Entity) (string, map[string]string) { return r.names[en], r.labels[en] },
		Undelivered: func(a alert.Alert, err error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.dead = append(r.dead, a.Monitor+" "+a.Code.String()+": "+err.Error())
		},
	}
	if set != nil {
		set(&cfg)
	}
	base, cancel := context.WithCancel(context.Background())
	r.p, r.cancel = New(cfg, base, r.ctr), cancel
	t.Cleanup(func() {
		r.cancel()
		r.p.Close()
		r.p.Wait()
	})
	return r
}

func (r *rig) monitor(name string) ecs.Entity {
	en := r.world.NewEntity()
	r.names[en] = name
	return en
}

// drain hands finished deliveries back to the path until nothing waits
// or is in flight (by its counts, or by its lanes, queues and groups). It fails the test if a minute passes with no delivery
// finishing: an alert that waits for nothing is stuck.
func (r *rig) drain() {
	r.t.Helper()
	for {
		inflight, q := r.p.Stats()
		if inflight == 0 && q == 0 || r.p.Idle() {
			return
		}
		select {
		case j := <-r.p.Done():
			r.p.Finished(j)
		case <-time.After(time.Minute):
			r.t.Fatalf("stuck: %d alerts in flight and %d waiting, none finishing", inflight, q)
		}
	}
}

func (r *rig) deadLettered() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.dead)
}

var errDown = errors.New("status 503")

func red(start int64) Pending {
	return Pending{Err: errDown, Start: start, At: start, Code: alert.Red, Fails: 2, Seq: 1}
}

func green(start int64) Pending {
	return Pending{Start: start, At: start + 1, Code: alert.Green, Seq: 2, Ends: true}
}

// TestQueuedAlertHeap checks what an alert waiting for a hung notifier
// costs on the heap: no more than the backlog's bound counts for it (96
// bytes) when it is its monitor's only one and when a red and its green
// wait together, and about 140 bytes when it waits alone behind an alert
// of its monitor already sent (the lane then is its own); and that the
// path gives that memory back once the backlog has drained.
func TestQueuedAlertHeap(t *testing.T) {
	const n = 50_000
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for _, tc := range []struct {
		name  string
		raise func(r *rig, n0 *gated, en ecs.Entity)
		per   int // alerts waiting for each monitor
		most  float64
	}{
		{"alone", func(r *rig, n0 *gated, en ecs.Entity) {
			r.p.Raise(en, n0, false, red(1), nil)
		}, 1, waitCost},
		{"pair", func(r *rig, n0 *gated, en ecs.Entity) {
			r.p.Raise(en, n0, false, red(1), nil)
			r.p.Raise(en, n0, false, green(1), nil)
		}, 2, waitCost},
		{"behind a sent alert", func(r *rig, n0 *gated, en ecs.Entity) {
			// The monitor's red was sent (the lane start makes for it),
			// its green is raised while the red is in flight, and the
			// red's delivery ends: the green waits in the queue.
			l := &lane{en: en, sink: r.p.sinkFor(en, n0, false).idx, busy: true, sent: 1}
			r.p.lanes.put(l)
			r.p.Raise(en, n0, false, green(1), nil)
			r.p.advance(l)
		}, 1, 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n0 := newGated()
			r := newRig(t, n0, func(c *Config) { c.Memory = 64 << 20 })
			ens := make([]ecs.Entity, n)
			for i := range ens {
				ens[i] = r.world.NewEntity()
			}
			r.p.Raise(ens[0], n0, false, red(1), nil) // in flight, held: the others wait
			before := heap()
			for _, en := range ens[1:] {
				tc.raise(r, n0, en)
			}
			after := heap()
			_, queued := r.p.Stats()
			if want := (n - 1) * tc.per; queued != want {
				t.Fatalf("got %d alerts waiting, want %d", queued, want)
			}
			per := float64(after-before) / float64(queued)
			t.Logf("%.1f bytes of heap per waiting alert", per)
			if per > tc.most {
				t.Errorf("got %.1f bytes of heap per waiting alert, want at most %.0f", per, tc.most)
			}
			n0.open()
			r.drain()
			if r.p.lanes.slots != nil || r.p.single.slots != nil {
				t.Errorf("got tables of %d lanes and %d alerts alone kept after the backlog drained, want none",
					len(r.p.lanes.slots), len(r.p.single.slots))
			}
			runtime.KeepAlive(ens)
		})
	}
}

// TestGroupPlaceCounted checks the count of waiting alerts when a
// monitor's alert joins a group while an earlier alert of it is on the
// way, so that it waits at a place in the monitor's lane: it is counted
// once while it waits, and the count is back to none once all are sent.
func TestGroupPlaceCounted(t *testing.T) {
	n0 := newGated()
	r := newRig(t, n0, func(c *Config) { c.GroupBy = "team"; c.GroupWait = time.Hour })
	a, b := r.monitor("a"), r.monitor("b")
	team := map[string]string{"team": "db"}
	r.labels[a], r.labels[b] = team, team
	r.p.Raise(a, n0, false, red(1), team)
	r.p.Due(math.MaxInt64)                  // a's red goes, alone in its group, and is held
	r.p.Raise(a, n0, false, green(1), team) // a place in a's lane, behind the red
	r.p.Raise(b, n0, false, red(2), team)
	if _, q := r.p.Stats(); q != 2 || r.p.bytes != 2*waitCost {
		t.Fatalf("got %d waiting (%d bytes), want 2 (%d bytes)", q, r.p.bytes, 2*waitCost)
	}
	r.p.Due(math.MaxInt64)
	n0.open()
	r.drain()
	if _, q := r.p.Stats(); q != 0 || r.p.bytes != 0 {
		t.Errorf("got %d waiting (%d bytes) once all were sent, want none", q, r.p.bytes)
	}
	got := n0.sent()
	if len(got) != 3 || got[0] != "a red" || !slices.Contains(got, "a green") || !slices.Contains(got, "b red") {
		t.Errorf("got %q sent, want a's red, then a's green and b's red", got)
	}
	if !r.p.Idle() {
		t.Error("path not idle after every alert was sent")
	}
}

// TestBehindAloneMoves checks a monitor whose one alert waits alone and
// has another behind it (the first stays in its sink's queue as its
// lane's head): replaced by an update, its alerts still go out in order;
// removed, they go out, or to the dead-letter hook at the shutdown
// deadline, with the name it had.
func TestBehindAloneMoves(t *testing.T) {
	t.Run("rekey", func(t *testing.T) {
		n0 := newGated()
		r := newRig(t, n0, nil)
		a, b := r.monitor("a"), r.monitor("b")
		r.p.Raise(a, n0, false, red(1), nil) // in flight, held
		r.p.Raise(b, n0, false, red(5), nil)
		r.p.Raise(b, n0, false, green(5), nil)
		b2 := r.monitor("b2")
		r.p.Rekey(b, b2)
		r.p.Raise(b2, n0, false, red(9), nil)
		n0.open()
		r.drain()
		if got, want := n0.sent(), []string{"a red", "b2 red", "b2 green", "b2 red"}; !slices.Equal(got, want) {
			t.Errorf("got %q sent, want %q", got, want)
		}
		if !r.p.Idle() {
			t.Error("path not idle after every alert was sent")
		}
	})
	// removed sets up a in flight and b's red and green waiting, and
	// removes b.
	removed := func(t *testing.T) (*rig, *gated) {
		n0 := newGated()
		r := newRig(t, n0, nil)
		a, b := r.monitor("a"), r.monitor("b")
		r.p.Raise(a, n0, false, red(1), nil)
		r.p.Raise(b, n0, false, red(5), nil)
		r.p.Raise(b, n0, false, green(5), nil)
		r.p.Removed(b, "b", map[string]string{"team": "db"})
		delete(r.names, b)
		return r, n0
	}
	t.Run("removed", func(t *testing.T) {
		r, n0 := removed(t)
		n0.open()
		r.drain()
		if got, want := n0.sent(), []string{"a red", "b red", "b green"}; !slices.Equal(got, want) {
			t.Fatalf("got %q sent, want %q", got, want)
		}
		for _, al := range n0.seen[1:] {
			if al.Labels["team"] != "db" {
				t.Errorf("got labels %v on the removed monitor's %s, want team=db", al.Labels, al.Code)
			}
		}
	})
	t.Run("removed, abandoned", func(t *testing.T) {
		r, _ := removed(t)
		r.cancel()
		r.p.Abandon(time.Minute)
		// a's call, in flight, may end before the waiting alerts are
		// handed over or after: only b's order is fixed.
		var got, bs []string
		for _, d := range r.deadLettered() {
			got = append(got, d[:strings.Index(d, ":")])
			if strings.HasPrefix(d, "b ") {
				bs = append(bs, got[len(got)-1])
			}
		}
		if len(got) != 3 || !slices.Contains(got, "a red") || !slices.Equal(bs, []string{"b red", "b green"}) {
			t.Errorf("got %q dead-lettered, want b's red and green in order, and a's red", got)
		}
	})
}

// TestOrderBehindAlone checks that alerts raised for a monitor whose one
// alert waits in its sink's queue wait behind it, fold with it as a lane's
// alerts fold, and go out in order.
func TestOrderBehindAlone(t *testing.T) {
	n0 := newGated()
	r := newRig(t, n0, func(c *Config) { c.PerMonitor = 2 })
	a, b := r.monitor("a"), r.monitor("b")
	r.p.Raise(a, n0, false, red(1), nil) // in flight, held
	r.p.Raise(b, n0, false, red(10), nil)
	r.p.Raise(b, n0, false, green(10), nil)
	r.p.Raise(b, n0, false, red(20), nil)
	r.p.Raise(b, n0, false, green(20), nil) // two whole episodes waiting: folded into one
	if _, q := r.p.Stats(); q != 2 {
		t.Fatalf("got %d alerts waiting, want 2 (b's folded red and green)", q)
	}
	n0.open()
	r.drain()
	if got, want := n0.sent(), []string{"a red", "b red", "b green"}; !slices.Equal(got, want) {
		t.Fatalf("got %q sent, want %q", got, want)
	}
	for _, al := range n0.seen[1:] {
		if al.Skipped != 1 || al.Since.UnixMilli() != 10 {
			t.Errorf("got %s with Skipped %d, Since %d, want Skipped 1, Since 10", al.Code, al.Skipped, al.Since.UnixMilli())
		}
	}
	if got := r.ctr.Collapsed.Load(); got != 2 {
		t.Errorf("got %d alerts collapsed, want 2", got)
	}
	if raised, sent := r.ctr.Raised.Load(), r.ctr.Sent.Load(); raised != 5 || sent != 3 {
		t.Errorf("got %d raised, %d sent, want 5 and 3", raised, sent)
	}
	if !r.p.Idle() {
		t.Error("path not idle after every alert was sent")
	}
}

// TestRemovedWhileAlone checks that the alert of a removed monitor that
// waited alone goes out with the name and labels the monitor had.
func TestRemovedWhileAlone(t *testing.T) {
	n0 := newGated()
	r := newRig(t, n0, nil)
	a, b := r.monitor("a"), r.monitor("b")
	r.p.Raise(a, n0, false, red(1), nil)
	r.p.Raise(b, n0, false, red(1), nil)
	r.p.Removed(b, "b", map[string]string{"team": "db"})
	delete(r.names, b)
	n0.open()
	r.drain()
	if got, want := n0.sent(), []string{"a red", "b red"}; !slices.Equal(got, want) {
		t.Fatalf("got %q sent, want %q", got, want)
	}
	if got := n0.seen[1].Labels["team"]; got != "db" {
		t.Errorf("got label team %q on the removed monitor's alert, want %q", got, "db")
	}
}

// TestRekeyWhileAlone checks that a monitor replaced by an update while
// its one alert waits keeps its alerts in order, on the sink they began
// on, as a lane that moves does.
func TestRekeyWhileAlone(t *testing.T) {
	n1, n2 := newGated(), newGated()
	r := newRig(t, n1, nil)
	a, b := r.monitor("a"), r.monitor("b")
	r.p.Raise(a, n1, true, red(1), nil) // in flight on n1, held
	r.p.Raise(b, n1, true, red(5), nil) // waits alone on n1
	b2 := r.monitor("b")
	r.p.Rekey(b, b2)
	r.p.Raise(b2, n2, true, green(5), nil) // the updated monitor names n2
	n1.open()
	n2.open()
	r.drain()
	if got, want := n1.sent(), []string{"a red", "b red", "b green"}; !slices.Equal(got, want) {
		t.Errorf("got %q sent to the first notifier, want %q", got, want)
	}
	if got := n2.sent(); len(got) != 0 {
		t.Errorf("got %q sent to the second notifier, want none", got)
	}
}

// TestSinkReuse checks that a sink made after another was dropped takes
// the alerts of its own monitors, the ones waiting alone included.
func TestSinkReuse(t *testing.T) {
	n1, n2, n3 := newGated(), newGated(), newGated()
	r := newRig(t, n1, nil)
	m1, m2, m3, m4 := r.monitor("m1"), r.monitor("m2"), r.monitor("m3"), r.monitor("m4")
	r.p.Raise(m1, n1, true, red(1), nil)
	r.p.Raise(m2, n2, true, red(1), nil)
	n1.open()
	r.p.Finished(<-r.p.Done())             // m1's: n1's sink is dropped
	r.p.Raise(m3, n3, true, red(1), nil)   // a new sink, in flight
	r.p.Raise(m4, n3, true, red(7), nil)   // waits alone on it
	r.p.Raise(m4, n3, true, green(7), nil) // behind it
	n2.open()
	n3.open()
	r.drain()
	for _, tc := range []struct {
		n    *gated
		want []string
	}{
		{n1, []string{"m1 red"}},
		{n2, []string{"m2 red"}},
		{n3, []string{"m3 red", "m4 red", "m4 green"}},
	} {
		if got := tc.n.sent(); !slices.Equal(got, tc.want) {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// TestBacklogFullAlone checks that an alert raised when the backlog
// memory is full goes to the dead-letter hook at once, counted, and the
// waiting ones are still sent.
func TestBacklogFullAlone(t *testing.T) {
	n0 := newGated()
	r := newRig(t, n0, func(c *Config) { c.Memory = 2 * waitCost })
	a, b, c, d := r.monitor("a"), r.monitor("b"), r.monitor("c"), r.monitor("d")
	for _, en := range []ecs.Entity{a, b, c, d} {
		r.p.Raise(en, n0, false, red(1), nil)
	}
	want := []string{"d red: " + ErrBacklog.Error()}
	if got := r.deadLettered(); !slices.Equal(got, want) {
		t.Fatalf("got %q dead-lettered, want %q", got, want)
	}
	n0.open()
	r.drain()
	if got, want := n0.sent(), []string{"a red", "b red", "c red"}; !slices.Equal(got, want) {
		t.Errorf("got %q sent, want %q", got, want)
	}
	if raised, sent, failed := r.ctr.Raised.Load(), r.ctr.Sent.Load(), r.ctr.Failed.Load(); raised != 4 || sent != 3 || failed != 1 {
		t.Errorf("got %d raised, %d sent, %d failed, want 4, 3, 1", raised, sent, failed)
	}
}

// TestAbandonAlone checks the shutdown deadline: the alert in flight and
// the alerts waiting, alone or behind another, each go to the
// dead-letter hook once; or, when the state is kept, are counted as kept.
func TestAbandonAlone(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep=%v", keep), func(t *testing.T) {
			n0 := newGated()
			r := newRig(t, n0, func(c *Config) { c.Keep = keep })
			a, b, c := r.monitor("a"), r.monitor("b"), r.monitor("c")
			r.p.Raise(a, n0, false, red(1), nil)
			r.p.Raise(b, n0, false, red(1), nil)
			r.p.Raise(c, n0, false, red(1), nil)
			r.p.Raise(c, n0, false, green(1), nil)
			r.cancel()
			r.p.Abandon(time.Minute) // the call returns at once on its context
			got := r.deadLettered()
			var want []string
			if !keep {
				want = []string{"a red", "b red", "c green", "c red"}
				cut := func(s string) string { return s[:strings.Index(s, ":")] }
				if i, j := slices.IndexFunc(got, func(s string) bool { return cut(s) == "c red" }),
					slices.IndexFunc(got, func(s string) bool { return cut(s) == "c green" }); i > j {
					t.Errorf("got %q dead-lettered: c's green before its red", got)
				}
				for i := range got {
					got[i] = cut(got[i])
				}
				slices.Sort(got)
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %q dead-lettered, want %q", got, want)
			}
			failed, kept := r.ctr.Failed.Load(), r.ctr.Kept.Load()
			if keep && (failed != 0 || kept != 4) || !keep && (failed != 4 || kept != 0) {
				t.Errorf("got %d failed, %d kept, want 4 of one and none of the other", failed, kept)
			}
			if !r.p.Idle() {
				t.Error("path not idle after the shutdown deadline")
			}
		})
	}
}

// TestFifo checks a sink's queue: first in, first out, across chunks,
// with every item where push put it until it is taken.
func TestFifo(t *testing.T) {
	var f fifo
	var ptrs []*item
	next, want := 0, 0
	push := func(k int) {
		for range k {
			ptrs = append(ptrs, f.push(item{start: int64(next)}))
			next++
		}
	}
	pop := func(k int) {
		for range k {
			if got := f.pop().start; got != int64(want) {
				t.Fatalf("got item %d, want %d", got, want)
			}
			want++
		}
	}
	push(1)
	pop(1)
	push(3 * maxChunk)
	pop(maxChunk + 7)
	push(2*maxChunk + 3)
	for i := want; i < next; i++ {
		if got := ptrs[i].start; got != int64(i) {
			t.Fatalf("got item %d at the place of %d", got, i)
		}
	}
	pop(next - want)
	if f.len() != 0 || f.head != f.tail || f.head.next != nil {
		t.Fatalf("got len %d and more than one chunk after draining, want an empty queue of one chunk", f.len())
	}
	push(2)
	pop(2)
}

// TestItemSize checks what a waiting alert takes in its sink's queue.
func TestItemSize(t *testing.T) {
	if itemSize != 56 {
		t.Errorf("got an item of %d bytes, want 56", itemSize)
	}
	if a := alert.Code(alert.Gray); a&endsBit != 0 {
		t.Errorf("got code %d overlapping the ends bit", a)
	}
}
