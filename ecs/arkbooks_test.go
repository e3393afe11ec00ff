package ecs

import (
	"fmt"
	"testing"
	"unsafe"
)

// ark's record of entities (where each entity's row is, whether it is a
// relation's target, the pool of IDs) and its tables' columns of entities
// live in arrays outside the heap once large, with and without a capacity hint, through growth, removals
// and reuse of IDs; ark reads it correctly there: every live monitor is
// alive with its own components, every removed one is gone.
func TestArkBooksOutsideTheHeap(t *testing.T) {
	if !arkLayout.ok {
		t.Fatal("ark's world does not have the layout the store expects (ark v0.8.3's): its record of entities stays on the heap")
	}
	for _, hint := range []int{0, 20_000} {
		t.Run(fmt.Sprintf("hint=%d", hint), func(t *testing.T) {
			s := NewStore(0, hint)
			live := map[Entity]int{}
			create := func(i int) {
				var opt Optional
				switch i % 3 {
				case 1:
					opt.Meta = &Meta{Set: uint32(i)}
				case 2:
					opt.Meta, opt.Labelled = &Meta{Set: uint32(i)}, true
				}
				e, ok := s.Create(fmt.Sprintf("m%d", i), nop, Schedule{Due: int64(i)}, Health{}, opt)
				if !ok {
					t.Fatalf("Create m%d: refused", i)
				}
				live[e] = i
			}
			for i := range 50_000 {
				create(i)
			}
			var gone []Entity
			for e, i := range live {
				if i%2 == 0 {
					s.Delete(e)
					gone = append(gone, e)
					delete(live, e)
				}
			}
			for i := 50_000; i < 110_000; i++ { // reuses the freed IDs, then grows
				create(i)
			}

			b := &s.books
			for _, a := range []struct {
				what         string
				slice, array unsafe.Pointer
				mapped       bool
			}{
				{"index", unsafe.Pointer(unsafe.SliceData(*b.index)), unsafe.Pointer(unsafe.SliceData(b.mem.index.S)), b.mem.index.Mapped()},
				{"targets", unsafe.Pointer(unsafe.SliceData(*b.target)), unsafe.Pointer(unsafe.SliceData(b.mem.target.S)), b.mem.target.Mapped()},
				{"pool", unsafe.Pointer(unsafe.SliceData(*b.pool)), unsafe.Pointer(unsafe.SliceData(b.mem.pool.S)), b.mem.pool.Mapped()},
			} {
				if a.slice != a.array {
					t.Errorf("ark's %s is at %p, not in the store's array at %p", a.what, a.slice, a.array)
				}
				if a.mapped == raceEnabled {
					t.Errorf("ark's %s: mapped %v in a build with the race detector %v", a.what, a.mapped, raceEnabled)
				}
			}
			if *b.first != unsafe.Pointer(unsafe.SliceData(*b.pool)) {
				t.Error("ark's pool pointer does not point at its pool's first element")
			}
			if n := len(*b.pool); n < 110_000-25_000 {
				t.Errorf("ark's pool holds %d IDs for %d live monitors", n, len(live))
			}

			if !arkLayout.rowsOK {
				t.Fatal("ark's tables do not have the layout the store expects (ark v0.8.3's): their columns of entities stay on the heap")
			}
			moved := 0
			for tid := range b.tables.len {
				tb := unsafe.Add(b.tables.data, uintptr(tid)*arkLayout.table)
				c := int(*(*uint32)(unsafe.Add(tb, arkLayout.rowsCap)))
				if c < arkRowsMin {
					continue
				}
				first := *(*unsafe.Pointer)(unsafe.Add(tb, arkLayout.rowsFirst))
				if tid >= len(b.mem.rows) || first != unsafe.Pointer(unsafe.SliceData(b.mem.rows[tid].S)) {
					t.Errorf("table %d of %d rows: its entities are not in the store's array", tid, c)
					continue
				}
				if b.mem.rows[tid].Mapped() == raceEnabled {
					t.Errorf("table %d: entities mapped %v in a build with the race detector %v", tid, b.mem.rows[tid].Mapped(), raceEnabled)
				}
				moved++
			}
			if moved < 3 {
				t.Errorf("%d tables' entities moved, want one for each of the 3 mixes at least", moved)
			}
			seen := 0
			for q := s.probeFilter.Query(); q.Next(); seen++ {
				if _, ok := live[q.Entity()]; !ok {
					t.Fatalf("a query of the monitors gave %v, not a live monitor", q.Entity())
				}
			}
			if seen != len(live) {
				t.Errorf("a query of the monitors gave %d, want %d", seen, len(live))
			}

			for e, i := range live {
				if !s.World.Alive(e) || !s.Alive(e) {
					t.Fatalf("m%d (%v): not alive", i, e)
				}
				if got, want := s.Name(e), fmt.Sprintf("m%d", i); got != want {
					t.Fatalf("%v: name %q, want %q", e, got, want)
				}
				if got := s.Scheds.Get(e).Due; got != int64(i) {
					t.Fatalf("m%d: due %d, want %d", i, got, i)
				}
				if has := s.Metas.Has(e); has != (i%3 != 0) {
					t.Fatalf("m%d: has a Meta %v, want %v", i, has, i%3 != 0)
				}
				if i%3 != 0 && s.Metas.Get(e).Set != uint32(i) {
					t.Fatalf("m%d: Meta %d", i, s.Metas.Get(e).Set)
				}
				if has := s.Maints.Has(e); has != (i%3 == 2) {
					t.Fatalf("m%d: has a Maint %v, want %v", i, has, i%3 == 2)
				}
			}
			for _, e := range gone {
				if s.World.Alive(e) || s.Alive(e) {
					t.Fatalf("%v: alive after Delete", e)
				}
			}
			if got := s.World.Stats().Entities.Used; got != len(live) {
				t.Errorf("ark counts %d entities, want %d", got, len(live))
			}
		})
	}
}
