package loop

import (
	"slices"
	"time"

	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/internal/maint"

	"github.com/ziad/cpra/ecs"
)

// maints holds every maintenance, with a heap of their next changes. Like
// the store, it belongs to the loop once the engine runs.
type maints struct {
	last uint64
	byID map[uint64]*maint.Set
	sels []*maint.Set // the selector maintenances
	heap maint.Heap
	ents []ecs.Entity
	own  map[ecs.Entity]uint64 // the maintenance of each monitor with windows of its own
}

// register files m, opening it at once if a window is open now.
func (e *Engine) register(m *maint.Set, now time.Time) {
	ms := &e.maints
	if ms.byID == nil {
		ms.byID = make(map[uint64]*maint.Set)
	}
	ms.last++
	m.ID = ms.last
	ms.byID[m.ID] = m
	if m.Sel != nil {
		ms.sels = append(ms.sels, m)
	}
	if at, ok := m.NextChange(now); ok {
		m.At = at
		ms.heap.Push(m)
	}
	if m.ActiveAt(now) {
		m.Active = true
		e.applyMaint(m, true)
	}
}

// maintDue opens and closes the windows whose time has come.
func (e *Engine) maintDue(now time.Time) {
	ms := &e.maints
	for ms.heap.Len() > 0 && !ms.heap.Top().At.After(now) {
		m := ms.heap.Top()
		active := m.ActiveAt(now)
		if at, ok := m.NextChange(now); ok {
			m.At = at
			ms.heap.Fix()
		} else {
			ms.heap.Remove(m)
		}
		if active != m.Active {
			m.Active = active
			e.applyMaint(m, active)
		}
	}
}

// applyMaint moves the monitors of m into or out of maintenance.
func (e *Engine) applyMaint(m *maint.Set, on bool) {
	s := e.store
	if m.Sel == nil {
		if s.Alive(m.Owner.(ecs.Entity)) {
			e.maintenance(m.Owner.(ecs.Entity), on)
		}
		return
	}
	ms := &e.maints
	ms.ents = s.Select(func(mt ecs.Meta) bool { return m.Selects(e.ties.Get(mt.Set).labels) }, ms.ents[:0])
	for _, en := range ms.ents {
		e.maintenance(en, on)
	}
	clear(ms.ents)
	ms.ents = ms.ents[:0]
}

// maintenance counts a window opening or closing over a monitor; the
// first to open silences it, the last to close lets it start afresh.
func (e *Engine) maintenance(en ecs.Entity, on bool) {
	mt := e.store.Maints.Get(en)
	switch {
	case on:
		mt.Open++
		if mt.Open == 1 {
			e.step(en, episode.Event{Kind: episode.MaintIn, At: e.unix(e.tickNow())}, nil)
		}
	case mt.Open > 0:
		mt.Open--
		if mt.Open == 0 {
			e.step(en, episode.Event{Kind: episode.MaintOut, At: e.unix(e.tickNow())}, nil)
		}
	}
}

// maintAdded files a new monitor's own windows and enters the open
// selector windows that select it.
func (e *Engine) maintAdded(en ecs.Entity, wins []maint.Window) {
	open := false
	for _, m := range e.maints.sels {
		open = open || m.Active
	}
	s := e.store
	if len(wins) == 0 && !open || !s.Maints.Has(en) {
		return // the usual case, decided without touching the monitor
	}
	now := time.Now()
	if len(wins) > 0 {
		m := &maint.Set{Owner: en, Wins: wins}
		e.register(m, now)
		if e.maints.own == nil {
			e.maints.own = make(map[ecs.Entity]uint64)
		}
		e.maints.own[en] = m.ID
	}
	labels := e.labels(en)
	for _, m := range e.maints.sels {
		if m.Active && m.Selects(labels) {
			e.maintenance(en, true)
		}
	}
}

// maintRemoved forgets a removed monitor's own windows.
func (e *Engine) maintRemoved(en ecs.Entity) {
	if !e.store.Maints.Has(en) {
		return
	}
	if id, ok := e.maints.own[en]; ok {
		delete(e.maints.own, en)
		m := e.maints.byID[id]
		e.maints.heap.Remove(m)
		delete(e.maints.byID, id)
	}
}

func (e *Engine) addMaint(sel map[string]string, wins []maint.Window) uint64 {
	m := &maint.Set{Sel: sel, Wins: wins}
	e.register(m, time.Now())
	return m.ID
}

func (e *Engine) removeMaint(id uint64) error {
	ms := &e.maints
	m := ms.byID[id]
	if m == nil || m.Sel == nil {
		return e.errs.NotFound
	}
	if m.Active {
		m.Active = false
		e.applyMaint(m, false)
	}
	ms.heap.Remove(m)
	delete(ms.byID, id)
	if i := slices.Index(ms.sels, m); i >= 0 {
		ms.sels = slices.Delete(ms.sels, i, i+1)
	}
	return nil
}
