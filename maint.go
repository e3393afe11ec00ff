package cpra

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ziad/cpra/ecs"
)

// MaintenanceID identifies a maintenance added with [Engine.AddMaintenance].
type MaintenanceID uint64

// Maintenance silences the monitors whose labels match Selector during its
// windows, as a monitor's own [Monitor.Maintenance] windows do: entering
// raises gray once, no checks run and nothing is sent inside, and leaving
// starts afresh. A monitor added while a window is open enters it at once.
type Maintenance struct {
	// Selector picks the monitors: those whose labels include every pair.
	// It must not be empty; the engine keeps the map.
	Selector map[string]string
	Windows  []MaintenanceWindow
}

// AddMaintenance adds a maintenance, before or while the engine runs. If a
// window is open now, the selected monitors enter it at once.
func (e *Engine) AddMaintenance(m Maintenance) (MaintenanceID, error) {
	r := e.do(command{kind: cmdAddMaint, maint: &m})
	return MaintenanceID(r.mid), r.err
}

// RemoveMaintenance removes a maintenance; monitors inside one of its open
// windows leave it now and start afresh.
func (e *Engine) RemoveMaintenance(id MaintenanceID) error {
	return e.do(command{kind: cmdRemoveMaint, mid: uint64(id)}).err
}

// maint is one set of windows: a monitor's own, or a selector's.
type maint struct {
	id     uint64
	sel    map[string]string // nil for a monitor's own windows
	en     ecs.Entity        // the monitor, for its own windows
	wins   []MaintenanceWindow
	active bool
	at     time.Time // the next instant the windows may open or close
	idx    int       // position in the heap; -1 when not in it
}

func (m *maint) activeAt(t time.Time) bool {
	for i := range m.wins {
		if m.wins[i].activeAt(t) {
			return true
		}
	}
	return false
}

// nextChange is the first instant after t when any window may open or
// close; false when none ever will.
func (m *maint) nextChange(t time.Time) (time.Time, bool) {
	var next time.Time
	for i := range m.wins {
		if n, ok := m.wins[i].nextChange(t); ok && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next, !next.IsZero()
}

func (m *maint) selects(labels map[string]string) bool {
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
	byID map[uint64]*maint
	sels []*maint // the selector maintenances
	heap []*maint // ordered by at
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

func (ms *maints) push(m *maint) {
	m.idx = len(ms.heap)
	ms.heap = append(ms.heap, m)
	ms.up(m.idx)
}

func (ms *maints) remove(m *maint) {
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
func (e *Engine) register(m *maint, now time.Time) {
	ms := &e.maints
	if ms.byID == nil {
		ms.byID = make(map[uint64]*maint)
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
func (e *Engine) applyMaint(m *maint, on bool) {
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
			e.silence(en, ecs.FlagMaint, true)
		}
	case mt.Maint > 0:
		mt.Maint--
		if mt.Maint == 0 {
			e.silence(en, ecs.FlagMaint, false)
		}
	}
}

// maintAdded files a new monitor's own windows and enters the open
// selector windows that select it.
func (e *Engine) maintAdded(en ecs.Entity, wins []MaintenanceWindow) {
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
		m := &maint{en: en, wins: wins}
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

func (e *Engine) addMaint(mt *Maintenance) (uint64, error) {
	bad := func(field string, err error) (uint64, error) {
		return 0, fmt.Errorf("maintenance: %s: %w", field, err)
	}
	if len(mt.Selector) == 0 {
		return bad("Selector", errors.New("empty: it would select every monitor with labels"))
	}
	if len(mt.Windows) == 0 {
		return bad("Windows", errors.New("none"))
	}
	for i := range mt.Windows {
		if field, err := mt.Windows[i].check(); err != nil {
			return bad(fmt.Sprintf("Windows[%d].%s", i, field), err)
		}
	}
	m := &maint{sel: mt.Selector, wins: mt.Windows}
	e.register(m, time.Now())
	return m.id, nil
}

func (e *Engine) removeMaint(id uint64) error {
	ms := &e.maints
	m := ms.byID[id]
	if m == nil || m.sel == nil {
		return ErrNotFound
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
