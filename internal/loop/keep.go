package loop

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/alerts"
	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/internal/fixpipe"
	"github.com/ziad/cpra/internal/persist"
)

// Store is where the engine keeps its state: package cpra's Store.
type Store interface {
	Load(fn func(key, value []byte) error) error
	Write(changes []Change) error
}

// Change is one change of a Store; a nil Value deletes. In a cluster it
// names its shard and the shard's token when it was made.
type Change struct {
	Key, Value []byte
	Shard      int
	Token      int64
}

// Coalescing of the store's writes: a batch goes at most every flushEvery,
// or at once when it holds flushMax changes.
const (
	flushEvery = 10 * time.Millisecond
	flushMax   = 1000
)

// keeper keeps the engine's state in its store: the monitors whose kept
// state changed are marked dirty and written in batches by a goroutine of
// its own; an alert is written to the outbox before it goes to the alert
// path, and deleted once it has its fate.
type keeper struct {
	st    Store
	grace time.Duration

	states  map[string][]byte          // kept states of monitors not added again yet
	filter  nameFilter                 // of the names in states
	scratch []byte                     // a record encoded to compare
	loading bool                       // the store is being read: the filter is made after
	hashes  []uint64                   // while loading: the filter's hashes of the states' names
	outbox  map[string][]persist.Alert // kept alerts of monitors not added again yet
	budget  persist.Budget             // as loaded
	dropAt  int64                      // ns: when unclaimed states are dropped; 0 before Start

	dirty     []ecs.Entity // monitors whose kept state changed; owned by the loop
	changes   []Change     // deletes and alerts waiting for the next batch
	budgetNew bool         // the budget's windows changed
	first     int64        // ns: when the oldest unwritten change was made
	held      []held       // alerts waiting for their batch to be written
	heldFixes []heldFix    // remediation attempts waiting for their batch
	sent      uint64       // batches handed to the writer
	acked     uint64       // batches the writer finished
	busy      bool         // a batch is with the writer

	waiters []waiter // Flush calls waiting for their batch

	writes chan keepBatch
	acks   chan uint64
	done   chan struct{}

	failures atomic.Uint64 // writes that failed (each retried)
	dropped  atomic.Uint64 // kept states dropped unclaimed
	kept     atomic.Uint64 // alerts kept in the outbox at shutdown, for the next start
}

type keepBatch struct {
	seq     uint64
	changes []Change
}

// heldFix is a remediation attempt waiting for the batch that records its
// number: a process killed once it has started finds the attempt counted
// when it restarts, and goes on counting from there.
type heldFix struct {
	batch uint64
	c     *fixpipe.Call
}

// held is an alert waiting for the batch that records it.
type held struct {
	batch  uint64
	en     ecs.Entity
	n      alert.Notifier
	own    bool
	p      alerts.Pending
	labels map[string]string
}

// ErrStoreCorrupt is wrapped by the error of a record the engine cannot
// read.
var errRecord = errors.New("cpra: bad record in the store")

// load reads the store: monitors' states and alerts wait for their
// monitors to be added, the budget's windows go to the budget.
func (e *Engine) load(st Store, grace time.Duration) error {
	k := &keeper{st: st, grace: grace, states: map[string][]byte{}, outbox: map[string][]persist.Alert{}, loading: true}
	err := st.Load(k.record)
	if err != nil {
		return err
	}
	// The filter is made once, for all the states loaded, rather than
	// made anew each time it fills as they are read.
	k.loading = false
	k.filter.fromHashes(k.hashes)
	k.hashes = nil
	e.keep = k
	e.budget.Restore(k.budget.Fleet, k.budget.Groups)
	return nil
}

// record takes one record read from the store.
func (k *keeper) record(key, value []byte) error {
	ks := string(key)
	switch {
	case len(ks) > len(persist.MonitorPrefix) && ks[:len(persist.MonitorPrefix)] == persist.MonitorPrefix:
		name := ks[len(persist.MonitorPrefix):]
		if _, err := persist.DecodeMonitor(value); err != nil {
			return fmt.Errorf("%w: monitor %q: %w", errRecord, name, err)
		}
		if k.states == nil {
			k.states = map[string][]byte{}
		}
		k.states[name] = append([]byte(nil), value...)
		if k.loading {
			k.hashes = append(k.hashes, k.filter.hash(name))
		} else {
			k.filter.file(name, k.states)
		}
	case len(ks) > len(persist.AlertPrefix) && ks[:len(persist.AlertPrefix)] == persist.AlertPrefix:
		name, err := persist.ParseAlertKey(key)
		if err == nil {
			var a persist.Alert
			if a, err = persist.DecodeAlert(name, value); err == nil {
				if k.outbox == nil {
					k.outbox = map[string][]persist.Alert{}
				}
				k.outbox[name] = append(k.outbox[name], a)
				return nil
			}
		}
		return fmt.Errorf("%w: alert %q: %w", errRecord, ks, err)
	case ks == persist.BudgetKey:
		b, err := persist.DecodeBudget(value)
		if err != nil {
			return fmt.Errorf("%w: budget: %w", errRecord, err)
		}
		k.budget = b
	default:
		return fmt.Errorf("%w: unknown key %q", errRecord, ks)
	}
	return nil
}

// restore gives a monitor just added its kept state, if it has one, and
// its alerts still on the way.
func (e *Engine) restore(en ecs.Entity, name string) {
	if e.cfg.Cluster != nil && e.store.Healths.Get(en).Rules&ecs.Away != 0 {
		e.carry = nil // another engine runs it, with its own state
		return
	}
	if c := e.carry; c != nil {
		e.carry = nil
		e.resume(en, c.m, c)
		return
	}
	k := e.keep
	if k == nil {
		return
	}
	if rec, ok := k.stateOf(name); ok {
		delete(k.states, name)
		k.shrink()
		m, _ := persist.DecodeMonitor(rec) // checked at load
		e.resume(en, m, nil)
		at := e.unix(e.tickNow())
		e.step(en, episode.Event{Kind: episode.Restart, At: at}, nil)
		e.keptAlready(en, rec, at)
	}
	if e.l.started {
		e.resend(en, name)
	}
}

// keptAlready takes back the write of a monitor just given its kept state
// rec when what the store would keep of it now is rec, byte for byte: a
// restart with 190k monitors failing rewrote each of their records, 11 MB
// through the store, and split the pages of a compacted file. Not in a
// cluster, where each write also carries the shard's token.
func (e *Engine) keptAlready(en ecs.Entity, rec []byte, nowMs int64) {
	k := e.keep
	h := e.store.Healths.Get(en)
	if e.cfg.Cluster != nil || h.Rules&ecs.Dirty == 0 {
		return
	}
	m := e.kept(en, h)
	if !persist.Kept(&m, e.rules.list[h.RulesIndex()].Cooldown, nowMs) {
		return // the record goes
	}
	k.scratch = persist.AppendMonitor(k.scratch[:0], &m)
	if !bytes.Equal(k.scratch, rec) {
		return
	}
	h.Rules &^= ecs.Dirty
	if n := len(k.dirty); n > 0 && k.dirty[n-1] == en {
		k.dirty = k.dirty[:n-1]
	}
}

// stateOf returns the kept state of a monitor not added again yet.
func (k *keeper) stateOf(name string) ([]byte, bool) {
	if !k.filter.may(name) {
		return nil, false
	}
	rec, ok := k.states[name]
	return rec, ok
}

// carried is what an updated monitor takes over from its old self beyond
// its kept state.
type carried struct {
	m          persist.Monitor
	lastErr    error
	lastCheck  int64
	latency    uint32
	fixEnd     int64
	fixErr     error
	history    uint64
	windowN    uint8
	hadHistory bool
}

// resume puts a state on a monitor just added, fitting it to the
// monitor's rules: a monitor that lost its remediator goes on failing and
// is told red at its next failure, if it was not yet.
func (e *Engine) resume(en ecs.Entity, m persist.Monitor, c *carried) {
	s := e.store
	h := s.Healths.Get(en)
	rules := &e.rules.list[h.RulesIndex()]
	st := &m.State
	if !rules.Remediates {
		st.LastFix, m.Fixes = 0, nil
		if st.Phase >= episode.Remediating && st.Phase <= episode.GaveUp {
			st.Phase = episode.Failing
		}
	}
	if st.Phase.Open() {
		ep, lastErr := s.OpenEpisode(en)
		*ep, *lastErr = st.Ep, nil
		if c != nil {
			*lastErr = c.lastErr
		}
	}
	e.count(h.Phase, -1)
	e.count(st.Phase, 1)
	h.Core = st.Core
	if c != nil {
		h.SetLastCheck(c.lastCheck)
		h.LastLatency = c.latency
		if c.hadHistory && (rules.FailureWindow > 0 || rules.FlapHigh > 0) {
			s.Rings.Get(en).History, s.Windows.Get(en).N = c.history, c.windowN
			if c.history != 0 {
				h.Flags &^= episode.Clean
			}
		}
	}
	if rules.Remediates {
		pl := s.Plugins.Get(en)
		pl.LastFix, pl.Fixes = st.LastFix, m.Fixes
		if c != nil {
			pl.LastFixEnd, pl.LastFixErr = c.fixEnd, c.fixErr
		}
		if c == nil && st.Phase == episode.Remediating {
			pl.LastFixErr = errors.New("remediation interrupted by a restart of the engine")
		}
	}
	e.markDirty(en, h)
}

// resend hands a re-added monitor's alerts kept in the outbox to the alert
// path, in the order they were raised.
func (e *Engine) resend(en ecs.Entity, name string) {
	k := e.keep
	as := k.outbox[name]
	if len(as) == 0 {
		return
	}
	delete(k.outbox, name)
	k.shrink()
	n, own := e.notifierOf(en)
	labels := e.labels(en)
	for i := range as {
		a := &as[i]
		var err error
		if a.Err != "" {
			err = errors.New(a.Err)
		}
		e.alerts.Raise(en, n, own, alerts.Pending{Err: err, Start: a.Start, At: a.At, Code: a.Code, Flap: a.Flap,
			Repeat: a.Repeat, Attempt: a.Attempt, Fails: a.Fails, Skipped: a.Skipped, Seq: a.Seq, Ends: a.Ends}, labels)
	}
}

// notifierOf returns a monitor's notifier and whether it is its own.
func (e *Engine) notifierOf(en ecs.Entity) (alert.Notifier, bool) {
	if t := e.tieOfMonitor(en); t.notify != 0 {
		if pn := e.notifiers.Get(t.notify - 1); pn != nil {
			return pn, true
		}
	}
	return e.cfg.Notifier, false
}

// markDirty notes that a monitor's kept state changed.
func (e *Engine) markDirty(en ecs.Entity, h *ecs.Health) {
	k := e.keep
	if k == nil || h.Rules&ecs.Dirty != 0 {
		return
	}
	h.Rules |= ecs.Dirty
	if len(k.dirty) == 0 && len(k.changes) == 0 {
		k.first = e.nanotime()
	}
	k.dirty = append(k.dirty, en)
}

// forget deletes a removed monitor's kept state.
func (e *Engine) forget(name string) {
	if k := e.keep; k != nil {
		delete(k.states, name)
		k.shrink()
		e.change(name, Change{Key: persist.MonitorKey(name)})
	}
}

// change records a change of a monitor's records for the next batch. In
// a cluster it is stamped with the shard's token, and dropped when the
// engine does not hold the shard: its owner keeps that state.
func (e *Engine) change(name string, c Change) {
	if !e.stamp(name, &c) {
		return
	}
	k := e.keep
	if len(k.dirty) == 0 && len(k.changes) == 0 {
		k.first = e.nanotime()
	}
	k.changes = append(k.changes, c)
}

// folded records in the outbox a summary alert the alert path made while
// its notifier was behind.
func (e *Engine) folded(name string, p *alerts.Pending) {
	a := persist.Alert{Monitor: name, Code: p.Code, Flap: p.Flap, Repeat: p.Repeat, Attempt: p.Attempt, Fails: p.Fails,
		Skipped: p.Skipped, Seq: p.Seq, Ends: p.Ends, Start: p.Start, At: p.At}
	if p.Err != nil {
		a.Err = p.Err.Error()
	}
	id, seq := a.ID()
	e.change(name, Change{Key: persist.AlertKey(name, id, seq), Value: persist.AppendAlert(nil, &a)})
}

// outboxPut records an alert before it is sent: it reaches the alert path
// once the batch that records it is written.
func (e *Engine) outboxPut(en ecs.Entity, n alert.Notifier, own bool, p alerts.Pending, labels map[string]string) {
	k := e.keep
	name := e.store.Name(en)
	a := persist.Alert{Monitor: name, Code: p.Code, Flap: p.Flap, Repeat: p.Repeat, Attempt: p.Attempt, Fails: p.Fails,
		Skipped: p.Skipped, Seq: p.Seq, Ends: p.Ends, Start: p.Start, At: p.At}
	if p.Err != nil {
		a.Err = p.Err.Error()
	}
	id, seq := a.ID()
	e.change(name, Change{Key: persist.AlertKey(name, id, seq), Value: persist.AppendAlert(nil, &a)})
	k.held = append(k.held, held{batch: k.sent + 1, en: en, n: n, own: own, p: p, labels: labels})
}

// settled deletes the outbox record of an alert that has its fate. It is
// the alert path's callback and runs on the loop.
func (e *Engine) settled(name string, p *alerts.Pending) {
	if e.keep == nil {
		return
	}
	id, seq := p.Start, p.Seq
	if id == 0 {
		id, seq = p.At, 0
	}
	e.change(name, Change{Key: persist.AlertKey(name, id, seq)})
}

// flush hands the changes made since the last batch to the writer when it
// is free and they are due: flushEvery after the oldest, or at once when
// there are flushMax of them, or when force is set.
func (e *Engine) flush(now int64, force bool) {
	k := e.keep
	if k == nil || k.busy {
		return
	}
	n := len(k.dirty) + len(k.changes)
	if k.budgetNew {
		n++
	}
	if n == 0 || (!force && n < flushMax && now < k.first+int64(flushEvery)) {
		return
	}
	s := e.store
	batch := make([]Change, 0, n)
	batch = append(batch, k.changes...)
	clear(k.changes)
	k.changes = k.changes[:0]
	nowMs := e.unix(now / int64(time.Millisecond))
	for _, en := range k.dirty {
		if !s.Alive(en) {
			continue
		}
		h := s.Healths.Get(en)
		if h.Rules&ecs.Dirty == 0 {
			continue // written already, when its shard was handed over
		}
		h.Rules &^= ecs.Dirty
		if c, ok := e.keptChange(en, h, nowMs); ok {
			batch = append(batch, c)
		}
	}
	if cap(k.dirty) > 1024 && len(k.dirty) < cap(k.dirty)/4 {
		// The list of a storm's changes is let go once they are few: at
		// a million monitors it held 8 bytes of each.
		k.dirty = nil
	} else {
		clear(k.dirty)
		k.dirty = k.dirty[:0]
	}
	if k.budgetNew && e.cfg.Cluster != nil {
		k.budgetNew = false // an engine of a cluster keeps its budget to itself
	}
	if k.budgetNew {
		k.budgetNew = false
		fleet, groups := e.budget.Windows()
		batch = append(batch, Change{Key: []byte(persist.BudgetKey),
			Value: persist.AppendBudget(nil, &persist.Budget{Fleet: fleet, Groups: groups})})
	}
	k.sent++
	k.busy = true
	k.writes <- keepBatch{seq: k.sent, changes: batch}
}

// keptChange is the change that writes what the store keeps of a monitor
// now; false in a cluster when the engine does not hold its shard.
func (e *Engine) keptChange(en ecs.Entity, h *ecs.Health, nowMs int64) (Change, bool) {
	name := e.store.Name(en)
	m := e.kept(en, h)
	c := Change{Key: persist.MonitorKey(name)}
	if persist.Kept(&m, e.rules.list[h.RulesIndex()].Cooldown, nowMs) {
		c.Value = persist.AppendMonitor(nil, &m)
	}
	return c, e.stamp(name, &c)
}

// kept is what the store keeps of a monitor now.
func (e *Engine) kept(en ecs.Entity, h *ecs.Health) persist.Monitor {
	s := e.store
	m := persist.Monitor{State: episode.State{Core: h.Core}}
	if h.Phase.Open() {
		ep, _ := s.Episode(en)
		m.State.Ep = *ep
	}
	if e.rules.list[h.RulesIndex()].Remediates {
		pl := s.Plugins.Get(en)
		m.State.LastFix, m.Fixes = pl.LastFix, pl.Fixes
	}
	return m
}

// written applies the writer's acknowledgement of a batch: the alerts it
// recorded go to the alert path.
func (e *Engine) written(seq uint64) {
	k := e.keep
	k.acked, k.busy = seq, false
	e.flushed0(seq)
	i := 0
	for ; i < len(k.held) && k.held[i].batch <= seq; i++ {
		h := &k.held[i]
		e.alerts.Raise(h.en, h.n, h.own, h.p, h.labels) // removed monitors' were raised at removal
	}
	clear(k.held[:i])
	k.held = append(k.held[:0], k.held[i:]...)
	i = 0
	for ; i < len(k.heldFixes) && k.heldFixes[i].batch <= seq; i++ {
		e.fix.Submit(k.heldFixes[i].c)
	}
	clear(k.heldFixes[:i])
	k.heldFixes = append(k.heldFixes[:0], k.heldFixes[i:]...)
}

// writer writes the batches the loop hands over, one at a time, retrying
// a failed write with backoff. The loop hears of a batch once it is
// written, or once its first try failed: alerts do not wait for a disk
// that refuses them.
func (k *keeper) writer(log func(msg string, args ...any), dead <-chan struct{}) {
	defer close(k.done)
	for b := range k.writes {
		acked := false
		wait := 100 * time.Millisecond
		for {
			err := k.st.Write(b.changes)
			if err == nil {
				break
			}
			k.failures.Add(1)
			if !acked {
				log("the store refused a write; retrying", "changes", len(b.changes), "error", err)
				acked = k.ack(b.seq, dead)
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-dead:
				t.Stop()
				// Shutting down and the store still refuses: the changes
				// are lost, and the next start resumes from the older state.
				log("the store refused the last writes at shutdown", "changes", len(b.changes), "error", err)
				goto next
			}
			wait = min(wait*2, 5*time.Second)
		}
	next:
		if !acked {
			k.ack(b.seq, dead)
		}
	}
}

func (k *keeper) ack(seq uint64, dead <-chan struct{}) bool {
	select {
	case k.acks <- seq:
	case <-dead:
	}
	return true
}

// dropUnclaimed drops, once the grace after Start has passed, the kept
// states of monitors that were not added again, and hands their kept
// alerts to the dead-letter hook.
func (e *Engine) dropUnclaimed() {
	k := e.keep
	k.dropAt = 0
	if n := len(k.states); n > 0 {
		for name := range k.states {
			e.change(name, Change{Key: persist.MonitorKey(name)})
		}
		k.states = nil
		k.filter.reset()
		k.dropped.Add(uint64(n))
		e.log.Warn("dropped the kept state of monitors not added again after the restart", "monitors", n, "grace", k.grace)
	}
	for name, as := range k.outbox {
		for i := range as {
			a := &as[i]
			p := alerts.Pending{Start: a.Start, At: a.At, Code: a.Code, Flap: a.Flap, Repeat: a.Repeat, Attempt: a.Attempt,
				Fails: a.Fails, Skipped: a.Skipped, Seq: a.Seq, Ends: a.Ends}
			if a.Err != "" {
				p.Err = errors.New(a.Err)
			}
			e.alerts.DeadLetter(name, p, errNotAddedAgain)
			e.settled(name, &p)
		}
	}
	k.outbox = nil
}

// shrink lets the maps of kept records go once every record in them was
// claimed: a map keeps the room of its largest size, about 11 MB after a
// restart with 150k monitors failing, for as long as the engine runs.
func (k *keeper) shrink() {
	if len(k.states) == 0 {
		k.states = nil
		k.filter.reset()
	}
	if len(k.outbox) == 0 {
		k.outbox = nil
	}
}

var errNotAddedAgain = errors.New("its monitor was not added again after the engine restarted")

// acks delivers the writer's acknowledgements; nil without a store.
func (e *Engine) acks() <-chan uint64 {
	if e.keep == nil {
		return nil
	}
	return e.keep.acks
}

// flushed reports whether everything changed is written (or being
// written for the last time): the loop may end. While draining, what is
// left is flushed at once.
func (e *Engine) flushed() bool {
	k := e.keep
	if k == nil {
		return true
	}
	if k.busy {
		return false
	}
	if len(k.dirty) > 0 || len(k.changes) > 0 || k.budgetNew || len(k.held) > 0 || len(k.heldFixes) > 0 {
		e.flush(e.nanotime(), true)
		return false
	}
	return true
}

// lastWrite is the shutdown deadline's: what is left is written, waiting
// at most wait for the store.
func (e *Engine) lastWrite(wait time.Duration) {
	k := e.keep
	if k == nil {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		if !k.busy {
			if len(k.dirty) == 0 && len(k.changes) == 0 && !k.budgetNew {
				return
			}
			e.flush(e.nanotime(), true)
		}
		select {
		case seq := <-k.acks:
			k.acked, k.busy = seq, false
		case <-t.C:
			return
		}
	}
}
