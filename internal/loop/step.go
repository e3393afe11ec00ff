package loop

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/alerts"
	"github.com/ziad/cpra/internal/budget"
	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/internal/fixpipe"
	"github.com/ziad/cpra/internal/persist"
	"github.com/ziad/cpra/intervene"
)

// step feeds one event to a monitor's episode machine: it loads the
// state from the monitor's components, steps (again, with the inputs the
// machine asks for), stores the new state once and carries out the
// effects. err is the event's error: the check's for a failed check, the
// attempt's for a failed attempt. It runs where the store's owner runs.
func (e *Engine) step(en ecs.Entity, ev episode.Event, err error) {
	s := e.store
	h := s.Health(en) // en is alive: its other components are read unchecked
	if h.Rules&ecs.Away != 0 && ev.Kind != episode.Remove {
		return // another engine of the cluster runs it
	}
	rules := &e.rules.list[h.RulesIndex()]
	st := episode.State{Core: h.Core}
	checkErr := err
	var ep *episode.Ep
	var lastErr *error
	if st.Phase.Open() {
		ep, lastErr = s.Episode(en)
		st.Ep = *ep
		if ev.Kind != episode.Fail {
			checkErr = *lastErr
		}
	}
	ring := rules.FailureWindow > 0 || rules.FlapHigh > 0
	if ring {
		st.History, st.WindowN = s.Rings.GetUnchecked(en).History, s.Windows.GetUnchecked(en).N
	}
	var pl *ecs.Plugins
	if rules.Remediates {
		pl = s.Plugins.GetUnchecked(en)
		st.LastFix = pl.LastFix
	}
	if rules.Jitter > 0 {
		ev.Rand = rand.Uint32()
	}
	next, fx := episode.Step(st, rules, ev)
	for fx.Need != 0 { // at most twice: each input is filled in once
		if fx.Need&episode.NeedParents != 0 && !ev.Parents.Known {
			ev.Parents = e.parentFacts(en)
		}
		if fx.Need&episode.NeedVerdict != 0 && ev.Verdict.Kind == episode.VerdictUnknown {
			ev.Verdict = e.verdict(en, pl, ev)
		}
		next, fx = episode.Step(st, rules, ev)
	}

	// Store: the episode opens, changes or closes.
	if ev.Kind == episode.Remove {
		next.Core = h.Core // the caller forgets the monitor after the effects
	} else if next.Phase.Open() {
		if ep == nil {
			ep, lastErr = s.OpenEpisode(en)
		}
		*ep = next.Ep
		if ev.Kind == episode.Fail {
			*lastErr = err
		}
	} else if st.Phase.Open() {
		s.EndEpisode(en)
	}
	if h.Phase != next.Phase {
		e.count(h.Phase, -1)
		e.count(next.Phase, 1)
	}
	h.Core = next.Core
	if ring {
		s.Rings.GetUnchecked(en).History, s.Windows.GetUnchecked(en).N = next.History, next.WindowN
	}
	if pl != nil {
		pl.LastFix = next.LastFix
	}
	if e.keep != nil && ev.Kind != episode.Remove && !persist.Same(&st, &next) && (persist.Worth(&st) || persist.Worth(&next)) {
		e.markDirty(en, h)
	}
	e.effects(en, h, &next, &fx, ev, err, checkErr)
}

// effects carries out what a step asks for.
func (e *Engine) effects(en ecs.Entity, h *ecs.Health, st *episode.State, fx *episode.Effects, ev episode.Event, err, checkErr error) {
	s := e.store
	if fx.Outcome {
		pl := s.Plugins.Get(en)
		pl.LastFixEnd = e.tickNow()
		pl.LastFixErr = err
	}
	for _, a := range fx.Raised() {
		var aerr error
		switch a.Why {
		case episode.WhyCheck:
			aerr = checkErr
			if a.Fails == 0 && ev.Kind != episode.Fail {
				aerr = nil
			}
		case episode.WhyFix:
			if ev.Kind == episode.FixFailed {
				aerr = err
			} else if s.Plugins.Has(en) {
				aerr = s.Plugins.Get(en).LastFixErr
			}
		case episode.WhyVerify:
			aerr = fmt.Errorf("verification failed: %w", checkErr)
			s.Plugins.Get(en).LastFixErr = aerr
		case episode.WhyVerdict:
			aerr = e.l.denied
		case episode.WhyDryRun:
			aerr = fmt.Errorf("%w (attempt %d)", e.errs.DryRun, a.Attempt)
		}
		if a.Send {
			e.raise(en, &a, aerr)
		}
	}
	if fx.Denied {
		e.stats.remediationsDenied.Add(1)
	}
	if fx.DryRun {
		e.stats.remediationsDryRun.Add(1)
		e.log.Info("dry run: remediation not run", "monitor", s.Name(en), "attempt", st.Attempts)
	}
	if fx.FlapStart {
		e.stats.flapStarts.Add(1)
	}
	if fx.Attempt {
		e.startAttempt(en, h, st, checkErr)
	}
	if fx.CheckParents {
		e.checkParents(en, st.Start)
	}
	switch fx.Sched {
	case episode.SchedRetry:
		// Confirm sooner: bring the next check forward (the old wheel
		// entry goes stale).
		sc := s.Scheds.Get(en)
		if r := h.LastCheck() + e.rules.list[h.RulesIndex()].Retry; r < sc.Due {
			sc.Due = r
			s.Wheel.Insert(en, r)
		}
	case episode.SchedPhase:
		e.realign(en, h)
	}
}

// startAttempt hands a remediation attempt to the intervention pipeline.
func (e *Engine) startAttempt(en ecs.Entity, h *ecs.Health, st *episode.State, lastErr error) {
	s := e.store
	pl := s.Plugins.Get(en)
	at := e.unix(e.tickNow())
	if pl.Limit > 0 {
		pl.Fixes = append(pl.Fixes, at)
		e.markDirty(en, h)
	}
	e.budget.Started(at, e.labels(en))
	if k := e.keep; k != nil && e.budget.Counts() {
		if !k.budgetNew && len(k.dirty) == 0 && len(k.changes) == 0 {
			k.first = e.nanotime()
		}
		k.budgetNew = true
	}
	e.l.fixing++
	shard := 0
	if e.cfg.Cluster != nil {
		shard = e.shardOf(s.Name(en))
	}
	c := &fixpipe.Call{
		Shard:   shard,
		E:       en,
		Start:   st.Start,
		At:      at,
		Attempt: int(st.Attempts),
		Timeout: time.Duration(pl.FixTimeout) * time.Millisecond,
		Rem:     pl.Remediate,
		Inc: intervene.Incident{
			Monitor:  s.Name(en),
			Attempt:  int(st.Attempts),
			Err:      lastErr,
			Since:    time.UnixMilli(st.Start),
			Failures: int(h.Fails),
			Labels:   e.labels(en),
		},
	}
	if k := e.keep; k != nil && e.cfg.Cluster == nil {
		// Written ahead: the attempt starts once its number is recorded,
		// so that a kill -9 as it starts restarts into the next attempt,
		// never the same number again (at most one attempt is lost to a
		// kill). In a cluster the attempt would be fenced off once its
		// shard is handed over, and its number lost to the next owner:
		// there the state follows the shard as it is at the handover.
		e.markDirty(en, h)
		k.heldFixes = append(k.heldFixes, heldFix{batch: k.sent + 1, c: c})
		return
	}
	if e.cfg.Cluster != nil {
		if e.l.calls == nil {
			e.l.calls = map[ecs.Entity]*fixpipe.Call{}
		}
		e.l.calls[en] = c
	}
	e.fix.Submit(c)
}

// parentFacts gathers what a failing monitor's parents say: whether one
// holds it (failing, down or in maintenance) and the oldest last result
// among the others. Paused parents and those not in the engine hold
// nothing.
func (e *Engine) parentFacts(en ecs.Entity) episode.Parents {
	s := e.store
	p := episode.Parents{Known: true, Last: math.MaxInt64}
	for _, name := range e.parentsOf(en).Names {
		pe, ok := s.Lookup(name)
		if !ok {
			continue
		}
		ph := s.Healths.Get(pe)
		switch {
		case ph.Flags&episode.Maint != 0:
			p.Hold = true // an outage of the parent is expected
		case ph.Flags&episode.Paused != 0:
		case ph.Phase.Open():
			p.Hold = true
		case ph.Phase == episode.Unknown:
			p.Last = math.MinInt64
		default:
			p.Last = min(p.Last, e.unix(ph.LastCheck()))
		}
	}
	return p
}

// checkParents checks at once the parents with no result since a child's
// episode began.
func (e *Engine) checkParents(en ecs.Entity, since int64) {
	s := e.store
	for _, name := range e.parentsOf(en).Names {
		pe, ok := s.Lookup(name)
		if !ok {
			continue
		}
		ph := s.Healths.Get(pe)
		if ph.Flags&episode.Quiet == 0 && !ph.Phase.Open() && (ph.Phase == episode.Unknown || e.unix(ph.LastCheck()) < since) {
			e.checkSoon(pe, ph)
		}
	}
}

// verdict says whether a remediation attempt of the monitor may start
// now: not while shutting down, nor beyond the monitor's own limit or the
// budgets. The reason of a denial is kept for the red it raises.
func (e *Engine) verdict(en ecs.Entity, pl *ecs.Plugins, ev episode.Event) episode.Verdict {
	if e.l.draining {
		return episode.Verdict{Kind: episode.Drain}
	}
	now := ev.At
	if ev.Kind == episode.Pass || ev.Kind == episode.Fail {
		now = ev.Due
	}
	if pl.Limit > 0 {
		var until int64
		var err error
		if pl.Fixes, until, err = budget.Own(pl.Fixes, int(pl.Limit), pl.Window, now); err != nil {
			e.l.denied = err
			return episode.Verdict{Kind: episode.Deny, Until: until}
		}
	}
	if err := e.budget.Admit(now, e.l.fixing, int(e.monitors.Load()), e.labels(en)); err != nil {
		e.l.denied = err
		iv := e.rules.interval(e.store.Healths.Get(en))
		return episode.Verdict{Kind: episode.Deny, Until: now + iv}
	}
	return episode.Verdict{Kind: episode.Allow}
}

// raise hands one alert of a monitor to the alert path; one raised before
// Start waits for it (a kept state that resumes may raise a red).
func (e *Engine) raise(en ecs.Entity, a *episode.Alert, err error) {
	if !e.l.started {
		e.early = append(e.early, early{en: en, a: *a, err: err})
		return
	}
	n, own := e.notifierOf(en)
	if n == nil {
		return
	}
	p := alerts.Pending{
		Err:     err,
		Start:   a.Start,
		At:      time.Now().UnixMilli(),
		Code:    a.Code,
		Flap:    a.Flap,
		Repeat:  a.Repeat,
		Attempt: a.Attempt,
		Fails:   a.Fails,
		Seq:     a.Seq,
		Ends:    a.Code == alert.Green || a.Why == episode.WhyRemoved,
	}
	if e.keep != nil {
		e.outboxPut(en, n, own, p, e.labels(en))
		return
	}
	e.alerts.Raise(en, n, own, p, e.labels(en))
}

// count keeps the up and down counts as a monitor moves between phases.
func (e *Engine) count(p episode.Phase, d int64) {
	switch {
	case p.Down():
		e.nDown.Add(d)
	case p != episode.Unknown:
		e.nUp.Add(d)
		if p == episode.Failing {
			e.nFailing.Add(d)
		}
	}
}

// early is an alert raised before Start.
type early struct {
	en  ecs.Entity
	a   episode.Alert
	err error
}

// raiseEarly sends the alerts raised before Start, of the monitors still
// in the engine.
func (e *Engine) raiseEarly() {
	for i := range e.early {
		if x := &e.early[i]; e.store.Alive(x.en) {
			e.raise(x.en, &x.a, x.err)
		}
	}
	e.early = nil
}
