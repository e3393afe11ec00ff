package cpra

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/intervene"
)

// loopState is everything only the loop goroutine touches.
type loopState struct {
	cur      *jobBatch   // the batch being filled
	pending  []*jobBatch // full batches waiting for room in the pulse queue
	pop      func(ecs.Entity, int64)
	scratch  []result
	lanes    map[ecs.Entity]*lane // monitors with alerts being delivered
	inflight int64                // checks handed out, results not yet applied
	fixing   int                  // remediations handed out, outcomes not yet applied
	episode  uint64               // last episode number given out
	draining bool
	hist     lagHist
	latency  latencyHist
	nextPub  int64 // ns: when to publish the lag summary next
	nextGrow int64 // ns: when the pulse pipeline may add a worker next
	nextSize int64 // ns: when to re-size the pipelines next
	nowTime  time.Time

	removedInFlight uint64
	sizeAgain       bool
	budget          budget

	groups   map[groupKey]*group // groups taking members
	groupQ   []*group            // open groups by due time
	groupSeq uint64
}

// lane keeps one monitor's alerts in order: one is being delivered (or a
// group it is in is being formed), the rest wait here. A grouped alert
// waits in a lane as its group's call.
type lane struct {
	q   []*call
	top uint64 // the newest group this lane has been in
}

// group gathers the alerts with one code of monitors sharing a label
// value until it is due. It is sent once it is due and every member's
// earlier alerts are delivered.
type group struct {
	key     groupKey
	seq     uint64 // groups are numbered in the order they open
	due     int64  // ns
	waits   int    // members still delivering earlier alerts, plus 1 until due
	members []ecs.Entity
	alerts  []alert.Alert
	call    *call
}

type groupKey struct {
	notifier any // see notifierID
	value    string
	code     alert.Code
	flap     alert.Flap
}

func (l *loopState) init(e *Engine) {
	l.cur = e.pulse.getBatch()
	l.pop = e.dispatchOne
	l.lanes = make(map[ecs.Entity]*lane)
	l.groups = make(map[groupKey]*group)
}

// advanceBudget bounds the due checks one loop round dispatches, so that a
// backlog does not keep commands and outcomes waiting.
const advanceBudget = 8192

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
		e.takeResults()
		behind := false
		if !l.draining {
			behind = !e.store.Wheel.Advance(tick, advanceBudget, l.pop)
			e.flushBatch()
		}
		if len(e.maints.heap) > 0 && !e.maints.heap[0].at.After(l.nowTime) {
			e.maintDue(l.nowTime)
		}
		if len(l.groupQ) > 0 && l.groupQ[0].due <= now {
			e.closeGroups(now)
		}
		e.pulse.repostOrphans()
		e.postPending()
		e.fix.flushBacklog()
		e.notify.flushBacklog()
		if l.inflight > 0 && now >= nextWatch {
			var earliest int64
			l.scratch, earliest = e.pulse.watchdog(now, l.scratch[:0])
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
		if l.draining && l.inflight == 0 && l.fixing == 0 && len(l.lanes) == 0 &&
			len(e.fix.backlog) == 0 && len(e.notify.backlog) == 0 {
			e.publish(now)
			return
		}

		// Sleep until the next due check, watchdog round or retry.
		wake := int64(-1)
		if !l.draining {
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
		if len(l.groupQ) > 0 {
			soon(l.groupQ[0].due)
		}
		if at := e.maints.next(); !at.IsZero() && !l.draining {
			soon(int64(at.Sub(e.epoch)))
		}
		if e.pulse.queued.Load() > 0 && e.pulse.idle.Load() == 0 && int(e.pulse.live.Load()) < e.cfg.maxWorkers {
			soon(l.nextGrow)
		}
		if len(l.pending) > 0 || len(e.pulse.orphans) > 0 || len(e.fix.backlog) > 0 || len(e.notify.backlog) > 0 {
			soon(now + int64(time.Millisecond))
		}
		if l.hist.secs[(now/1e9)%lagWindow].n > 0 {
			soon(l.nextPub)
		}
		if l.sizing() {
			soon(l.nextSize)
		}
		// Publish the plan, then look for results once more: a worker that
		// pushed before seeing the plan did not kick.
		planned := wake
		if planned < 0 {
			planned = math.MaxInt64
		}
		e.pulse.wakeAt.Store(planned)
		if behind || e.pulse.results.Load() != nil {
			// Go round at once, but through the select, so commands,
			// outcomes and Shutdown are served even under full load.
			e.pulse.wakeAt.Store(0)
			wake = 0
		}
		if wake >= 0 {
			timer.Reset(time.Duration(max(wake-e.nanotime(), 0)))
		} else {
			timer.Stop()
		}
		select {
		case <-e.pulse.kick:
		case c := <-e.fix.done:
			e.remediated(c)
		case c := <-e.notify.done:
			e.notified(c)
		case c := <-e.cmds:
			c.reply <- e.exec(c)
		case <-stop:
			stop = nil
			l.draining = true
			// Checks not handed to a worker yet are not run.
			for _, b := range l.pending {
				l.inflight -= int64(len(b.jobs))
				e.clearInFlight(b.jobs)
				e.pulse.unrefNew(b)
			}
			l.pending = nil
			l.inflight -= int64(len(l.cur.jobs))
			e.clearInFlight(l.cur.jobs)
			l.cur.jobs = l.cur.jobs[:0]
			e.closeGroups(math.MaxInt64) // send what is gathered now
		case <-e.base.Done():
			return
		case <-timer.C:
		}
		e.pulse.wakeAt.Store(0)
	}
}

func (e *Engine) clearInFlight(jobs []job) {
	for i := range jobs {
		if e.store.Alive(jobs[i].e) {
			e.store.Healths.Get(jobs[i].e).Flags &^= ecs.FlagInFlight
		}
	}
}

// publish makes the lag summary visible to Stats.
func (e *Engine) publish(now int64) {
	sum := e.l.hist.summary(now / 1e9)
	e.snapMu.Lock()
	e.lag = sum
	e.latency = e.l.latency
	e.snapMu.Unlock()
	e.l.nextPub = now + int64(250*time.Millisecond)
}

// dispatchOne is called by the wheel for each entry due at tick.
func (e *Engine) dispatchOne(en ecs.Entity, tick int64) {
	s := e.store
	if !s.Alive(en) {
		return
	}
	p, sc, h := s.Monitors.Get(en)
	if sc.Due > tick {
		return // a stale entry: the monitor was rescheduled
	}
	iv := int64(sc.Interval)
	due := sc.Due
	next := due + iv
	if next <= tick {
		next += (tick-next)/iv*iv + iv
	}
	if h.Flags&(ecs.FlagRetry|ecs.FlagRephase) != 0 {
		if h.Flags&ecs.FlagRetry != 0 && h.Flags&ecs.FlagInEpisode != 0 && h.State != ecs.StateDown {
			next = tick + int64(s.Plugins.Get(en).RetryInterval) // confirm sooner
		} else {
			next = e.phaseDue(p.Name, iv, tick+1) // back to the phase
		}
		h.Flags &^= ecs.FlagRephase
	}
	sc.Due = next
	s.Wheel.Insert(en, next)
	if h.Flags&ecs.FlagInFlight != 0 {
		e.stats.checksSkipped.Add(1)
		return
	}
	if h.Flags&(ecs.FlagPaused|ecs.FlagMaint) != 0 {
		return // stays on schedule, unchecked
	}
	h.Flags |= ecs.FlagInFlight
	l := &e.l
	l.cur.jobs = append(l.cur.jobs, job{e: en, check: p.Check, due: due, timeout: time.Duration(sc.Timeout) * time.Millisecond})
	e.pulse.sz.arrive.Arrival(l.nowTime)
	l.inflight++
	if len(l.cur.jobs) == batchMax {
		e.flushBatch()
	}
}

// flushBatch queues the batch being filled, or parks it when the queue is
// full.
func (e *Engine) flushBatch() {
	l := &e.l
	if len(l.cur.jobs) == 0 {
		return
	}
	if len(l.pending) > 0 || !e.pulse.post(l.cur) {
		l.pending = append(l.pending, l.cur)
		e.stats.queueFull.Add(1)
	}
	l.cur = e.pulse.getBatch()
}

func (e *Engine) postPending() {
	l := &e.l
	n := 0
	for n < len(l.pending) && e.pulse.post(l.pending[n]) {
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
	live := int(p.live.Load())
	for target := max(int(p.sz.target.Load()), e.cfg.minWorkers); live < target; live++ {
		p.spawn()
	}
	if live >= e.cfg.maxWorkers || p.idle.Load() > 0 || now < e.l.nextGrow {
		return
	}
	if len(e.l.pending) > 0 || p.queued.Load() > 0 {
		p.spawn()
		e.l.nextGrow = now + growEvery
	}
}

// apply feeds check results into the monitors' state machines.
func (e *Engine) apply(rs []result) {
	if len(rs) == 0 {
		return
	}
	s := e.store
	l := &e.l
	var failed uint64
	for i := range rs {
		r := &rs[i]
		l.inflight--
		l.hist.record(r.start/1e9, r.start-r.due*int64(time.Millisecond))
		l.latency.record(r.latency)
		if r.err != nil {
			failed++
		}
		if !s.Alive(r.e) {
			continue
		}
		h := s.Healths.Get(r.e)
		h.Flags &^= ecs.FlagInFlight
		h.LastCheck = (r.start + r.latency) / int64(time.Millisecond)
		h.LastLatency = uint32(min(r.latency/int64(time.Microsecond), 1<<32-1))
		if h.Flags&(ecs.FlagPaused|ecs.FlagMaint) != 0 {
			continue // silenced while the check ran: it decides nothing
		}
		retry := h.Flags&ecs.FlagRetry != 0 // read now: h may move below
		flapEnd := false
		if h.Flags&(ecs.FlagWindow|ecs.FlagFlap) != 0 && (r.err != nil || h.Flags&ecs.FlagRingClear == 0) {
			flapEnd = e.record(r.e, h, r.err)
		}
		if r.err == nil {
			e.passed(r.e, h)
		} else {
			e.failed(r.e, h, r.err, r.due)
		}
		if flapEnd {
			e.flapEnd(r.e, r.err)
		}
		if retry {
			if h := s.Healths.Get(r.e); h.Flags&ecs.FlagInEpisode == 0 || h.State == ecs.StateDown {
				e.realign(r.e, h)
			}
		}
	}
	e.stats.checksRun.Add(uint64(len(rs)))
	if failed > 0 {
		e.stats.checksFailed.Add(failed)
	}
}

func sat(v uint16) uint16 {
	if v == maxCount {
		return v
	}
	return v + 1
}

// record adds a result to the monitor's history and detects the start
// and end of flapping. It reports whether flapping ended: the caller tells
// it once the result has been applied.
func (e *Engine) record(en ecs.Entity, h *ecs.Health, err error) bool {
	s := e.store
	rg := s.Rings.Get(en)
	rg.History <<= 1
	if err != nil {
		rg.History |= 1
	}
	if rg.WindowN < 64 {
		rg.WindowN++
	}
	// With no failure in the ring, passes need not be recorded: they
	// would shift in zeros, and a window of zeros counts no failure.
	if rg.History == 0 {
		h.Flags |= ecs.FlagRingClear
	} else {
		h.Flags &^= ecs.FlagRingClear
	}
	if h.Flags&ecs.FlagFlap == 0 {
		return false
	}
	sum := ecs.FlapSum(rg.History)
	if h.Flags&ecs.FlagFlapping != 0 {
		return sum < int(rg.FlapLow)
	}
	if sum < int(rg.FlapHigh) {
		return false
	}
	h.Flags |= ecs.FlagFlapping
	e.stats.flapStarts.Add(1)
	since := int64(-1)
	if h.Flags&ecs.FlagInEpisode != 0 {
		since = s.Episodes.Get(en).Since
	}
	rg.FlapSince = since
	e.raiseN(en, h, alert.Yellow, err, since, 0, 0, alert.FlapStart)
	return false
}

// flapEnd ends a monitor's flapping: one alert tells its state now, and
// what flapping held back (an attempt, the red) goes ahead.
func (e *Engine) flapEnd(en ecs.Entity, err error) {
	s := e.store
	h := s.Healths.Get(en)
	h.Flags &^= ecs.FlagFlapping
	if h.Flags&ecs.FlagInEpisode == 0 {
		// Since pairs the green with the episode told before the spell.
		e.raiseN(en, h, alert.Green, nil, s.Rings.Get(en).FlapSince, 0, 0, alert.FlapEnd)
		return
	}
	ep := s.Episodes.Get(en)
	if ep.HeldBy == ecs.HeldFlap {
		ep.HeldBy = ecs.HeldNone
	}
	ep.Yellow = true
	if h.State != ecs.StateDown || ep.HeldBy != ecs.HeldNone {
		// Failing but not down, or down behind a failing parent.
		e.raiseN(en, h, alert.Yellow, err, ep.Since, int(ep.Attempts), 0, alert.FlapEnd)
		return
	}
	if ep.Phase == ecs.PhaseHeld {
		ep.Phase = ecs.PhaseNone
		if s.Plugins.Has(en) && s.Plugins.Get(en).Remediate != nil {
			e.raiseN(en, h, alert.Yellow, err, ep.Since, int(ep.Attempts), 0, alert.FlapEnd)
			e.attempt(en, h, ep)
			return
		}
		ep.Phase = ecs.PhaseRedNoFix
		ep.Red = true
	}
	code := alert.Yellow // an attempt is running or due
	if ep.Red {
		code = alert.Red
	}
	e.raiseN(en, h, code, err, ep.Since, int(ep.Attempts), 0, alert.FlapEnd)
}

func (e *Engine) passed(en ecs.Entity, h *ecs.Health) {
	h.Fails = 0
	h.Succs = sat(h.Succs)
	if h.Flags&ecs.FlagInEpisode == 0 {
		e.setState(h, ecs.StateUp)
		return
	}
	s := e.store
	ep := s.Episodes.Get(en)
	need := h.SuccThreshold
	if ep.Phase == ecs.PhaseVerifying {
		if v := s.Plugins.Get(en).Policy.Verify; v > 0 {
			need = uint16(min(v, maxCount))
		}
	}
	if h.Succs < need {
		return
	}
	// The episode is over. An episode nothing was told of (held by
	// flapping or a parent) ends quietly.
	since, attempts, told := ep.Since, int(ep.Attempts), ep.Sent
	e.setState(h, ecs.StateUp)
	h.Flags &^= ecs.FlagInEpisode
	if h.Flags&ecs.FlagWindow != 0 {
		s.Rings.Get(en).WindowN = 0 // recovered: old failures no longer count
	}
	if told {
		e.raise(en, h, alert.Green, nil, since, attempts)
	}
	s.Episodes.Remove(en)
}

func (e *Engine) failed(en ecs.Entity, h *ecs.Health, err error, due int64) {
	s := e.store
	h.Succs = 0
	h.Fails = sat(h.Fails)
	windowDown := false
	if h.Flags&ecs.FlagWindow != 0 {
		rg := s.Rings.Get(en)
		mask := uint64(1)<<min(rg.FailureWindow, rg.WindowN) - 1 // 64 wraps to all ones
		windowDown = bits.OnesCount64(rg.History&mask) >= int(h.FailThreshold)
	}
	if h.Flags&ecs.FlagInEpisode == 0 {
		e.l.episode++
		h.Flags |= ecs.FlagInEpisode
		s.Episodes.Add(en, &ecs.Episode{Seq: e.l.episode, Since: h.LastCheck})
		h = s.Healths.Get(en) // the entity moved to another table
	}
	ep := s.Episodes.Get(en)
	ep.LastErr = err
	if h.Flags&ecs.FlagRetry != 0 && h.Fails == 1 && h.State != ecs.StateDown {
		// The first failure: bring the next check forward to the retry
		// interval (the old wheel entry goes stale).
		sc := s.Scheds.Get(en)
		if r := h.LastCheck + int64(s.Plugins.Get(en).RetryInterval); r < sc.Due {
			sc.Due = r
			s.Wheel.Insert(en, r)
		}
	}
	if h.Flags&(ecs.FlagFlapping|ecs.FlagDeps) != 0 {
		by := ecs.HeldNone
		switch {
		case h.Flags&ecs.FlagFlapping != 0:
			by = ecs.HeldFlap
		case e.parentHolds(en, ep):
			by = ecs.HeldParent
		}
		if by != ecs.HeldNone {
			// Track the state, but tell nothing and try no repair.
			ep.HeldBy = by
			if h.State != ecs.StateDown && (h.Fails >= h.FailThreshold || windowDown) {
				e.setState(h, ecs.StateDown)
				ep.Phase = ecs.PhaseHeld
			}
			return
		}
		if ep.HeldBy != ecs.HeldNone {
			// Released: the parents are fine. This fresh failure decides.
			ep.HeldBy = ecs.HeldNone
			if ep.Phase == ecs.PhaseHeld {
				ep.Phase = ecs.PhaseNone
				e.down(en, h, ep, err)
				return
			}
		}
	}
	if h.Flags&ecs.FlagRepeat != 0 && ep.Red && h.State == ecs.StateDown {
		if rp := int64(s.Plugins.Get(en).RepeatInterval); due >= ep.LastRed+rp {
			ep.Repeats++
			ep.LastRed = due
			e.raiseN(en, h, alert.Red, err, ep.Since, int(ep.Attempts), int(ep.Repeats), 0)
		}
	}
	// With flap detection a failure is told once it repeats: a target that
	// alternates is then told only by the flap alerts.
	if h.FailThreshold > 1 && !ep.Yellow && h.State != ecs.StateDown && (h.Flags&ecs.FlagFlap == 0 || h.Fails >= 2) {
		ep.Yellow = true
		e.raise(en, h, alert.Yellow, err, ep.Since, 0)
	}
	if h.State != ecs.StateDown {
		if h.Fails >= h.FailThreshold || windowDown {
			e.setState(h, ecs.StateDown)
			e.down(en, h, ep, err)
		}
		return
	}
	switch ep.Phase {
	case ecs.PhaseVerifying:
		e.attemptFailed(en, h, ep, fmt.Errorf("verification failed: %w", err), due)
	case ecs.PhaseBackoff, ecs.PhaseLimited:
		if due >= ep.NextAttempt {
			e.attempt(en, h, ep)
		}
	}
}

// down opens the incident of a monitor that just went down.
func (e *Engine) down(en ecs.Entity, h *ecs.Health, ep *ecs.Episode, err error) {
	s := e.store
	if s.Plugins.Has(en) && s.Plugins.Get(en).Remediate != nil {
		e.attempt(en, h, ep)
		return
	}
	ep.Phase = ecs.PhaseRedNoFix
	ep.Red = true
	e.raise(en, h, alert.Red, err, ep.Since, 0)
}

// attempt starts the next remediation attempt, unless a cooldown, a limit
// or the fleet budget holds it back, or the monitor is in dry run.
func (e *Engine) attempt(en ecs.Entity, h *ecs.Health, ep *ecs.Episode) {
	if e.l.draining {
		// No new repairs while shutting down.
		ep.Phase = ecs.PhaseBackoff
		return
	}
	s := e.store
	p, sc, _ := s.Monitors.Get(en)
	pl := s.Plugins.Get(en)
	pol := &pl.Policy
	now := e.nanotime() / int64(time.Millisecond)
	iv := int64(sc.Interval)

	if cd := pol.Cooldown.Milliseconds(); cd > 0 && pl.LastFix != 0 && now < pl.LastFix+cd {
		ep.Phase = ecs.PhaseBackoff
		ep.NextAttempt = pl.LastFix + cd
		return
	}
	if w := pol.Window.Milliseconds(); pol.Limit > 0 && w > 0 {
		k := 0
		for k < len(pl.Fixes) && pl.Fixes[k] <= now-w {
			k++
		}
		pl.Fixes = append(pl.Fixes[:0], pl.Fixes[k:]...)
		if len(pl.Fixes) >= pol.Limit {
			e.deny(en, h, ep, pl.Fixes[0]+w, fmt.Errorf("remediation limit: %d in %v", pol.Limit, pol.Window))
			return
		}
	}
	if err := e.l.budget.admit(e, en, now); err != nil {
		e.deny(en, h, ep, now+iv, err)
		return
	}
	ep.Attempts++
	if pol.DryRun || e.cfg.dryRun {
		e.stats.remediationsDryRun.Add(1)
		e.log.Info("dry run: remediation not run", "monitor", p.Name, "attempt", ep.Attempts)
		ep.Phase = ecs.PhaseGaveUp
		if !ep.Red {
			ep.Red = true
			e.raise(en, h, alert.Red, fmt.Errorf("%w (attempt %d)", ErrDryRun, ep.Attempts), ep.Since, int(ep.Attempts))
		}
		return
	}
	pl.LastFix = now
	if pol.Limit > 0 {
		pl.Fixes = append(pl.Fixes, now)
	}
	e.l.budget.started(e, en, now)
	ep.Phase = ecs.PhaseRemediating
	e.l.fixing++
	e.fix.submit(&call{
		kind:    callRemediate,
		e:       en,
		seq:     ep.Seq,
		attempt: int(ep.Attempts),
		timeout: time.Duration(sc.Timeout) * time.Millisecond,
		rem:     pl.Remediate,
		inc: intervene.Incident{
			Monitor:  p.Name,
			Attempt:  int(ep.Attempts),
			Err:      ep.LastErr,
			Since:    e.tickTime(ep.Since),
			Failures: int(h.Fails),
			Labels:   e.labels(en),
		},
	})
}

// deny holds back an attempt until the tick until, reporting the monitor
// red with the reason (once per episode).
func (e *Engine) deny(en ecs.Entity, h *ecs.Health, ep *ecs.Episode, until int64, reason error) {
	e.stats.remediationsDenied.Add(1)
	ep.Phase = ecs.PhaseLimited
	ep.NextAttempt = until
	if !ep.Red {
		ep.Red = true
		e.raise(en, h, alert.Red, reason, ep.Since, int(ep.Attempts))
	}
}

// backoff is the wait after the given number of failed attempts: base,
// doubling with each attempt, at most limit.
func backoff(base, limit int64, attempts uint16) int64 {
	d := base
	for i := uint16(1); i < attempts && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// maxAttempts is the monitor's attempt budget per incident.
func maxAttempts(pl *ecs.Plugins) uint16 {
	if pl.Policy.MaxAttempts > 0 {
		return uint16(min(pl.Policy.MaxAttempts, maxCount))
	}
	return pl.MaxRemediations
}

// attemptFailed handles an attempt that returned an error or whose repair
// did not hold. at is the tick the failure was seen at.
func (e *Engine) attemptFailed(en ecs.Entity, h *ecs.Health, ep *ecs.Episode, err error, at int64) {
	s := e.store
	pl := s.Plugins.Get(en)
	pl.LastFixErr = err
	if ep.Attempts < maxAttempts(pl) {
		iv := int64(s.Scheds.Get(en).Interval)
		base := iv
		if b := pl.Policy.Backoff.Milliseconds(); b > 0 {
			base = b
		}
		limit := max(base, int64(time.Hour/time.Millisecond))
		if m := pl.Policy.MaxBackoff.Milliseconds(); m > 0 {
			limit = max(m, base)
		}
		d := backoff(base, limit, ep.Attempts)
		if j := pl.Policy.Jitter; j > 0 {
			d += int64(rand.Float64() * min(j, 1) * float64(d))
		}
		ep.Phase = ecs.PhaseBackoff
		// Half an interval of slack: the next attempt starts with the first
		// failing check due once the backoff has passed.
		ep.NextAttempt = at + d - iv/2
		return
	}
	ep.Phase = ecs.PhaseGaveUp
	if !ep.Red {
		ep.Red = true
		e.raise(en, h, alert.Red, err, ep.Since, int(ep.Attempts))
	}
}

// remediated applies the outcome of a remediation attempt.
func (e *Engine) remediated(c *call) {
	e.l.fixing--
	e.stats.remediations.Add(1)
	if c.err != nil {
		e.stats.remediationsFailed.Add(1)
		e.log.Warn("remediation failed", "monitor", c.inc.Monitor, "attempt", c.attempt, "error", c.err)
	}
	s := e.store
	if !s.Alive(c.e) {
		return
	}
	h := s.Healths.Get(c.e)
	if h.Flags&ecs.FlagInEpisode == 0 {
		return // the episode closed meanwhile
	}
	ep := s.Episodes.Get(c.e)
	if ep.Seq != c.seq || ep.Phase != ecs.PhaseRemediating || int(ep.Attempts) != c.attempt {
		return
	}
	pl := s.Plugins.Get(c.e)
	pl.LastFixEnd = e.nanotime() / int64(time.Millisecond)
	pl.LastFixErr = c.err
	if c.err == nil {
		ep.Phase = ecs.PhaseVerifying
		h.Succs = 0
		if !ep.Red { // after a red, a cyan would break yellow? cyan* red? green
			e.raise(c.e, h, alert.Cyan, nil, ep.Since, c.attempt)
		}
		return
	}
	e.attemptFailed(c.e, h, ep, c.err, pl.LastFixEnd)
}

// raise records code as the monitor's current code and queues the alert
// behind any of the monitor's alerts still being delivered.
func (e *Engine) raise(en ecs.Entity, h *ecs.Health, code alert.Code, err error, since int64, attempt int) {
	e.raiseN(en, h, code, err, since, attempt, 0, 0)
}

// raiseN is raise with the reminder count of a repeated red and the flap
// mark. While the monitor flaps only flap alerts and gray are raised.
func (e *Engine) raiseN(en ecs.Entity, h *ecs.Health, code alert.Code, err error, since int64, attempt, repeat int, flap alert.Flap) {
	if h.Flags&ecs.FlagFlapping != 0 && flap == 0 && code != alert.Gray {
		return
	}
	h.Code = uint8(code)
	if h.Flags&ecs.FlagInEpisode != 0 {
		ep := e.store.Episodes.Get(en)
		ep.Sent = true
		if code == alert.Red && repeat == 0 && h.Flags&ecs.FlagRepeat != 0 {
			ep.LastRed = e.nanotime() / int64(time.Millisecond)
		}
	}
	s := e.store
	n, own := e.cfg.notifier, false
	labels := e.labels(en)
	if s.Plugins.Has(en) {
		pl := s.Plugins.Get(en)
		if pl.Notify != nil {
			n, own = pl.Notify, true
		}
	}
	if n == nil {
		return
	}
	if r, ok := n.(alert.Route); ok && r[code] == nil {
		return // the route sends nothing for this code: nothing to deliver
	}
	var sinceTime time.Time
	if since >= 0 {
		sinceTime = e.tickTime(since)
	}
	c := &call{kind: callNotify, e: en, notifier: n, alert: alert.Alert{
		Monitor:  s.Probes.Get(en).Name,
		Code:     code,
		Err:      err,
		At:       time.Now(),
		Since:    sinceTime,
		Failures: int(h.Fails),
		Attempt:  attempt,
		Repeat:   repeat,
		Labels:   labels,
		Flap:     flap,
	}}
	ln := e.l.lanes[en]
	if e.cfg.groupBy != "" && !e.l.draining {
		if v, ok := labels[e.cfg.groupBy]; ok {
			if id := notifierID(n, own); id != nil && e.join(en, ln, groupKey{id, v, code, flap}, n, c.alert) {
				return
			}
		}
	}
	if ln != nil {
		ln.q = append(ln.q, c)
		return
	}
	e.l.lanes[en] = &lane{}
	e.notify.submit(c)
}

// join adds a monitor's alert to the open group of key, opening one if
// needed, and reports whether it did. A monitor joins only groups newer
// than every group already in its lane: then a group waits only for older
// ones and no two groups wait for each other.
func (e *Engine) join(en ecs.Entity, ln *lane, key groupKey, n alert.Notifier, a alert.Alert) bool {
	l := &e.l
	g := l.groups[key]
	if g == nil {
		l.groupSeq++ // newer than every group in any lane
		g = &group{key: key, seq: l.groupSeq, due: e.nanotime() + int64(e.cfg.groupWait), waits: 1}
		g.call = &call{kind: callNotify, notifier: n, group: g}
		l.groups[key] = g
		l.groupQ = append(l.groupQ, g)
	} else if ln != nil && ln.top >= g.seq {
		return false // already in it, or in a newer group: sent on its own
	}
	g.members = append(g.members, en)
	g.alerts = append(g.alerts, a)
	if ln == nil {
		l.lanes[en] = &lane{top: g.seq} // the lane waits for the group
		return true
	}
	ln.q = append(ln.q, g.call)
	ln.top = g.seq
	g.waits++
	return true
}

// closeGroups stops the groups due by now from taking members and sends
// those whose members are ready.
func (e *Engine) closeGroups(now int64) {
	l := &e.l
	k := 0
	for k < len(l.groupQ) && l.groupQ[k].due <= now {
		g := l.groupQ[k]
		l.groupQ[k] = nil
		k++
		delete(l.groups, g.key) // takes no more members
		e.release(g)
	}
	l.groupQ = append(l.groupQ[:0], l.groupQ[k:]...)
}

// release drops one of the things a group waits for: its due time, or a
// member's earlier alert. The group is sent when nothing is left; it
// cannot be before it is due, which counts until then.
func (e *Engine) release(g *group) {
	if g.waits--; g.waits == 0 {
		e.sendGroup(g)
	}
}

// sendGroup hands a formed group to the alert pipeline: as a plain alert
// when it has one member.
func (e *Engine) sendGroup(g *group) {
	c := g.call
	c.group = nil
	if len(g.alerts) == 1 {
		c.e, c.alert = g.members[0], g.alerts[0]
		e.notify.submit(c)
		return
	}
	first := g.alerts[0]
	c.e = ecs.Entity{}
	c.alert = alert.Alert{
		Monitor:  e.cfg.groupBy + "=" + g.key.value,
		Code:     g.key.code,
		Err:      first.Err,
		At:       time.Now(),
		Since:    first.Since,
		Failures: first.Failures,
		Attempt:  first.Attempt,
		Labels:   map[string]string{e.cfg.groupBy: g.key.value},
		Flap:     g.key.flap,
		Group:    g.alerts,
	}
	e.stats.alertsGrouped.Add(uint64(len(g.alerts)))
	c.members = g.members
	e.notify.submit(c)
}

// advance moves a monitor's lane on once its current alert or group is
// delivered.
func (e *Engine) advance(en ecs.Entity) {
	ln := e.l.lanes[en]
	if ln == nil {
		return
	}
	if len(ln.q) == 0 {
		delete(e.l.lanes, en)
		return
	}
	next := ln.q[0]
	ln.q[0] = nil
	ln.q = ln.q[1:]
	if g := next.group; g != nil {
		e.release(g)
		return // the lane now waits for that group
	}
	e.notify.submit(next)
}

// dropLane forgets a removed monitor's waiting alerts; groups waiting for
// them go ahead.
func (e *Engine) dropLane(en ecs.Entity) {
	ln := e.l.lanes[en]
	if ln == nil {
		return
	}
	for _, c := range ln.q {
		if g := c.group; g != nil {
			e.release(g)
		}
	}
	ln.q = nil
}

// notified records a delivery and sends the monitor's next alert, if any.
func (e *Engine) notified(c *call) {
	if c.err == nil {
		e.stats.alertsSent.Add(1)
	} else {
		e.stats.alertsFailed.Add(1)
		e.log.Error("alert not delivered", "monitor", c.alert.Monitor, "code", c.alert.Code.String(),
			"tries", c.tries, "error", c.err)
	}
	if c.members != nil {
		for _, en := range c.members {
			e.advance(en)
		}
		return
	}
	e.advance(c.e)
}

// sizing reports whether the pipelines have anything to be sized for:
// work in flight, or workers above the minimum.
func (l *loopState) sizing() bool {
	return l.inflight > 0 || l.fixing > 0 || len(l.lanes) > 0 || l.sizeAgain
}

// resize re-sizes each pipeline from its measurements.
func (e *Engine) resize(now int64) {
	l := &e.l
	l.nextSize = now + int64(sizePeriod)
	at := e.epoch.Add(time.Duration(now))
	var st [3]SizingStats
	l.sizeAgain = false
	for i, c := range []struct {
		crew    *crew
		name    string
		backlog bool
		spawn   func()
	}{
		{&e.pulse.crew, "pulse", len(l.pending) > 0 || e.pulse.queued.Load() > 0, e.pulse.spawn},
		{&e.fix.crew, "intervention", len(e.fix.backlog) > 0 || e.fix.queued.Load() > 0, e.fix.spawn},
		{&e.notify.crew, "alert", len(e.notify.backlog) > 0 || e.notify.queued.Load() > 0, e.notify.spawn},
	} {
		live := int(c.crew.live.Load())
		before := int(c.crew.sz.target.Load())
		target, s := c.crew.sz.decide(e, at, live, c.backlog && c.crew.idle.Load() == 0)
		st[i] = s
		for ; live < target; live++ {
			c.spawn()
		}
		c.crew.shrinkTo(target)
		if target != before {
			e.log.Debug("pipeline re-sized", "pipeline", c.name, "workers", target, "was", before,
				"lambda", s.Lambda, "service", s.MeanService, "ca2", s.CA2, "cs2", s.CS2,
				"wait", s.Wait, "meets_slo", s.Meets)
		}
		if live > e.cfg.minWorkers || target > e.cfg.minWorkers {
			l.sizeAgain = true // keep sizing until the pool is back at its floor
		}
	}
	e.snapMu.Lock()
	e.pulse.sz.last, e.fix.sz.last, e.notify.sz.last = st[0], st[1], st[2]
	e.snapMu.Unlock()
}

// budget is the fleet-wide limit on remediations: how many run at once and
// how many start within a window, as a share of the monitors.
type budget struct {
	starts []int64            // start ticks within the window, oldest first
	groups map[string][]int64 // the same per value of the group budget's label
}

// within drops the ticks older than the window ending at now.
func within(starts []int64, now, window int64) []int64 {
	k := 0
	for k < len(starts) && starts[k] <= now-window {
		k++
	}
	return append(starts[:0], starts[k:]...)
}

func (b *budget) admit(e *Engine, en ecs.Entity, now int64) error {
	cfg := &e.cfg
	if cfg.fixConcurrent > 0 && e.l.fixing >= cfg.fixConcurrent {
		return fmt.Errorf("%w: %d remediations already running", ErrBudget, cfg.fixConcurrent)
	}
	if w := cfg.fixWindow.Milliseconds(); cfg.fixShare > 0 && w > 0 {
		b.starts = within(b.starts, now, w)
		allowed := max(1, int(cfg.fixShare*float64(e.monitors.Load())))
		if len(b.starts) >= allowed {
			return fmt.Errorf("%w: %d remediations in %v (%.3g%% of the fleet)", ErrBudget, allowed, cfg.fixWindow, cfg.fixShare*100)
		}
	}
	if lb := cfg.groupFixLabel; lb != "" {
		if v, ok := e.labels(en)[lb]; ok {
			starts := within(b.groups[v], now, cfg.groupFixWindow.Milliseconds())
			if len(starts) == 0 {
				delete(b.groups, v) // forget groups with nothing in the window
			} else {
				b.groups[v] = starts
			}
			allowed := max(1, int(cfg.groupFixShare*float64(e.groupSizes[v])))
			if len(starts) >= allowed {
				return fmt.Errorf("%w: %d remediations in %v (%.3g%% of %s=%s)", ErrBudget, allowed, cfg.groupFixWindow,
					cfg.groupFixShare*100, lb, v)
			}
		}
	}
	return nil
}

func (b *budget) started(e *Engine, en ecs.Entity, now int64) {
	if e.cfg.fixShare > 0 {
		b.starts = append(b.starts, now)
	}
	if lb := e.cfg.groupFixLabel; lb != "" {
		if v, ok := e.labels(en)[lb]; ok {
			if b.groups == nil {
				b.groups = make(map[string][]int64)
			}
			b.groups[v] = append(b.groups[v], now)
		}
	}
}

// setState changes a monitor's state and keeps the up and down counts.
func (e *Engine) setState(h *ecs.Health, st uint8) {
	if h.State == st {
		return
	}
	e.countState(h.State, -1)
	e.countState(st, 1)
	h.State = st
}

func (e *Engine) countState(st uint8, d int64) {
	switch st {
	case ecs.StateUp:
		e.nUp.Add(d)
	case ecs.StateDown:
		e.nDown.Add(d)
	}
}

// raiseGray sends gray for a monitor being paused. Before Start there is no
// alert pipeline: the code is recorded and nothing is sent.
func (e *Engine) raiseGray(en ecs.Entity, h *ecs.Health, since int64) {
	if e.l.lanes == nil {
		h.Code = uint8(alert.Gray)
		return
	}
	e.raise(en, h, alert.Gray, nil, since, 0)
}

// realign puts a monitor that checked at its retry interval back on its
// phase: the next check due at the interval's phase after its last check.
func (e *Engine) realign(en ecs.Entity, h *ecs.Health) {
	s := e.store
	sc := s.Scheds.Get(en)
	next := e.phaseDue(s.Probes.Get(en).Name, int64(sc.Interval), h.LastCheck+1)
	if next != sc.Due {
		sc.Due = next
		s.Wheel.Insert(en, next)
	}
}

// parentHolds reports whether a parent of a failing monitor holds its
// alerts and repairs: a parent that is failing or down, or one with no
// result since this monitor began to fail (the latter is checked at once,
// so the verdict comes soon), and one in maintenance. Paused parents and
// those not (or no longer) in the engine hold nothing.
func (e *Engine) parentHolds(en ecs.Entity, ep *ecs.Episode) bool {
	s := e.store
	hold := false
	for _, name := range s.Deps.Get(en).Set.Names {
		pe, ok := s.Lookup(name)
		if !ok {
			continue
		}
		ph := s.Healths.Get(pe)
		switch {
		case ph.Flags&ecs.FlagMaint != 0:
			return true // an outage of the parent is expected
		case ph.Flags&ecs.FlagPaused != 0:
		case ph.State == ecs.StateDown || ph.Flags&ecs.FlagInEpisode != 0:
			return true
		case ph.State == ecs.StateUnknown || ph.LastCheck < ep.Since:
			e.checkSoon(pe, ph)
			hold = true
		}
	}
	return hold
}

// checkSoon brings a monitor's next check forward to the next tick; the
// one after returns to its phase.
func (e *Engine) checkSoon(en ecs.Entity, h *ecs.Health) {
	if h.Flags&ecs.FlagInFlight != 0 {
		return // its result is on the way
	}
	s := e.store
	sc := s.Scheds.Get(en)
	if t := s.Wheel.Now() + 1; sc.Due > t {
		sc.Due = t
		s.Wheel.Insert(en, t)
		h.Flags |= ecs.FlagRephase
	}
}

// labels returns a monitor's labels, nil when it has none.
func (e *Engine) labels(en ecs.Entity) map[string]string {
	if s := e.store; s.Metas.Has(en) {
		return s.Metas.Get(en).Labels
	}
	return nil
}

// engineNotifier stands for the engine's notifier in group keys.
type engineNotifier struct{}

// notifierID identifies a notifier in a group key, so that only monitors
// sharing a notifier share groups: the notifier value when it can be a map
// key, the pointer of one that is a map, slice or function (an alert.Route
// shared by monitors with the same codes), and nil, meaning "do not
// group", for any other.
func notifierID(n alert.Notifier, own bool) any {
	if !own {
		return engineNotifier{}
	}
	type ref struct {
		t reflect.Type
		p uintptr
	}
	v := reflect.ValueOf(n)
	switch v.Kind() {
	case reflect.Map, reflect.Slice, reflect.Func, reflect.Pointer, reflect.Chan:
		return ref{v.Type(), v.Pointer()}
	}
	if v.Comparable() {
		return n
	}
	return nil
}
