package ecs

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ziad/cpra/pulse"
)

var nop = pulse.CheckerFunc(nil)

// A monitor removed and replaced by one that gets its ID is a different
// entity: the old one is not alive, lookups find the new one, and the
// wheel never hands out the old one.
func TestStoreReusedID(t *testing.T) {
	s := NewStore(0, 4)
	a, ok := s.Create("a", nop, Schedule{Due: 100}, Health{}, Optional{})
	if !ok {
		t.Fatal("Create a: name taken in an empty store")
	}
	s.Delete(a)
	b, ok := s.Create("b", nop, Schedule{Due: 5000}, Health{}, Optional{})
	if !ok {
		t.Fatal("Create b: name taken")
	}
	if b.ID() != a.ID() {
		t.Skipf("ark gave b ID %d, not a's %d: nothing to test", b.ID(), a.ID())
	}
	if s.Alive(a) {
		t.Error("got Alive(a) true after Delete(a), want false")
	}
	if !s.Alive(b) {
		t.Error("got Alive(b) false, want true")
	}
	if e, ok := s.Lookup("a"); ok {
		t.Errorf("got Lookup(a) = %v, true after Delete, want false", e)
	}
	if e, ok := s.Lookup("b"); !ok || e != b {
		t.Errorf("got Lookup(b) = %v, %v; want %v, true", e, ok, b)
	}
	if e, ok := s.Create("b", nop, Schedule{Due: 1}, Health{}, Optional{}); ok || e != b {
		t.Errorf("got Create(b) again = %v, %v; want %v, false", e, ok, b)
	}
	var popped []int64
	s.Wheel.Advance(6000, 0, func(e Entity, tick int64) {
		if e != b {
			t.Fatalf("popped %v at %d, want only %v", e, tick, b)
		}
		popped = append(popped, tick)
	})
	// a's entry stands for b now: one stale pop at 100 (b is not due
	// then, so the caller drops it), and b's own at 5000.
	if len(popped) != 2 || popped[0] != 100 || popped[1] != 5000 {
		t.Errorf("got b popped at %v, want [100 5000]", popped)
	}
}

// A removed monitor's wheel entry is dropped, not handed out.
func TestStoreDropsRemoved(t *testing.T) {
	s := NewStore(0, 0)
	var es []Entity
	for i := range 100 {
		e, _ := s.Create(fmt.Sprint(i), nop, Schedule{Due: int64(10 + i)}, Health{}, Optional{})
		es = append(es, e)
	}
	for _, e := range es[:50] {
		s.Delete(e)
	}
	n := 0
	s.Wheel.Advance(1000, 0, func(e Entity, tick int64) {
		if !s.Alive(e) {
			t.Fatalf("popped %v, which was removed", e)
		}
		n++
	})
	if n != 50 {
		t.Errorf("got %d pops, want 50", n)
	}
}

// With a capacity hint, ark's entity bookkeeping is sized once: it holds
// exactly the hint and grows past it only when more monitors come.
func TestStoreReservesEntities(t *testing.T) {
	const n = 5000
	s := NewStore(0, n)
	for i := range n + 10 {
		if _, ok := s.Create(fmt.Sprint(i), nop, Schedule{Due: 1}, Health{}, Optional{}); !ok {
			t.Fatalf("Create %d: name taken", i)
		}
		if i == n-1 {
			if got := s.World.Stats().Entities.Capacity; got != n+2 {
				t.Errorf("got entity capacity %d at %d monitors, want %d (the hint and ark's two reserved)", got, n, n+2)
			}
		}
	}
	for i := range n + 10 {
		e, ok := s.Lookup(fmt.Sprint(i))
		if !ok || !s.Alive(e) || s.Name(e) != fmt.Sprint(i) {
			t.Fatalf("got Lookup(%d) = %v, %v", i, e, ok)
		}
	}
}

func TestEntityOf(t *testing.T) {
	for _, c := range [][2]uint32{{0, 0}, {2, 0}, {7, 1}, {1 << 20, 1<<31 - 1}, {^uint32(0), ^uint32(0)}} {
		if e := entityOf(c[0], c[1]); e.ID() != c[0] || e.Gen() != c[1] {
			t.Errorf("got entityOf(%d, %d) = ID %d, gen %d", c[0], c[1], e.ID(), e.Gen())
		}
	}
}

// A monitor's name comes back whole whatever its length, including names
// too long for the count Health keeps, and setting the last check's tick
// leaves it alone.
func TestStoreNames(t *testing.T) {
	s := NewStore(0, 0)
	long := strings.Repeat("x", 70000)
	names := []string{"a", strings.Repeat("é", 300), strings.Repeat("y", nameLong-1), strings.Repeat("z", nameLong), long, long + "!"}
	var es []Entity
	for _, n := range names {
		e, ok := s.Create(n, nop, Schedule{Due: 1}, Health{}, Optional{})
		if !ok {
			t.Fatalf("Create(%d bytes): name taken", len(n))
		}
		es = append(es, e)
	}
	for i, e := range es {
		h := s.Healths.Get(e)
		for _, tick := range []int64{0, -1, 1 << 40, -(1 << 40), 123456789} {
			h.SetLastCheck(tick)
			if got := h.LastCheck(); got != tick {
				t.Errorf("got LastCheck %d after SetLastCheck(%d)", got, tick)
			}
			if got := s.Name(e); got != names[i] {
				t.Fatalf("got a name of %d bytes after SetLastCheck(%d), want %d", len(got), tick, len(names[i]))
			}
		}
		if got, ok := s.Lookup(names[i]); !ok || got != e {
			t.Errorf("got Lookup(%d bytes) = %v, %v; want %v", len(names[i]), got, ok, e)
		}
	}
	s.Delete(es[4])
	if got := s.Name(es[5]); got != names[5] {
		t.Errorf("got a name of %d bytes after another long one went, want %d", len(got), len(names[5]))
	}
	if len(s.long) != 2 {
		t.Errorf("got %d long names kept apart, want 2", len(s.long))
	}
}

// Health answers for a live monitor and refuses a removed one, as ark's
// Get does, though it asks the store's own record.
func TestStoreHealth(t *testing.T) {
	s := NewStore(0, 0)
	a, _ := s.Create("a", nop, Schedule{Due: 1}, Health{Rules: 7}, Optional{})
	if got := s.Health(a).RulesIndex(); got != 7 {
		t.Errorf("got rules index %d, want 7", got)
	}
	s.Delete(a)
	s.Create("b", nop, Schedule{Due: 1}, Health{}, Optional{}) // takes a's ID
	defer func() {
		if recover() == nil {
			t.Error("got no panic for the health of a removed monitor")
		}
	}()
	s.Health(a)
}

// Every monitor's Schedule and Health are in columns by entity ID: each
// monitor reads back its own values whatever mix of components it has,
// a pointer taken early stays good as the columns grow, a monitor given
// a removed one's ID starts with its own values, and EachHealth sees
// every monitor's health once, with its Meta when it has one.
func TestStoreColumns(t *testing.T) {
	const n = 3<<columnBits + 5
	s := NewStore(0, 0)
	opts := []Optional{{}, {Meta: &Meta{Set: 3}}, {Plugins: &Plugins{Limit: 2}}, {Meta: &Meta{Set: 4}, Labelled: true, Ring: &Ring{}}}
	ens := make([]Entity, n)
	var sched0 *Schedule
	var health0 *Health
	for i := range ens {
		ens[i], _ = s.Create(fmt.Sprintf("m%d", i), nop, Schedule{Due: int64(i + 1)}, Health{Rules: uint32(i), LastLatency: uint32(2 * i)}, opts[i%len(opts)])
		if i == 0 {
			sched0, health0 = s.Scheds.Get(ens[0]), s.Healths.Get(ens[0])
		}
	}
	if len(s.Healths.blocks) < 4 {
		t.Fatalf("%d monitors in %d blocks of healths, want 4 or more", n, len(s.Healths.blocks))
	}
	if sched0 != s.Scheds.Get(ens[0]) || health0 != s.Health(ens[0]) || sched0.Due != 1 || health0.LastLatency != 0 {
		t.Fatal("the first monitor's schedule and health moved or changed as the columns grew")
	}
	check := func(i int) {
		t.Helper()
		p, sc, h := s.Row(ens[i])
		if sc.Due != int64(i+1) || h.RulesIndex() != uint32(i) || h.LastLatency != uint32(2*i) || s.Name(ens[i]) != fmt.Sprintf("m%d", i) || p != s.Probes.Get(ens[i]) {
			t.Fatalf("m%d reads due %d, rules %d, latency %d, name %q", i, sc.Due, h.RulesIndex(), h.LastLatency, s.Name(ens[i]))
		}
	}
	for i := range ens {
		check(i)
	}
	gone := ens[7]
	s.Delete(gone)
	again, _ := s.Create("again", nop, Schedule{Due: 99}, Health{Rules: 5}, Optional{})
	if again.ID() != gone.ID() {
		t.Fatalf("ark gave the new monitor ID %d, not the removed one's %d", again.ID(), gone.ID())
	}
	if sc, h := s.Scheds.Get(again), s.Health(again); sc.Due != 99 || h.RulesIndex() != 5 || h.LastLatency != 0 {
		t.Fatalf("a monitor given a removed one's ID reads due %d, rules %d, latency %d; want its own 99, 5, 0", sc.Due, h.RulesIndex(), h.LastLatency)
	}
	seen := map[uint32]int{}
	metas := 0
	s.EachHealth(func(h *Health, m *Meta) {
		seen[h.RulesIndex()]++
		if m != nil {
			metas++
			if i := int(h.RulesIndex()); i != 5 && m.Set != opts[i%len(opts)].Meta.Set {
				t.Fatalf("m%d's health comes with Meta %d", i, m.Set)
			}
		}
	})
	// m7, with a Meta, went; "again", with none and rules 5 like m5, came.
	if len(seen) != n-1 || seen[5] != 2 || seen[7] != 0 || metas != n/2-1 {
		t.Fatalf("EachHealth saw %d distinct healths (rules 5 %d times, 7 %d times), %d with a Meta; want %d (2, 0) and %d", len(seen), seen[5], seen[7], metas, n-1, n/2-1)
	}
	defer func() {
		if recover() == nil {
			t.Error("got no panic for the schedule of a removed monitor")
		}
	}()
	s.Scheds.Get(gone)
}

// A Meta and a Maint are kept by entity ID outside ark's tables: each
// monitor reads back its own, a monitor without one has none (nil), even
// on an ID whose last holder had one, and a new holder of an ID starts
// with no windows open. Select and EachHealth find them through ark's
// tags. Their blocks are outside the heap.
func TestStoreParts(t *testing.T) {
	const n = 40_000
	s := NewStore(0, 0)
	var es []Entity
	for i := range n {
		var opt Optional
		if i%2 == 0 {
			opt.Meta, opt.Labelled = &Meta{Set: uint32(i)}, i%4 == 0
		}
		e, _ := s.Create(fmt.Sprintf("m%d", i), nop, Schedule{}, Health{}, opt)
		if opt.Labelled {
			s.Maints.Get(e).Open = 3
		}
		es = append(es, e)
	}
	for i, e := range es {
		m, mt := s.Metas.Get(e), s.Maints.Get(e)
		switch {
		case i%2 == 1 && (m != nil || mt != nil || s.Metas.Has(e) || s.Maints.Has(e)):
			t.Fatalf("m%d has a Meta (%v) or a Maint (%v), want neither", i, m, mt)
		case i%2 == 0 && (m == nil || m.Set != uint32(i)):
			t.Fatalf("m%d: Meta %v, want Set %d", i, m, i)
		case i%4 == 0 && (mt == nil || mt.Open != 3):
			t.Fatalf("m%d: Maint %v, want Open 3", i, mt)
		case i%4 == 2 && mt != nil:
			t.Fatalf("m%d: Maint %v, want none", i, mt)
		}
	}
	got := s.Select(func(m Meta) bool { return m.Set%8 == 0 }, nil)
	if len(got) != n/8 {
		t.Errorf("Select(Set%%8 == 0) found %d monitors, want %d", len(got), n/8)
	}
	for _, e := range got {
		if i := int(s.Metas.Get(e).Set); es[i] != e {
			t.Fatalf("Select gave %v, holding m%d's Meta, not m%d", e, i, i)
		}
	}
	metas, all := 0, 0
	s.EachHealth(func(_ *Health, m *Meta) {
		all++
		if m != nil {
			metas++
		}
	})
	if all != n || metas != n/2 {
		t.Errorf("EachHealth saw %d monitors, %d with a Meta; want %d and %d", all, metas, n, n/2)
	}

	// New monitors on freed IDs: those of labelled monitors get none, then
	// a Maint of their own.
	for i := 0; i < n; i += 4 {
		s.Delete(es[i])
	}
	for i := 0; i < n; i += 4 {
		var opt Optional
		if i%8 == 4 {
			opt.Meta, opt.Labelled = &Meta{Set: 7}, true
		}
		e, _ := s.Create(fmt.Sprintf("new%d", i), nop, Schedule{}, Health{}, opt)
		if i%8 == 0 && (s.Metas.Get(e) != nil || s.Maints.Get(e) != nil) {
			t.Fatalf("new%d (ID %d) has a Meta or a Maint it was not given", i, e.ID())
		}
		if i%8 == 4 && (s.Metas.Get(e).Set != 7 || s.Maints.Get(e).Open != 0) {
			t.Fatalf("new%d (ID %d): Meta %v, Maint %v; want Set 7 and no window open", i, e.ID(), *s.Metas.Get(e), *s.Maints.Get(e))
		}
	}
	for _, b := range s.Metas.col.blocks {
		if b.Mapped() == raceEnabled {
			t.Fatalf("a block of Metas: mapped %v in a build with the race detector %v", b.Mapped(), raceEnabled)
		}
	}
	for _, b := range s.Maints.col.blocks {
		if b.Mapped() == raceEnabled {
			t.Fatalf("a block of Maints: mapped %v in a build with the race detector %v", b.Mapped(), raceEnabled)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Metas.Get of a removed monitor did not panic")
		}
	}()
	s.Metas.Get(es[0])
}
