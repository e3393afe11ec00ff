package loop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/maint"
	"github.com/ziad/cpra/internal/shared"
	"github.com/ziad/cpra/pulse"
)

// newEngine returns an engine that is not started: its commands run at
// once, on the caller's goroutine.
func newEngine(t *testing.T, def alert.Notifier) *Engine {
	t.Helper()
	return newEngineWith(t, Config{Notifier: def})
}

// newEngineWith is newEngine with cfg, its logger and errors filled in.
func newEngineWith(t *testing.T, cfg Config) *Engine {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Errors = Errors{
		NotFound: errors.New("not found"), Duplicate: errors.New("duplicate"),
		Monitor: func(m, f string, err error) error { return fmt.Errorf("%s: %s: %w", m, f, err) },
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var okCheck = pulse.CheckerFunc(func(context.Context) error { return nil })

func spec(name string, n alert.Notifier, labels map[string]string) *Spec {
	return &Spec{Name: name, Check: okCheck, Interval: time.Minute, Timeout: time.Second, Notify: n, Labels: labels}
}

func add(t *testing.T, e *Engine, sp *Spec) ecs.Entity {
	t.Helper()
	en, err := e.Add(sp)
	if err != nil {
		t.Fatalf("Add %s: %v", sp.Name, err)
	}
	return en
}

// notifySlot returns the slot of a monitor's own notifier.
func notifySlot(t *testing.T, e *Engine, en ecs.Entity) uint32 {
	t.Helper()
	tie := e.tieOfMonitor(en)
	if tie.notify == 0 {
		t.Fatalf("monitor %v has no notifier of its own", en)
	}
	return tie.notify - 1
}

type plainNotifier struct{ url string }

func (plainNotifier) Notify(context.Context, alert.Alert) error { return nil }

type sliceNotifier struct{ to []string }

func (sliceNotifier) Notify(context.Context, alert.Alert) error { return nil }

// Monitors with the same notifier share one slot of the engine's table,
// whatever the notifier's type, and the slot is freed when the last of
// them is removed.
func TestNotifierShared(t *testing.T) {
	fn := alert.NotifierFunc(func(context.Context, alert.Alert) error { return nil })
	for _, c := range []struct {
		name string
		a, b alert.Notifier // b: a second value the monitors may give, equal or not
		same bool           // whether a and b share
	}{
		{"pointer", alert.Log(io.Discard), nil, false},
		{"route (a map)", alert.Route{alert.Red: fn}, alert.Route{alert.Red: fn}, false},
		{"func", fn, alert.NotifierFunc(func(context.Context, alert.Alert) error { return nil }), false},
		{"slice struct", sliceNotifier{[]string{"x"}}, sliceNotifier{[]string{"x"}}, false},
		{"plain struct, equal copies", plainNotifier{"u"}, plainNotifier{"u"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEngine(t, nil)
			m1 := add(t, e, spec("m1", c.a, nil))
			m2 := add(t, e, spec("m2", c.a, nil))
			add(t, e, spec("plain", nil, nil))
			s1, s2 := notifySlot(t, e, m1), notifySlot(t, e, m2)
			if s1 != s2 || e.notifiers.Len() != 1 || e.notifiers.Holders(s1) != 1 {
				t.Errorf("slots %d and %d, %d values, %d holders; want one slot of 1 holder", s1, s2, e.notifiers.Len(), e.notifiers.Holders(s1))
			}
			if t1, t2 := e.store.Metas.Get(m1).Set, e.store.Metas.Get(m2).Set; t1 != t2 || e.ties.Holders(t1) != 2 {
				t.Errorf("entries %d and %d, %d holders; want one of 2 holders", t1, t2, e.ties.Holders(t1))
			}
			if e.store.Metas.Has(add(t, e, spec("m0", nil, nil))) {
				t.Errorf("a monitor without a notifier or labels of its own has a Meta")
			}
			if c.b != nil {
				m3 := add(t, e, spec("m3", c.b, nil))
				if got := notifySlot(t, e, m3) == s1; got != c.same {
					t.Errorf("a second value shares: %v, want %v", got, c.same)
				}
				if n, own := e.notifierOf(m3); !own || shared.KeyOf(n) != shared.KeyOf(c.b) {
					t.Errorf("notifierOf the second: %T own %v, want the one given", n, own)
				}
				e.Remove(m3)
			}
			if n, own := e.notifierOf(m2); !own || shared.KeyOf(n) != shared.KeyOf(c.a) {
				t.Errorf("notifierOf m2: %T own %v, want the one given", n, own)
			}
			if err := e.Remove(m1); err != nil {
				t.Fatal(err)
			}
			if e.notifiers.Len() != 1 || e.notifiers.Holders(s1) != 1 {
				t.Errorf("one removed: %d values, %d holders; want 1, 1", e.notifiers.Len(), e.notifiers.Holders(s1))
			}
			e.Remove(m2)
			if e.notifiers.Len() != 0 {
				t.Errorf("both removed: %d values, want 0", e.notifiers.Len())
			}
		})
	}
}

// Monitors given the same label map share one slot; equal maps that are
// two maps do not; the slots are freed with their last monitor, and
// selectors, listings and statuses read the labels through them.
func TestLabelsShared(t *testing.T) {
	e := newEngine(t, nil)
	zoneA, zoneA2 := map[string]string{"zone": "a"}, map[string]string{"zone": "a"}
	a1 := add(t, e, spec("a1", nil, zoneA))
	a2 := add(t, e, spec("a2", nil, zoneA))
	a3 := add(t, e, spec("a3", nil, zoneA2))
	own := spec("own", nil, nil)
	own.Maintenance = []maint.Window{{Start: time.Now().Add(time.Hour), Duration: time.Minute}}
	mo := add(t, e, own) // a Meta for its own window, no labels
	if e.store.Metas.Get(a1).Set != e.store.Metas.Get(a2).Set || e.store.Metas.Get(a1).Set == e.store.Metas.Get(a3).Set {
		t.Errorf("label sets %d %d %d: want the first two shared, the third apart",
			e.store.Metas.Get(a1).Set, e.store.Metas.Get(a2).Set, e.store.Metas.Get(a3).Set)
	}
	if got := e.ties.Len(); got != 3 {
		t.Errorf("%d label sets, want 3 (two maps and none)", got)
	}
	if got := e.labels(mo); got != nil {
		t.Errorf("labels of a monitor with none: %v, want nil", got)
	}
	sel := e.store.Select(func(m ecs.Meta) bool { return e.ties.Get(m.Set).labels["zone"] == "a" }, nil)
	if len(sel) != 3 {
		t.Errorf("selected %d monitors of zone a, want 3", len(sel))
	}
	st, _ := e.Status(a2)
	if st.Labels["zone"] != "a" {
		t.Errorf("status labels %v, want zone a", st.Labels)
	}
	// An update to other labels lets go of the old map.
	zoneB := map[string]string{"zone": "b"}
	a3, err := e.Update(a3, spec("a3", nil, zoneB))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.labels(a3)["zone"]; got != "b" || e.ties.Len() != 3 {
		t.Errorf("after an update: zone %q, %d label sets; want b, 3", got, e.ties.Len())
	}
	for _, en := range []ecs.Entity{a1, a2, a3, mo} {
		e.Remove(en)
	}
	if got := e.ties.Len(); got != 0 {
		t.Errorf("all removed: %d label sets, want 0", got)
	}
}

// An update that changes a monitor's notifier moves it to the new one's
// slot and frees the old one's; a refused add holds nothing.
func TestUpdateChangesNotifier(t *testing.T) {
	e := newEngine(t, nil)
	old, nw := alert.Log(io.Discard), alert.Route{}
	en := add(t, e, spec("db", old, nil))
	en, err := e.Update(en, spec("db", nw, nil))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := e.notifierOf(en); shared.KeyOf(n) != shared.KeyOf(nw) || e.notifiers.Len() != 1 {
		t.Errorf("after the update: notifier %T, %d in the table; want the route alone", n, e.notifiers.Len())
	}
	if _, err := e.Add(spec("db", old, map[string]string{"a": "b"})); err == nil {
		t.Fatalf("a second monitor of one name was added")
	}
	if e.notifiers.Len() != 1 || e.notifiers.Holders(0) != 1 || e.ties.Len() != 1 {
		t.Errorf("after a refused add: %d notifiers (%d holders), %d ties; want 1 (1), 1", e.notifiers.Len(), e.notifiers.Holders(0), e.ties.Len())
	}
	en, _ = e.Update(en, spec("db", nil, nil))
	if n, own := e.notifierOf(en); own || n != nil || e.notifiers.Len() != 0 {
		t.Errorf("updated to no notifier: %T own %v, %d in the table; want the default (none), 0", n, own, e.notifiers.Len())
	}
}

// A monitor's notifier of its own and its labels are one shared entry
// (one Meta of 4 bytes): monitors with both the same share it, and the
// entry holds its notifier once, however many monitors hold the entry. A
// monitor with only a notifier of its own carries no Maint and no
// selector selects it; with the same labels and another notifier, it
// has an entry of its own. The last monitor of an entry lets go of it and
// of its notifier.
func TestNotifierAndLabelsShareAnEntry(t *testing.T) {
	e := newEngine(t, nil)
	route, other := alert.Log(io.Discard), alert.Log(io.Discard)
	zone := map[string]string{"zone": "a"}
	var both []ecs.Entity
	for i := range 3 {
		both = append(both, add(t, e, spec(fmt.Sprint("both", i), route, zone)))
	}
	only := add(t, e, spec("notifier only", route, nil))
	apart := add(t, e, spec("other notifier", other, zone))
	s := e.store
	set := s.Metas.Get(both[0]).Set
	for _, en := range both[1:] {
		if s.Metas.Get(en).Set != set {
			t.Fatalf("monitors with the same notifier and labels have entries %d and %d", set, s.Metas.Get(en).Set)
		}
	}
	if e.ties.Len() != 3 || e.notifiers.Len() != 2 {
		t.Fatalf("%d entries and %d notifiers, want 3 and 2", e.ties.Len(), e.notifiers.Len())
	}
	if h := e.notifiers.Holders(notifySlot(t, e, both[0])); h != 2 {
		t.Errorf("the shared notifier has %d holders, want 2 (the two entries naming it)", h)
	}
	if !s.Maints.Has(both[0]) || s.Maints.Has(only) || !s.Maints.Has(apart) {
		t.Errorf("Maint on the labelled, the notifier-only and the other: %v %v %v, want true false true",
			s.Maints.Has(both[0]), s.Maints.Has(only), s.Maints.Has(apart))
	}
	for _, en := range []ecs.Entity{both[0], only, apart} {
		n, own := e.notifierOf(en)
		want := alert.Notifier(route)
		if en == apart {
			want = other
		}
		if !own || n != want {
			t.Errorf("%s: notifier %p own %v, want %p", s.Name(en), n, own, want)
		}
	}
	if e.labels(only) != nil || e.labels(apart)["zone"] != "a" {
		t.Errorf("labels %v and %v, want none and zone a", e.labels(only), e.labels(apart))
	}
	sel := s.Select(func(ecs.Meta) bool { return true }, nil)
	if len(sel) != 4 || slices.Contains(sel, only) {
		t.Errorf("a selector that takes any labels selects %d monitors (the notifier-only one: %v), want the 4 labelled",
			len(sel), slices.Contains(sel, only))
	}
	for _, en := range append(both, only, apart) {
		if err := e.Remove(en); err != nil {
			t.Fatal(err)
		}
	}
	if e.ties.Len() != 0 || e.notifiers.Len() != 0 {
		t.Errorf("all removed: %d entries and %d notifiers, want none", e.ties.Len(), e.notifiers.Len())
	}
}
