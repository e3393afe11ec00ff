package loop

import (
	"errors"
	"math"
	"slices"
	"time"

	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/crew"
	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/internal/fixpipe"
	"github.com/ziad/cpra/internal/lag"
	"github.com/ziad/cpra/internal/pulsepipe"
)

// loopState is everything only the loop goroutine touches.
type loopState struct {
	cur       *pulsepipe.Batch   // the batch being filled
	pending   []*pulsepipe.Batch // full batches waiting for room in the pulse queue
	pop       func(ecs.Entity, int64)
	gov       crew.Governor // caps the pulse workers when more bring nothing
	fillSince int64         // when fillMore first kept the batch being filled; 0: not kept
	scratch   []pulsepipe.Result
	inflight  int64 // checks handed out, results not yet applied
	fixing    int   // remediations handed out, outcomes not yet applied
	// calls holds, in a cluster, each monitor's last attempt handed out
	// whose outcome has not come back: a handover recalls those not
	// started.
	calls    map[ecs.Entity]*fixpipe.Call
	draining bool
	hist     lag.Hist
	latency  lag.Latency
	delays   lag.Delays
	nextPub  int64 // ns: when to publish the lag summary next
	nextGrow int64 // ns: when the pulse pipeline may add a worker next
	nextSize int64 // ns: when to re-size the pipelines next
	nowTime  time.Time
	tick     int64 // the current tick, as the loop last read the clock
	held     bool  // due checks were left in the wheel for want of room in the queue

	late      int   // checks due and not started, at the last count
	lateFirst int64 // tick the oldest of them was due
	nextLate  int64 // ns: when to count them again

	removedInFlight uint64
	denied          error // the reason of the last verdict that denied an attempt
	sizeAgain       bool
	started         bool // the alert path exists
}

func (l *loopState) init(e *Engine) {
	l.cur = e.pulse.GetBatch()
	l.pop = e.dispatchOne
	l.started = true
}

// advanceBudget bounds the due checks one loop round dispatches, so that a
// backlog does not keep commands and outcomes waiting.
const advanceBudget = 8192

// maxParked bounds the checks parked in batches for want of room in the
// pulse queue; beyond it due checks wait in the wheel.
const maxParked = 4 * advanceBudget

// watchdogPeriod bounds how late a check that ignores its deadline is
// noticed, beyond its grace.
const watchdogPeriod = 50 * time.Millisecond

func (e *Engine) loop() {
	defer close(e.loopDone)
	l := &e.l
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	stop := e.stop
	var nextWatch int64
	for {
		now := e.nanotime()
		tick := now / int64(time.Millisecond)
		l.nowTime = e.epoch.Add(time.Duration(now))
		e.pulse.TakeResults(e.apply)
		behind := false
		l.tick = tick
		if !l.draining {
			// Hand out checks only while the pulse queue takes them: work
			// not started stays a due time in the wheel, not a queued job,
			// so falling behind costs no memory.
			e.postPending()
			wasHeld := l.held
			l.held = false
			// Parked batches are allowed up to the queue's size (at most
			// maxParked), so the workers never wait for the loop.
			room := e.pulse.Room() + min(e.cfg.QueueCapacity, maxParked) - int(e.parked.Load())
			if budget := min(advanceBudget, max(room, pulsepipe.BatchMax)); room <= 0 {
				if d := e.store.Wheel.NextDue(); d >= 0 && d <= tick {
					l.held = true
					if !wasHeld {
						e.stats.queueFull.Add(1)
					}
				}
			} else {
				behind = !e.store.Wheel.Advance(tick, budget, l.pop)
				if !e.fillMore(now) {
					e.flushBatch()
				}
			}
			if l.fillSince != 0 && now-l.fillSince >= fillFor {
				e.flushBatch() // kept long enough, even while the queue is full
			}
		}
		if e.maints.heap.Len() > 0 && !e.maints.heap.Next().After(l.nowTime) {
			e.maintDue(l.nowTime)
		}
		if d := e.alerts.NextDue(); d >= 0 && d <= now {
			e.alerts.Due(now)
		}
		e.pulse.RepostOrphans()
		e.postPending()
		e.fix.FlushBacklog()
		if l.inflight > 0 && now >= nextWatch {
			var earliest int64
			l.scratch, earliest = e.pulse.Watchdog(now, l.scratch[:0])
			e.apply(l.scratch)
			clear(l.scratch)
			// Look again when the first running check runs out of time, or
			// after watchdogPeriod for checks that start meanwhile.
			nextWatch = min(earliest, now+int64(watchdogPeriod))
		}
		if now >= l.nextSize {
			e.resize(now)
		}
		e.staff(now)
		if now >= l.nextPub {
			e.publish(now)
		}
		if k := e.keep; k != nil {
			if k.dropAt != 0 && now >= k.dropAt {
				e.dropUnclaimed()
			}
			if len(k.waiters) > 0 {
				e.flush(now, true)
			}
			e.flush(now, false)
		}
		if l.draining && l.inflight == 0 && l.fixing == 0 && e.alerts.Idle() && !e.fix.Backlogged() && e.flushed() {
			e.publish(now)
			return
		}

		// Sleep until the next due check, watchdog round or retry.
		wake := int64(-1)
		if !l.draining && !l.held {
			if d := e.store.Wheel.NextDue(); d >= 0 {
				wake = d * int64(time.Millisecond)
			}
		}
		soon := func(t int64) {
			if wake < 0 || t < wake {
				wake = t
			}
		}
		if l.inflight > 0 {
			soon(nextWatch)
		}
		if d := e.alerts.NextDue(); d >= 0 {
			soon(d)
		}
		if at := e.maints.heap.Next(); !at.IsZero() && !l.draining {
			soon(int64(at.Sub(e.epoch)))
		}
		if e.pulse.Queued.Load() > 0 && e.pulse.Idle.Load() == 0 && int(e.pulse.Live.Load()) < e.pulseMax() {
			soon(l.nextGrow)
		}
		if len(l.pending) > 0 || l.held || e.pulse.Orphaned() || e.fix.Backlogged() {
			soon(now + int64(time.Millisecond))
		}
		if l.fillSince != 0 && len(l.cur.Jobs) > 0 && !l.draining {
			soon(l.fillSince + fillFor)
		}
		if l.hist.Busy(now/1e9) || l.late > 0 {
			soon(l.nextPub)
		}
		if l.sizing() {
			soon(l.nextSize)
		}
		if k := e.keep; k != nil {
			if !k.busy && (len(k.dirty) > 0 || len(k.changes) > 0 || k.budgetNew) {
				soon(k.first + int64(flushEvery))
			}
			if k.dropAt != 0 {
				soon(k.dropAt)
			}
		}
		// Publish the plan, then look for results once more: a worker that
		// pushed before seeing the plan did not kick.
		planned := wake
		if planned < 0 {
			planned = math.MaxInt64
		}
		e.pulse.WakeAt.Store(planned)
		if behind || e.pulse.HasResults() {
			// Go round at once, but through the select, so commands,
			// outcomes and Shutdown are served even under full load.
			e.pulse.WakeAt.Store(0)
			wake = 0
		}
		if wake >= 0 {
			timer.Reset(time.Duration(max(wake-e.nanotime(), 0)))
		} else {
			timer.Stop()
		}
		select {
		case <-e.pulse.Kick:
		case c := <-e.fix.Done:
			e.remediated(c)
		case j := <-e.alerts.Done():
			e.alerts.Finished(j)
		case seq := <-e.acks():
			e.written(seq)
		case c := <-e.cmds:
			c.reply <- e.exec(c)
		case <-stop:
			stop = nil
			l.draining = true
			// Checks not handed to a worker yet are not run.
			for _, b := range l.pending {
				l.inflight -= int64(len(b.Jobs))
				e.clearInFlight(b.Jobs)
				e.pulse.UnrefNew(b)
			}
			l.pending = nil
			e.parked.Store(0)
			l.inflight -= int64(len(l.cur.Jobs))
			e.clearInFlight(l.cur.Jobs)
			l.cur.Jobs = l.cur.Jobs[:0]
			l.fillSince = 0
			e.alerts.Drain() // send what groups gathered now
			if k := e.keep; k != nil && !k.busy {
				e.flush(now, true)
			}
		case <-e.base.Done():
			// The shutdown deadline: what is still on the way goes to the
			// dead-letter hook.
			e.alerts.Abandon(100 * time.Millisecond)
			e.lastWrite(100 * time.Millisecond)
			e.publish(e.nanotime())
			return
		case <-timer.C:
		}
		e.pulse.WakeAt.Store(0)
	}
}

func (e *Engine) clearInFlight(jobs []pulsepipe.Job) {
	for i := range jobs {
		if e.store.Alive(jobs[i].E) {
			e.store.Healths.Get(jobs[i].E).Rules &^= ecs.InFlight
		}
	}
}

// publish makes the lag summary visible to Stats.
func (e *Engine) publish(now int64) {
	l := &e.l
	sum := l.hist.Summary(now / 1e9)
	if now >= l.nextLate {
		e.countLate(now)
	}
	var oldest time.Duration
	if l.late > 0 {
		oldest = time.Duration(max(0, now-l.lateFirst*int64(time.Millisecond)))
	}
	e.snapMu.Lock()
	e.lag = sum
	e.latency = l.latency
	e.delays = l.delays
	e.behind = Behind{Checks: l.late, Oldest: oldest}
	e.snapMu.Unlock()
	e.l.nextPub = now + int64(250*time.Millisecond)
}

// lateEvery is how often the loop counts the checks it is behind on: the
// count walks the wheel's late slots, so it is not done at every publish.
const lateEvery = int64(time.Second)

// countLate counts the checks that are due and have not started: those
// waiting in the wheel and those in batches parked for room in the queue.
func (e *Engine) countLate(now int64) {
	l := &e.l
	l.nextLate = now + lateEvery
	tick := now / int64(time.Millisecond)
	n, first := 0, int64(-1)
	if !l.draining {
		// An entry due at the current tick is on time, not late.
		n, first = e.store.Wheel.Late(tick - 1)
	}
	for _, b := range l.pending {
		n += len(b.Jobs)
		if len(b.Jobs) > 0 && (first < 0 || b.Jobs[0].Due < first) {
			first = b.Jobs[0].Due
		}
	}
	// Checks in the pulse queue have not started either. When the
	// workers keep up, the batch they took last was due a moment ago, and
	// what waits behind it is not late yet.
	if q := e.pulse.Queued.Load(); q > 0 {
		if head := e.pulse.HeadDue.Load(); head < tick-1 {
			n += int(q)
			if first < 0 || head < first {
				first = head
			}
		}
	}
	// A monitor whose queued check waits past its next due time is in
	// the schedule too: it is one late check (the next is skipped).
	n = min(n, int(e.monitors.Load()))
	l.late, l.lateFirst = n, first
}

// dispatchOne is called by the wheel for each entry due at tick.
func (e *Engine) dispatchOne(en ecs.Entity, tick int64) {
	s := e.store
	if !s.Alive(en) {
		return
	}
	p, sc, h := s.RowUnchecked(en) // alive, as the store's own record says
	if sc.Due > tick || h.Rules&(ecs.Away|ecs.Watch) == ecs.Away {
		return // a stale entry: the monitor was rescheduled, or another engine runs it
	}
	iv := e.rules.interval(h)
	due := sc.Due
	// The wheel may pop a tick later than it was due, when the loop fell
	// behind: the next check is then the first of the phase after now,
	// not one the wheel would pop again at once.
	now := max(tick, e.l.tick)
	next := due + iv
	if next <= now {
		next += (now-next)/iv*iv + iv
	}
	switch {
	case h.Rules&ecs.Rephase != 0:
		next = e.phaseDue(s.Name(en), iv, now+1) // back to the phase
		h.Rules &^= ecs.Rephase
	case h.Confirming():
		if r := e.rules.list[h.RulesIndex()].Retry; r > 0 {
			next = now + r // confirm sooner
		}
	}
	sc.Due = next
	s.Wheel.Insert(en, next)
	if h.Rules&ecs.InFlight != 0 {
		e.stats.checksSkipped.Add(1)
		return
	}
	if h.Flags&episode.Quiet != 0 {
		return // stays on schedule, unchecked
	}
	h.Rules |= ecs.InFlight
	l := &e.l
	l.cur.Jobs = append(l.cur.Jobs, pulsepipe.Job{E: en, Check: e.rules.check(p, h), Due: due, Timeout: time.Duration(e.rules.timeout(h)) * time.Millisecond})
	e.pulse.Sz.Arrive.Arrival(l.nowTime)
	l.inflight++
	if len(l.cur.Jobs) == pulsepipe.BatchMax {
		e.flushBatch()
	}
}

// fillFor is how long the loop may keep filling a batch of the checks due
// at successive ticks while the pulse queue has work waiting for a worker.
const fillFor = int64(20 * time.Millisecond)

// fillMore reports whether the batch being filled should wait for the
// checks of the next ticks instead of being queued now: checks are
// waiting in the queue with no worker idle, so this batch would wait
// behind them anyway, and a queue of batches a tick's worth each holds a
// large slot of memory for few checks. It waits fillFor at most.
func (e *Engine) fillMore(now int64) bool {
	l := &e.l
	n := len(l.cur.Jobs)
	if n == 0 {
		l.fillSince = 0
		return false
	}
	if n >= pulsepipe.BatchMax/2 || e.pulse.Queued.Load() < int64(pulsepipe.BatchMax) || e.pulse.Idle.Load() > 0 {
		return false
	}
	if l.fillSince == 0 {
		l.fillSince = now
	}
	return now-l.fillSince < fillFor
}

// flushBatch queues the batch being filled, or parks it when the queue is
// full.
func (e *Engine) flushBatch() {
	l := &e.l
	l.fillSince = 0
	if len(l.cur.Jobs) == 0 {
		return
	}
	if len(l.pending) > 0 || !e.pulse.Post(l.cur) {
		l.pending = append(l.pending, l.cur)
		e.parked.Add(int64(len(l.cur.Jobs)))
		e.stats.queueFull.Add(1)
	}
	l.cur = e.pulse.GetBatch()
}

func (e *Engine) postPending() {
	l := &e.l
	n := 0
	for n < len(l.pending) && e.pulse.Post(l.pending[n]) {
		e.parked.Add(-int64(len(l.pending[n].Jobs)))
		n++
	}
	if n > 0 {
		l.pending = append(l.pending[:0], l.pending[n:]...)
	}
}

// growEvery limits how fast the pulse pipeline adds workers while checks
// wait.
const growEvery = int64(10 * time.Millisecond)

// staff keeps the pulse pipeline at its target and adds a worker when
// checks wait and no worker is idle.
func (e *Engine) staff(now int64) {
	p := e.pulse
	live := int(p.Live.Load())
	for target := max(int(p.Sz.Target.Load()), e.cfg.MinWorkers); live < target; live++ {
		p.Spawn()
	}
	if live >= e.pulseMax() || p.Idle.Load() > 0 || now < e.l.nextGrow {
		return
	}
	if len(e.l.pending) > 0 || p.Queued.Load() > 0 {
		p.Spawn()
		e.l.nextGrow = now + growEvery
	}
}

// pulseMax is the most pulse workers the loop keeps: the pool's maximum,
// or less while the governor caps or bounds it.
func (e *Engine) pulseMax() int {
	if c := e.l.gov.Bound(); c > 0 && c < e.cfg.MaxWorkers {
		return c
	}
	return e.cfg.MaxWorkers
}

// apply feeds check results into the monitors' episode machines.
func (e *Engine) apply(rs []pulsepipe.Result) {
	if len(rs) == 0 {
		return
	}
	s := e.store
	l := &e.l
	var failed uint64
	var warm [ecs.WarmMax]ecs.Entity
	for i := range rs {
		if i%ecs.WarmMax == 0 && len(rs)-i > 1 {
			n := copyEntities(warm[:], rs[i:])
			s.WarmHealths(warm[:n])
		}
		r := &rs[i]
		l.inflight--
		l.hist.Record(r.Start/1e9, r.Start-r.Due*int64(time.Millisecond))
		l.latency.Record(r.Latency)
		l.delays.Record(r.Start - r.Due*int64(time.Millisecond))
		if r.Err != nil {
			failed++
		}
		if !s.Alive(r.E) {
			continue
		}
		h := s.Healths.GetUnchecked(r.E) // alive, as the store's own record says
		h.Rules &^= ecs.InFlight
		if h.Rules&ecs.Away != 0 {
			if h.Rules&ecs.Watch != 0 {
				e.observe(r.E, r.Err != nil) // for the owner, in another location
			}
			continue // or its shard was handed over meanwhile
		}
		h.SetLastCheck((r.Start + r.Latency) / int64(time.Millisecond))
		h.LastLatency = uint32(min(r.Latency/int64(time.Microsecond), 1<<32-1))
		err := r.Err
		if e.cfg.Cluster != nil && e.rules.list[h.RulesIndex()].Quorum > 0 {
			err = e.quorum(r.E, err)
		}
		if err == nil && episode.QuickPass(&h.Core) {
			continue // a healthy monitor passed: nothing else changes
		}
		k := episode.Pass
		if err != nil {
			k = episode.Fail
		}
		e.step(r.E, episode.Event{Kind: k, At: e.unix(h.LastCheck()), Due: e.unix(r.Due)}, err)
	}
	e.stats.checksRun.Add(uint64(len(rs)))
	if failed > 0 {
		e.stats.checksFailed.Add(failed)
	}
}

// copyEntities copies the entities of rs into es, as many as fit, and
// returns how many it copied.
func copyEntities(es []ecs.Entity, rs []pulsepipe.Result) int {
	n := min(len(es), len(rs))
	for i := range n {
		es[i] = rs[i].E
	}
	return n
}

// remediated applies the outcome of a remediation attempt.
func (e *Engine) remediated(c *fixpipe.Call) {
	e.l.fixing--
	switch {
	case errors.Is(c.Err, ErrFenced):
		e.stats.remediationsFenced.Add(1)
	case c.Err != nil:
		e.stats.remediations.Add(1)
		e.stats.remediationsFailed.Add(1)
		e.log.Warn("remediation failed", "monitor", c.Inc.Monitor, "attempt", c.Attempt, "error", c.Err)
	default:
		e.stats.remediations.Add(1)
	}
	if c.Begun() {
		defer e.cfg.Cluster.End(c.Shard)
	}
	if e.cfg.Cluster != nil {
		if e.l.calls[c.E] != c {
			return // a later attempt of the monitor's replaced it
		}
		delete(e.l.calls, c.E)
	}
	if !e.store.Alive(c.E) || e.store.Healths.Get(c.E).Rules&ecs.Away != 0 {
		return // gone, or its shard was handed over: the next owner decides
	}
	if errors.Is(c.Err, ErrFenced) {
		e.fenced(c)
		return
	}
	k := episode.FixOK
	if c.Err != nil {
		k = episode.FixFailed
	}
	e.step(c.E, episode.Event{Kind: k, At: e.unix(e.tickNow()), Start: c.Start, Attempt: uint16(c.Attempt)}, c.Err)
}

// fenced takes back an attempt the cluster's fence stopped before it ran:
// it is not counted, in the episode or in the windows of the limits, and
// the next failing check starts it again, here or at the next owner of the
// monitor's shard.
func (e *Engine) fenced(c *fixpipe.Call) {
	e.step(c.E, episode.Event{Kind: episode.FixFenced, At: e.unix(e.tickNow()), Start: c.Start, Attempt: uint16(c.Attempt)}, nil)
	pl := e.store.Plugins.Get(c.E)
	if i := slices.Index(pl.Fixes, c.At); i >= 0 {
		pl.Fixes = slices.Delete(pl.Fixes, i, i+1)
		e.markDirty(c.E, e.store.Healths.Get(c.E))
	}
	e.budget.Unstart(c.At, e.labels(c.E))
}

// sizing reports whether the pipelines have anything to be sized for:
// work in flight, or workers above the minimum.
func (l *loopState) sizing() bool {
	return l.inflight > 0 || l.fixing > 0 || l.sizeAgain
}

// resize re-sizes each pipeline from its measurements.
func (e *Engine) resize(now int64) {
	l := &e.l
	l.nextSize = now + int64(crew.Period)
	at := e.epoch.Add(time.Duration(now))
	var st [2]crew.Stats
	l.sizeAgain = false
	for i, c := range []struct {
		crew    *crew.Crew
		name    string
		backlog bool
		spawn   func()
		max     func() int
	}{
		{&e.pulse.Crew, "pulse", len(l.pending) > 0 || e.pulse.Queued.Load() > 0, e.pulse.Spawn, e.pulseMax},
		{&e.fix.Crew, "intervention", e.fix.Backlogged() || e.fix.Queued.Load() > 0, e.fix.Spawn, nil},
	} {
		live := int(c.crew.Live.Load())
		before := int(c.crew.Sz.Target.Load())
		backlog := c.backlog && c.crew.Idle.Load() == 0
		g := e.goal()
		if c.max != nil {
			was := l.gov.Ceiling()
			if now := l.gov.Observe(at, e.stats.checksRun.Load(), e.stats.checksSkipped.Load(), live, backlog,
				l.hist.Summary(now/1e9).P99 > e.cfg.SLO, e.cfg.MinWorkers, e.cfg.MaxWorkers); now != was {
				e.log.Debug("pipeline capped", "pipeline", c.name, "workers", now, "was", was)
			}
			g.Max = c.max()
			c.crew.Cap.Store(int32(g.Max))
		}
		target, s := c.crew.Sz.Decide(g, at, live, backlog)
		if c.max != nil {
			s.Ceiling = l.gov.Ceiling()
		}
		st[i] = s
		for ; live < target; live++ {
			c.spawn()
		}
		c.crew.ShrinkTo(target)
		if target != before {
			e.log.Debug("pipeline re-sized", "pipeline", c.name, "workers", target, "was", before,
				"lambda", s.Lambda, "service", s.MeanService, "ca2", s.CA2, "cs2", s.CS2,
				"wait", s.Wait, "meets_slo", s.Meets)
		}
		if live > e.cfg.MinWorkers || target > e.cfg.MinWorkers {
			l.sizeAgain = true // keep sizing until the pool is back at its floor
		}
	}
	e.snapMu.Lock()
	e.pulse.Sz.Last, e.fix.Sz.Last = st[0], st[1]
	e.snapMu.Unlock()
}

// realign puts a monitor that checked at its retry interval back on its
// phase: the next check due at the interval's phase after its last check.
func (e *Engine) realign(en ecs.Entity, h *ecs.Health) {
	s := e.store
	sc := s.Scheds.Get(en)
	next := e.phaseDue(s.Name(en), e.rules.interval(h), h.LastCheck()+1)
	if next != sc.Due {
		sc.Due = next
		s.Wheel.Insert(en, next)
	}
}

// checkSoon brings a monitor's next check forward to the next tick; the
// one after returns to its phase.
func (e *Engine) checkSoon(en ecs.Entity, h *ecs.Health) {
	if h.Rules&ecs.InFlight != 0 {
		return // its result is on the way
	}
	s := e.store
	sc := s.Scheds.Get(en)
	if t := s.Wheel.Now() + 1; sc.Due > t {
		sc.Due = t
		s.Wheel.Insert(en, t)
		h.Rules |= ecs.Rephase
	}
}

// labels returns a monitor's labels, nil when it has none.
func (e *Engine) labels(en ecs.Entity) map[string]string {
	return e.tieOfMonitor(en).labels
}

// goal is what the pipelines are sized for.
func (e *Engine) goal() crew.Goal {
	return crew.Goal{SLO: e.cfg.SLO, Headroom: e.cfg.Headroom, Min: e.cfg.MinWorkers, Max: e.cfg.MaxWorkers}
}

// pipeStats describes one pipeline.
func pipeStats(c *crew.Crew, queued int64) PipelineStats {
	live, idle := c.Counts()
	return PipelineStats{Workers: live, Idle: idle, Queued: int(queued)}
}
