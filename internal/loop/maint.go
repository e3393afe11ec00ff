package loop

import (
	"slices"
	"time"

	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/internal/maint"

	"github.com/ziad/cpra/ecs"
)

// maint is one set of windows: a monitor's own, or a selector's.
type maintSet struct {
	id     uint64
	sel    map[string]string // nil for a monitor's own windows
	en     ecs.Entity        // the monitor, for its own windows
	wins   []maint.Window
	active bool
	at     time.Time // the next instant the windows may open or close
	idx    int       // position in the heap; -1 when not in it
}

func (m *maintSet) activeAt(t time.Time) bool {
	for i := range m.wins {
		if m.wins[i].ActiveAt(t) {
			return true
		}
	}
	return false
}

// nextChange is the first instant after t when any window may open or
// close; false when none ever will.
func (m *maintSet) nextChange(t time.Time) (time.Time, bool) {
	var next time.Time
	for i := range m.wins {
		if n, ok := m.wins[i].NextChange(t); ok && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next, !next.IsZero()
}

func (m *maintSet) selects(labels map[string]string) bool {
	for k, v := range m.sel {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// maints holds every maintenance, with a heap of their next changes. Like
// the store, it belongs to the loop once the engine runs.
type maints struct {
	last uint64
	byID map[uint64]*maintSet
	sels []*maintSet // the selector maintenances
	heap []*maintSet // ordered by at
	ents []ecs.Entity
}

func (ms *maints) less(i, j int) bool { return ms.heap[i].at.Before(ms.heap[j].at) }

func (ms *maints) swap(i, j int) {
	h := ms.heap
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (ms *maints) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !ms.less(i, p) {
			return
		}
		ms.swap(i, p)
		i = p
	}
}

func (ms *maints) down(i int) {
	for n := len(ms.heap); ; {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && ms.less(c+1, c) {
			c++
		}
		if !ms.less(c, i) {
			return
		}
		ms.swap(i, c)
		i = c
	}
}

func (ms *maints) push(m *maintSet) {
	m.idx = len(ms.heap)
	ms.heap = append(ms.heap, m)
	ms.up(m.idx)
}

func (ms *maints) remove(m *maintSet) {
	i := m.idx
	if i < 0 {
		return
	}
	last := len(ms.heap) - 1
	if i != last {
		ms.swap(i, last)
	}
	ms.heap[last] = nil
	ms.heap = ms.heap[:last]
	if i != last {
		ms.down(i)
		ms.up(i)
	}
	m.idx = -1
}

// next is when the earliest maintenance may change; zero for never.
func (ms *maints) next() time.Time {
	if len(ms.heap) == 0 {
		return time.Time{}
	}
	return ms.heap[0].at
}

// register files m, opening it at once if a window is open now.
func (e *Engine) register(m *maintSet, now time.Time) {
	ms := &e.maints
	if ms.byID == nil {
		ms.byID = make(map[uint64]*maintSet)
	}
	ms.last++
	m.id = ms.last
	m.idx = -1
	ms.byID[m.id] = m
	if m.sel != nil {
		ms.sels = append(ms.sels, m)
	}
	if at, ok := m.nextChange(now); ok {
		m.at = at
		ms.push(m)
	}
	if m.activeAt(now) {
		m.active = true
		e.applyMaint(m, true)
	}
}

// maintDue opens and closes the windows whose time has come.
func (e *Engine) maintDue(now time.Time) {
	ms := &e.maints
	for len(ms.heap) > 0 && !ms.heap[0].at.After(now) {
		m := ms.heap[0]
		active := m.activeAt(now)
		if at, ok := m.nextChange(now); ok {
			m.at = at
			ms.down(0)
		} else {
			ms.remove(m)
		}
		if active != m.active {
			m.active = active
			e.applyMaint(m, active)
		}
	}
}

// applyMaint moves the monitors of m into or out of maintenance.
func (e *Engine) applyMaint(m *maintSet, on bool) {
	s := e.store
	if m.sel == nil {
		if s.Alive(m.en) {
			e.maintenance(m.en, on)
		}
		return
	}
	ms := &e.maints
	ms.ents = s.Select(m.selects, ms.ents[:0])
	for _, en := range ms.ents {
		e.maintenance(en, on)
	}
	clear(ms.ents)
	ms.ents = ms.ents[:0]
}

// maintenance counts a window opening or closing over a monitor; the
// first to open silences it, the last to close lets it start afresh.
func (e *Engine) maintenance(en ecs.Entity, on bool) {
	mt := e.store.Metas.Get(en)
	switch {
	case on:
		mt.Maint++
		if mt.Maint == 1 {
			e.step(en, episode.Event{Kind: episode.MaintIn, At: e.unix(e.tickNow())}, nil)
		}
	case mt.Maint > 0:
		mt.Maint--
		if mt.Maint == 0 {
			e.step(en, episode.Event{Kind: episode.MaintOut, At: e.unix(e.tickNow())}, nil)
		}
	}
}

// maintAdded files a new monitor's own windows and enters the open
// selector windows that select it.
func (e *Engine) maintAdded(en ecs.Entity, wins []maint.Window) {
	open := false
	for _, m := range e.maints.sels {
		open = open || m.active
	}
	s := e.store
	if len(wins) == 0 && !open || !s.Metas.Has(en) {
		return // the usual case, decided without touching the monitor
	}
	now := time.Now()
	if len(wins) > 0 {
		m := &maintSet{en: en, wins: wins}
		e.register(m, now)
		s.Metas.Get(en).MaintID = uint32(m.id)
	}
	labels := s.Metas.Get(en).Labels
	for _, m := range e.maints.sels {
		if m.active && m.selects(labels) {
			e.maintenance(en, true)
		}
	}
}

// maintRemoved forgets a removed monitor's own windows.
func (e *Engine) maintRemoved(en ecs.Entity) {
	s := e.store
	if !s.Metas.Has(en) {
		return
	}
	if id := uint64(s.Metas.Get(en).MaintID); id != 0 {
		m := e.maints.byID[id]
		e.maints.remove(m)
		delete(e.maints.byID, id)
	}
}

func (e *Engine) addMaint(sel map[string]string, wins []maint.Window) uint64 {
	m := &maintSet{sel: sel, wins: wins}
	e.register(m, time.Now())
	return m.id
}

func (e *Engine) removeMaint(id uint64) error {
	ms := &e.maints
	m := ms.byID[id]
	if m == nil || m.sel == nil {
		return e.errs.NotFound
	}
	if m.active {
		m.active = false
		e.applyMaint(m, false)
	}
	ms.remove(m)
	delete(ms.byID, id)
	if i := slices.Index(ms.sels, m); i >= 0 {
		ms.sels = slices.Delete(ms.sels, i, i+1)
	}
	return nil
}
