package ecs

import (
	"fmt"
	"testing"
)

// tableRows returns, over ark's tables that hold monitors, the most rows
// of capacity any has, the capacity in all and the monitors in all.
func tableRows(s *Store) (most, capacity, size int) {
	for _, a := range s.World.Stats().Archetypes {
		for _, t := range a.Tables {
			if t.Size == 0 && t.Capacity <= 1024 && len(a.ComponentIDs) == 0 {
				continue // ark's root table
			}
			most = max(most, t.Capacity)
			capacity += t.Capacity
			size += t.Size
		}
	}
	return most, capacity, size
}

// A store files monitors in tables of at most ShardRows each, whatever
// their mix of components; they keep their names, checks and schedules,
// lookups and scans find them all, and the rows removed monitors leave are
// filled again before a new table is started.
func TestStoreShardsTables(t *testing.T) {
	s := NewStore(0, 0)
	const rows = 2048 // above ark's first capacity, 1024, so that tables grow
	s.shards.rows = rows
	type mon struct {
		name string
		due  int64
		e    Entity
	}
	var mons []*mon
	add := func(i int) {
		var opt Optional
		switch i % 3 {
		case 1:
			opt.Meta, opt.Labelled = &Meta{Set: uint32(i)}, true
		case 2:
			opt.Plugins = &Plugins{Limit: uint32(i)}
		}
		m := &mon{name: fmt.Sprint("m", i), due: int64(1000 + i)}
		e, ok := s.Create(m.name, nop, Schedule{Due: m.due}, Health{LastLatency: uint32(i)}, opt)
		if !ok {
			t.Fatalf("Create %s failed", m.name)
		}
		m.e = e
		mons = append(mons, m)
	}
	const n = 20_000
	for i := range n {
		add(i)
	}
	check := func(when string, full bool) {
		t.Helper()
		most, capacity, size := tableRows(s)
		if most > rows {
			t.Errorf("%s: a table has room for %d monitors, want at most %d", when, most, rows)
		}
		if size != len(mons) {
			t.Errorf("%s: ark's tables hold %d monitors, want %d", when, size, len(mons))
		}
		// Each of the three mixes has at most one table being filled,
		// with less than rows unused.
		if unused := capacity - size; full && unused >= 3*rows {
			t.Errorf("%s: %d rows unused in tables of %d, want fewer than %d", when, unused, rows, 3*rows)
		}
		seen := 0
		s.Named(func(string) bool { seen++; return false }, nil)
		if seen != len(mons) {
			t.Errorf("%s: a scan saw %d monitors, want %d", when, seen, len(mons))
		}
		for _, m := range mons {
			e, ok := s.Lookup(m.name)
			if !ok || e != m.e || s.Name(e) != m.name || s.Scheds.Get(e).Due != m.due {
				t.Fatalf("%s: %s came back as %v, %v", when, m.name, e, ok)
			}
			i := int(m.due - 1000)
			if got := s.Healths.Get(e).LastLatency; got != uint32(i) {
				t.Fatalf("%s: %s has latency %d, want %d", when, m.name, got, i)
			}
			switch i % 3 {
			case 1:
				if !s.Metas.HasUnchecked(e) || s.Metas.Get(e).Set != uint32(i) || !s.Maints.HasUnchecked(e) {
					t.Fatalf("%s: %s lost its Meta or Maint", when, m.name)
				}
			case 2:
				if !s.Plugins.HasUnchecked(e) || s.Plugins.Get(e).Limit != uint32(i) {
					t.Fatalf("%s: %s lost its Plugins", when, m.name)
				}
			}
		}
	}
	check("after the adds", true)
	_, capBefore, _ := tableRows(s)
	// Remove every other monitor of the first half: the rows they leave
	// take the next adds, and no table is added.
	var kept []*mon
	removed := 0
	for i, m := range mons {
		if i < n/2 && i%2 == 0 {
			s.Delete(m.e)
			removed++
			continue
		}
		kept = append(kept, m)
	}
	mons = kept
	check("after the removals", false)
	for i := range removed {
		add(n + i)
	}
	check("after the adds that took their place", true)
	if _, capAfter, _ := tableRows(s); capAfter > capBefore {
		t.Errorf("the tables' capacity grew from %d to %d rows when adds replaced as many removals", capBefore, capAfter)
	}
}
