package loop

import (
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/episode"
)

// Conditions a listing filters by, as bits; package cpra documents them.
const (
	CondUnknown uint8 = 1 << iota
	CondUp
	CondFailing
	CondDown
	CondPaused
	CondMaint
	CondAway
)

// condition is the one condition a monitor is in: paused and maintenance
// first, then its phase.
func condition(h *ecs.Health) uint8 {
	switch {
	case h.Rules&ecs.Away != 0:
		return CondAway
	case h.Flags&episode.Paused != 0:
		return CondPaused
	case h.Flags&episode.Maint != 0:
		return CondMaint
	case h.Phase.Down():
		return CondDown
	case h.Phase.Open():
		return CondFailing
	case h.Phase == episode.Up:
		return CondUp
	}
	return CondUnknown
}

// Filter picks the monitors a listing reports.
type Filter struct {
	Conds  uint8             // conditions to report; 0: all
	Labels map[string]string // labels a monitor must have, every pair; nil: any
	Name   string            // a part of the name, ASCII letters in any case; "": any
}

// Item is a monitor in a listing, with the key that orders it.
type Item struct {
	Key    uint64
	E      ecs.Entity
	Status Status
}

// MaxSpan bounds the slots of the name index one listing step looks at,
// and a quarter of it the failing monitors it reports: small enough that
// the loop is held for a millisecond or so, large enough that a listing of
// a million monitors takes a few hundred steps.
const MaxSpan = 2048

// Lookup returns the monitor with the given name.
func (e *Engine) Lookup(name string) (ecs.Entity, bool) {
	var en ecs.Entity
	var ok bool
	e.do(command{kind: cmdRead, read: func() { en, ok = e.store.Lookup(name) }})
	return en, ok
}

// LookupAll calls found with the monitor with each of the given names, in
// order (the zero entity for a name no monitor has), looking up at most
// MaxSpan names in one step of the loop.
func (e *Engine) LookupAll(names []string, found func(ecs.Entity)) {
	for len(names) > 0 {
		step := names[:min(len(names), MaxSpan)]
		names = names[len(step):]
		e.do(command{kind: cmdRead, read: func() {
			for _, name := range step {
				en, _ := e.store.Lookup(name)
				found(en)
			}
		}})
	}
}

// Orders of a listing.
const (
	ByName    uint8 = iota // by the key of the name: every monitor, stable across steps
	ByFailing              // by entity index, failing monitors only
)

// List appends to out the next matching monitors after the key after
// (from the first when first is true), in the listing's order, looking in
// the loop at about span slots of the name index (at most MaxSpan), or
// span/4 failing monitors. The first step of a listing (first, with no
// order given) picks the order: ByFailing for a filter on failing and
// down monitors when few fail. It returns out, the key to go on from, the
// order, and whether the listing is done.
func (e *Engine) List(f *Filter, after uint64, first bool, order uint8, span int, out []Item) ([]Item, uint64, uint8, bool) {
	var next uint64
	var done bool
	span = min(max(span, 4), MaxSpan)
	e.do(command{kind: cmdRead, read: func() {
		if first && order == ByName && f.Conds != 0 && f.Conds&^(CondFailing|CondDown) == 0 &&
			e.store.Failing()*8 < int(e.monitors.Load()) {
			order = ByFailing
		}
		out, next, done = e.list(f, after, first, order, span, out)
	}})
	return out, next, order, done
}

func (e *Engine) list(f *Filter, after uint64, first bool, order uint8, span int, out []Item) ([]Item, uint64, bool) {
	s := e.store
	keys := e.listKeys[:0]
	var next uint64
	var done bool
	if order == ByFailing {
		keys, done = s.ScanFailing(uint32(after), first, span/4, func(en ecs.Entity) bool { return e.matches(f, en) }, keys)
		if len(keys) > 0 {
			next = keys[len(keys)-1].Key
		}
	} else {
		keys, next, done = s.ScanNames(after, first, span, keys)
	}
	for _, k := range keys {
		if !e.matches(f, k.E) {
			continue
		}
		st, err := e.statusOf(k.E)
		if err == nil {
			out = append(out, Item{Key: k.Key, E: k.E, Status: st})
		}
	}
	clear(keys)
	e.listKeys = keys[:0]
	return out, next, done
}

func (e *Engine) matches(f *Filter, en ecs.Entity) bool {
	s := e.store
	if f.Conds != 0 && f.Conds&condition(s.Healths.Get(en)) == 0 {
		return false
	}
	if len(f.Labels) > 0 {
		labels := e.labels(en)
		if labels == nil {
			return false
		}
		for k, v := range f.Labels {
			if w, ok := labels[k]; !ok || w != v {
				return false
			}
		}
	}
	return f.Name == "" || containsFold(s.Name(en), f.Name)
}

// containsFold reports whether sub is within s, ASCII letters compared
// without case. It allocates nothing.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for j < n && lower(s[i+j]) == lower(sub[j]) {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Counts returns the number of monitors in each condition, indexed by the
// bit number of the condition (CondUnknown is 0).
func (e *Engine) Counts() [7]int {
	var n [7]int
	e.do(command{kind: cmdRead, read: func() {
		e.store.EachHealth(func(h *ecs.Health, _ *ecs.Meta) {
			switch condition(h) {
			case CondUnknown:
				n[0]++
			case CondUp:
				n[1]++
			case CondFailing:
				n[2]++
			case CondDown:
				n[3]++
			case CondPaused:
				n[4]++
			case CondMaint:
				n[5]++
			case CondAway:
				n[6]++
			}
		})
	}})
	return n
}

// statusExtra fills in the parts of a status a page needs beyond the
// monitor's own components: when it is checked next and which parent
// holds it.
func (e *Engine) statusExtra(en ecs.Entity, h *ecs.Health, sc *ecs.Schedule, st *Status) {
	if h.Flags&episode.Quiet == 0 {
		st.NextCheck = e.tickTime(sc.Due)
	}
	s := e.store
	if h.Hold != episode.HoldParent || !s.Deps.Has(en) {
		return
	}
	for _, name := range e.parentsOf(en).Names {
		pe, ok := s.Lookup(name)
		if !ok {
			continue
		}
		ph := s.Healths.Get(pe)
		if ph.Flags&episode.Maint != 0 || (ph.Flags&episode.Paused == 0 && ph.Phase.Open()) {
			st.SuppressedBy = name
			return
		}
	}
	// No parent fails now: the hold waits for a parent's verdict.
	st.SuppressedBy = e.parentsOf(en).Names[0]
}
