package loop

import (
	"context"
	"errors"
	"fmt"

	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/internal/fixpipe"
)

// Cluster is package cpra's Cluster as the machinery calls it.
type Cluster interface {
	Shards() int
	Run(ctx context.Context, h Host) error
	Begin(shard int) bool
	End(shard int)
	Token(shard int) int64
	Write(changes []Change) error
	Observe(shard int, monitor string, failed bool)
	Verdict(shard int, monitor string, failed bool, quorum int) (down bool, where []string)
}

// Host is the engine as its cluster drives it: package cpra's
// ClusterHost.
type Host interface {
	Own(grants []Grant) error
	Disown(shards []int) error
	Watch(shards []int, on bool) error
	Flush(ctx context.Context) error
}

// Grant is a shard the engine now owns, with the records of its state.
type Grant struct {
	Shard   int
	Token   int64
	Records []Change
}

// ErrFenced is wrapped by the error of a remediation not started because
// the engine may not act for the monitor's shard.
var ErrFenced = fixpipe.ErrFenced

// ShardOf returns the shard of a monitor name among n: a hash of the
// name, mixed apart from the one that spreads check phases, so that a
// shard's monitors are spread over the interval.
func ShardOf(name string, n int) int {
	h := ecs.HashName(name)
	h ^= h >> 31
	h *= 0x9e3779b97f4a7c15
	h ^= h >> 29
	return int((h >> 32) * uint64(n) >> 32)
}

// shardOf returns a monitor's shard in the engine's cluster.
func (e *Engine) shardOf(name string) int { return ShardOf(name, e.cfg.Cluster.Shards()) }

// stamp stamps a change of a monitor's records with its shard and the
// shard's token, in a cluster; it reports false when the engine does not
// hold the shard, and the change is not the engine's to make.
func (e *Engine) stamp(name string, c *Change) bool {
	cl := e.cfg.Cluster
	if cl == nil {
		return true
	}
	c.Shard = e.shardOf(name)
	c.Token = cl.Token(c.Shard)
	return c.Token != 0
}

// away reports whether another engine of the cluster runs a monitor
// added now.
func (e *Engine) away(name string) bool {
	return e.cfg.Cluster != nil && !e.owned[e.shardOf(name)]
}

// own makes the engine run the monitors of the granted shards, resuming
// the state their records hold. A shard the engine ran already (it lost
// and won it back) is reset to its records too: they are the truth.
func (e *Engine) own(gs []Grant) error {
	n := len(e.owned)
	k := e.keep
	in := make([]bool, n)
	var bad error
	for _, g := range gs {
		if g.Shard < 0 || g.Shard >= n {
			return fmt.Errorf("cpra: Own: shard %d of %d", g.Shard, n)
		}
		in[g.Shard] = true
		for _, r := range g.Records {
			if err := k.record(r.Key, r.Value); err != nil {
				bad = errors.Join(bad, fmt.Errorf("shard %d: %w", g.Shard, err))
			}
		}
	}
	for _, g := range gs {
		if !e.owned[g.Shard] {
			e.owned[g.Shard] = true
			e.shardsOwned.Add(1)
		}
		e.shardMoves.in.Add(1)
	}
	s := e.store
	ents := e.monitorsIn(in)
	now := s.Wheel.Now()
	for _, en := range ents {
		h := s.Healths.Get(en)
		if h.Rules&ecs.Away == 0 {
			e.reset(en)
			h = s.Healths.Get(en)
		}
		h.Rules &^= ecs.Away | ecs.Watch
		name := s.Name(en)
		e.restore(en, name) // and its alerts on the way, once the engine runs
		e.syncMaint(en)
		sc := s.Scheds.Get(en)
		sc.Due = e.phaseDue(name, e.rules.interval(s.Healths.Get(en)), now+1)
		s.Wheel.Insert(en, sc.Due)
	}
	if bad != nil {
		e.log.Error("records of owned shards could not be read; their monitors start afresh", "error", bad)
	}
	return nil
}

// disown stops running the monitors of the shards. What changed of their
// state and is not written yet is written with the shard's token first.
// The cluster stops new actions for those shards before it disowns them,
// so an attempt not begun by then is recalled and taken back.
func (e *Engine) disown(shards []int) error {
	n := len(e.owned)
	out := make([]bool, n)
	for _, sh := range shards {
		if sh < 0 || sh >= n {
			return fmt.Errorf("cpra: Disown: shard %d of %d", sh, n)
		}
		if e.owned[sh] {
			out[sh] = true
			e.owned[sh] = false
			e.shardsOwned.Add(-1)
			e.shardMoves.out.Add(1)
		}
	}
	s := e.store
	k := e.keep
	ents := e.monitorsIn(out)
	nowMs := e.unix(e.tickNow())
	for _, en := range ents {
		h := s.Healths.Get(en)
		if h.Rules&ecs.Away != 0 {
			continue
		}
		if c := e.l.calls[en]; c != nil && c.Recall() {
			// Its attempt has not run and never will here: the next owner
			// starts it, with the same number. One that runs is written
			// as running, and counts as failed there.
			e.fenced(c)
			h = s.Healths.Get(en)
		}
		if h.Rules&ecs.Dirty != 0 {
			if c, ok := e.keptChange(en, h, nowMs); ok {
				if len(k.dirty) == 0 && len(k.changes) == 0 {
					k.first = e.nanotime()
				}
				k.changes = append(k.changes, c)
			}
		}
		e.reset(en)
		h = s.Healths.Get(en)
		h.Rules = h.Rules&^ecs.Watch | ecs.Away
	}
	// Kept records of those shards not claimed by a monitor yet are the
	// next owner's.
	for name := range k.states {
		if out[e.shardOf(name)] {
			delete(k.states, name)
		}
	}
	for name := range k.outbox {
		if out[e.shardOf(name)] {
			delete(k.outbox, name)
		}
	}
	k.shrink()
	return nil
}

// watch starts (on) or stops checking, for their owners, the monitors
// with a quorum of shards another engine owns: this engine reports them
// for its location.
func (e *Engine) watch(shards []int, on bool) error {
	n := len(e.owned)
	in := make([]bool, n)
	for _, sh := range shards {
		if sh < 0 || sh >= n {
			return fmt.Errorf("cpra: Watch: shard %d of %d", sh, n)
		}
		in[sh] = true
	}
	s := e.store
	ents := e.monitorsIn(in)
	now := s.Wheel.Now()
	for _, en := range ents {
		h := s.Healths.Get(en)
		if h.Rules&ecs.Away == 0 || e.rules.list[h.RulesIndex()].Quorum == 0 || (h.Rules&ecs.Watch != 0) == on {
			continue
		}
		if !on {
			h.Rules &^= ecs.Watch // its wheel entry is dropped when reached
			continue
		}
		h.Rules |= ecs.Watch
		sc := s.Scheds.Get(en)
		sc.Due = e.phaseDue(s.Name(en), e.rules.interval(h), now+1)
		s.Wheel.Insert(en, sc.Due)
	}
	return nil
}

// observe reports a watched monitor's check to the cluster.
func (e *Engine) observe(en ecs.Entity, failed bool) {
	name := e.store.Name(en)
	e.cfg.Cluster.Observe(e.shardOf(name), name, failed)
}

// quorum returns the error of an owned monitor's check with a quorum,
// counting the locations that see it fail: nil when fewer than the
// quorum do, whatever this engine's own check said.
func (e *Engine) quorum(en ecs.Entity, err error) error {
	name := e.store.Name(en)
	q := int(e.rules.list[e.store.Healths.Get(en).RulesIndex()].Quorum)
	down, where := e.cfg.Cluster.Verdict(e.shardOf(name), name, err != nil, q)
	if !down {
		return nil
	}
	return e.errs.Quorum(where, q, err)
}

// monitorsIn returns the monitors of the shards marked in in: one pass
// over every monitor's name.
func (e *Engine) monitorsIn(in []bool) []ecs.Entity {
	return e.store.Named(func(name string) bool { return in[e.shardOf(name)] }, nil)
}

// reset gives a monitor the state of one just added.
func (e *Engine) reset(en ecs.Entity) {
	s := e.store
	h := s.Healths.Get(en)
	e.count(h.Phase, -1)
	if h.Phase.Open() {
		s.EndEpisode(en)
	}
	h.Core = episode.New().Core
	h.SetLastCheck(0)
	h.LastLatency = 0
	h.Rules &^= ecs.Dirty | ecs.Rephase
	if s.Rings.Has(en) {
		*s.Rings.Get(en), *s.Windows.Get(en) = ecs.Ring{}, ecs.Window{}
	}
	if s.Plugins.Has(en) {
		pl := s.Plugins.Get(en)
		pl.LastFix, pl.Fixes, pl.LastFixEnd, pl.LastFixErr = 0, nil, 0, nil
	}
}

// syncMaint puts a monitor that starts running into or out of
// maintenance as its windows are now: the state it resumed was its
// previous owner's.
func (e *Engine) syncMaint(en ecs.Entity) {
	s := e.store
	in := s.Maints.Has(en) && s.Maints.Get(en).Open > 0
	flag := s.Healths.Get(en).Flags&episode.Maint != 0
	switch {
	case in && !flag:
		e.step(en, episode.Event{Kind: episode.MaintIn, At: e.unix(e.tickNow())}, nil)
	case !in && flag:
		e.step(en, episode.Event{Kind: episode.MaintOut, At: e.unix(e.tickNow())}, nil)
	}
}

// flushWait registers a waiter for every change made so far to be
// written.
func (e *Engine) flushWait(ch chan struct{}) {
	k := e.keep
	target := k.sent
	if len(k.dirty) > 0 || len(k.changes) > 0 || k.budgetNew {
		target = k.sent + 1
	}
	if target <= k.acked {
		close(ch)
		return
	}
	k.waiters = append(k.waiters, waiter{seq: target, ch: ch})
}

// flushed0 releases the waiters a written batch satisfies.
func (e *Engine) flushed0(seq uint64) {
	k := e.keep
	i := 0
	for ; i < len(k.waiters) && k.waiters[i].seq <= seq; i++ {
		close(k.waiters[i].ch)
	}
	k.waiters = append(k.waiters[:0], k.waiters[i:]...)
}

// waiter waits for batch seq to be written.
type waiter struct {
	seq uint64
	ch  chan struct{}
}

// host is the engine as its cluster drives it.
type host struct{ e *Engine }

func (h host) Own(gs []Grant) error      { return h.e.do(command{kind: cmdOwn, grants: gs}).err }
func (h host) Disown(shards []int) error { return h.e.do(command{kind: cmdDisown, shards: shards}).err }

func (h host) Watch(shards []int, on bool) error {
	return h.e.do(command{kind: cmdWatch, shards: shards, on: on}).err
}

func (h host) Flush(ctx context.Context) error {
	ch := make(chan struct{})
	if r := h.e.do(command{kind: cmdFlush, wait: ch}); r.err != nil {
		return r.err
	}
	select {
	case <-ch:
		return nil
	case <-h.e.loopDone:
		return nil // the engine stopped, and wrote what it had
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runCluster runs the cluster's Run until Shutdown cancels it.
func (e *Engine) runCluster() {
	ctx, cancel := context.WithCancel(context.Background())
	e.clCancel = cancel
	e.clDone = make(chan struct{})
	go func() {
		defer close(e.clDone)
		defer func() {
			if v := recover(); v != nil {
				e.log.Error("the cluster panicked; this engine acts for no shard now", "panic", fmt.Sprint(v))
			}
		}()
		if err := e.cfg.Cluster.Run(ctx, host{e}); err != nil && ctx.Err() == nil {
			e.log.Error("the cluster stopped", "error", err)
		}
	}()
}

// shardOfFn returns the alert path's shard function: nil outside a
// cluster.
func (e *Engine) shardOfFn() func(string) int {
	if e.cfg.Cluster == nil {
		return nil
	}
	return e.shardOf
}

// clusterStore is the cluster as the keeper's store: the state of owned
// shards arrives with Own, not from Load.
type clusterStore struct{ c Cluster }

func (clusterStore) Load(func(key, value []byte) error) error { return nil }
func (s clusterStore) Write(changes []Change) error           { return s.c.Write(changes) }
