package episode

import (
	"math"
	"math/bits"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/internal/backoff"
)

// Phase is where a monitor is in its life. Every phase from [Failing] on
// has an open episode; every phase from [Held] on is down.
type Phase uint8

// Phases.
const (
	Unknown     Phase = iota // no check has decided anything yet
	Up                       // healthy, no episode open
	Failing                  // an episode is open, not (yet) down
	Held                     // down, but a hold defers the incident
	Remediating              // down; attempt Attempts runs
	Verifying                // down; the attempt succeeded, checks verify it
	Backoff                  // down; the next attempt waits for Next
	Limited                  // down; the budget's verdict holds attempts until Next (red)
	GaveUp                   // down; the attempts are spent, or a dry run (red)
	Red                      // down, with no remediator (red)
)

var phaseNames = [...]string{"unknown", "up", "failing", "held", "remediating", "verifying", "backoff", "limited", "gave-up", "red"}

func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return "phase(?)"
}

// Open reports whether an episode is open.
func (p Phase) Open() bool { return p >= Failing }

// Down reports whether the monitor is down.
func (p Phase) Down() bool { return p >= Held }

// Hold says why a failing monitor tells nothing and starts no repair.
type Hold uint8

// Holds.
const (
	HoldNone   Hold = iota
	HoldParent      // a parent is failing, down or in maintenance, or its verdict is awaited
	HoldFlap        // the monitor flaps
)

// Flags are facts about the monitor that are not its phase.
type Flags uint8

// Flags.
const (
	Yellowed Flags = 1 << iota // yellow was raised in the open episode
	Reddened                   // red was raised in the open episode
	Told                       // an alert of the open episode was sent
	Paused                     // between Pause and Resume
	Maint                      // inside a maintenance window
	Clean                      // the ring of recent results holds no failure (set when there is no ring)

	Quiet = Paused | Maint
)

// Core is the part of the state every check touches. It is 8 bytes.
type Core struct {
	Phase Phase
	Hold  Hold
	Flags Flags
	Code  alert.Code // the last code raised; 0 for none
	Fails uint16     // consecutive failed checks (saturating)
	Succs uint16     // consecutive passed checks (saturating)
}

// Ep is the part of the state of an open episode. Times are Unix
// milliseconds.
type Ep struct {
	Start    int64  // when the episode began: its identity
	Next     int64  // before it no new attempt starts (Backoff, Limited); Remediating: the LastFix the attempt replaced
	LastRed  int64  // when the red or its last reminder was raised
	Attempts uint16 // remediation attempts started
	Repeats  uint16 // reminders raised
	Seq      uint16 // alerts of the episode sent
}

// State is everything the rules remember about one monitor: a plain value
// of 64 bytes, with no pointers, which the engine stores and may persist.
type State struct {
	Core
	Ep
	History uint64 // the last results, newest in bit 0: 1 failed
	WindowN uint8  // results the failure window counts: those since the last recovery
	LastFix int64  // Unix ms when the last attempt started (0: never); kept across episodes for the cooldown
}

// New is the state of a monitor that was just added.
func New() State { return State{Core: Core{Flags: Clean}} }

// Confirming reports whether the monitor fails but is not down yet: then a
// monitor with a retry interval is checked at that interval.
func (c Core) Confirming() bool { return c.Phase == Failing }

// QuickPass applies a passing check to a healthy monitor whose recent
// results hold no failure, the common case, as Step would: only the
// success count changes. It reports false, changing nothing, when the
// check needs Step.
func QuickPass(c *Core) bool {
	if c.Phase != Up || c.Flags&(Clean|Quiet) != Clean {
		return false
	}
	c.Succs = sat(c.Succs)
	return true
}

// Settings are a monitor's rules. They are comparable, so monitors with
// the same settings can share one copy. Durations are milliseconds.
type Settings struct {
	Interval      int64   // between checks
	Retry         int64   // between checks while failing and not down; 0: Interval
	Repeat        int64   // between reminders of a red; 0: none
	Backoff       int64   // after the first failed attempt; 0: Interval
	MaxBackoff    int64   // cap of the doubling backoff; 0: an hour (at least Backoff)
	Cooldown      int64   // after an attempt starts, before another may, across episodes
	Jitter        float64 // share of a backoff added at random, 0 to 1
	FailThreshold uint16  // failures before the monitor is down, at least 1
	SuccThreshold uint16  // passes before it is up again, at least 1
	Verify        uint16  // passes that verify a repair; 0: SuccThreshold
	MaxAttempts   uint16  // attempts per episode, at least 1 with a remediator
	FlapHigh      uint16  // weighted change sum (see FlapSum) at which flapping starts; 0: no flap detection
	FlapLow       uint16  // below it flapping ends; above 0
	FailureWindow uint8   // down on FailThreshold failures in the last FailureWindow results; 0: in a row
	Remediates    bool    // the monitor has a remediator
	DryRun        bool    // attempts are reported, not run
	Parents       bool    // the monitor depends on others
	Routes        uint8   // the codes its notifier takes: bit 1<<code
	// Quorum is read by the engine, not by Step: in a cluster, the
	// locations that must see a check fail for it to count as failed.
	Quorum uint8
}

// RouteAll is the Routes value of a notifier that takes every code.
const RouteAll uint8 = 1<<alert.Yellow | 1<<alert.Red | 1<<alert.Green | 1<<alert.Cyan | 1<<alert.Gray

// Kind is what happened.
type Kind uint8

// Event kinds.
const (
	Pass      Kind = iota + 1 // a check passed
	Fail                      // a check failed
	FixOK                     // a remediation attempt succeeded
	FixFailed                 // a remediation attempt failed (an error, a timeout, a panic)
	Pause                     // the monitor was paused
	Resume                    // it was resumed
	MaintIn                   // its first open maintenance window opened
	MaintOut                  // its last open maintenance window closed
	Remove                    // it was removed
	Restart                   // the engine restarted with the monitor's kept state: a running attempt was lost
	FixFenced                 // a remediation attempt never ran: the cluster fenced it off, and it does not count
)

var kindNames = [...]string{"", "pass", "fail", "fix-ok", "fix-failed", "pause", "resume", "maint-in", "maint-out", "remove", "restart", "fix-fenced"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(?)"
}

// Event is one thing that happened to a monitor.
type Event struct {
	Kind    Kind
	At      int64   // Unix ms when it happened
	Due     int64   // checks: Unix ms when the check was due
	Start   int64   // outcomes: the episode of the attempt
	Attempt uint16  // outcomes: the attempt
	Rand    uint32  // random bits, for jitter
	Parents Parents // failed checks of monitors with parents: on demand
	Verdict Verdict // when an attempt may start: on demand
}

// Parents is what the monitor's parents say about a failure of it.
type Parents struct {
	Known bool  // the fields below are filled in
	Hold  bool  // a parent is failing, down or in maintenance
	Last  int64 // Unix ms of the oldest last result among the other parents; math.MinInt64 if one has none
}

// NoParents is the Parents of a monitor whose parents are all fine, or
// gone.
var NoParents = Parents{Known: true, Last: math.MaxInt64}

// VerdictKind is the remediation budget's answer.
type VerdictKind uint8

// Verdicts.
const (
	VerdictUnknown VerdictKind = iota
	Allow                      // the attempt may start
	Deny                       // a limit or budget holds it until Until
	Drain                      // the engine is shutting down: no new attempt, nothing told
)

// Verdict says whether a remediation attempt may start now.
type Verdict struct {
	Kind  VerdictKind
	Until int64 // Deny: Unix ms when to try again
}

// Need lists inputs Step asks for.
type Need uint8

// Needs.
const (
	NeedParents Need = 1 << iota // fill in Event.Parents
	NeedVerdict                  // fill in Event.Verdict
)

// Sched says how to reschedule the monitor's next check.
type Sched uint8

// Schedule changes.
const (
	SchedKeep  Sched = iota
	SchedRetry       // bring the next check forward to At + Retry if that is sooner
	SchedPhase       // put the next check back on the monitor's phase
)

// Why says what an alert's error is.
type Why uint8

// Reasons.
const (
	WhyNone    Why = iota
	WhyCheck       // the last check's error (none after a pass)
	WhyFix         // the last remediation attempt's error
	WhyVerify      // the check that failed to verify a repair
	WhyVerdict     // the budget's reason for denying an attempt
	WhyDryRun      // the attempt was not run: dry run
	WhyPaused      // gray: paused
	WhyMaint       // gray: maintenance
	WhyRemoved     // gray: removed
)

// Alert is one alert raised by a step.
type Alert struct {
	Code    alert.Code
	Flap    alert.Flap
	Send    bool   // the notifier takes it; an alert not sent is only recorded as the monitor's code
	Why     Why    // what its error is
	Repeat  uint16 // reminders: the count
	Attempt uint16
	Fails   uint16
	Seq     uint16 // its number among the sent alerts of its episode; 0 when not sent or outside an episode
	Start   int64  // its episode; 0 when none is open
}

// Effects are what the engine must carry out after a step.
type Effects struct {
	// Need, when set, asks for inputs: step again from the same state with
	// them filled in. Nothing else in Effects is set then, and the state
	// returned is the one given.
	Need         Need
	N            uint8 // alerts raised, in order, in Alerts[:N]
	Alerts       [3]Alert
	Attempt      bool  // start attempt Attempts of episode Start
	Outcome      bool  // the remediation outcome was the current attempt's
	Unstarted    bool  // the current attempt was fenced off: take back what its start recorded
	Denied       bool  // an attempt was denied by the verdict
	DryRun       bool  // an attempt was not run: dry run
	FlapStart    bool  // flapping began
	CheckParents bool  // check the parents older than the episode at once
	Sched        Sched // how to reschedule the next check
}

// Raised returns the alerts raised.
func (fx *Effects) Raised() []Alert { return fx.Alerts[:fx.N] }

// Step applies ev to s under the rules c and returns the new state and
// what to do. It is a pure function: the same arguments give the same
// results, and it allocates nothing.
func Step(s State, c *Settings, ev Event) (State, Effects) {
	m := machine{s: s, c: c, ev: &ev}
	switch ev.Kind {
	case Pass, Fail:
		m.check()
	case FixOK, FixFailed, FixFenced:
		m.outcome()
	case Pause:
		m.quiet(Paused, true)
	case Resume:
		m.quiet(Paused, false)
	case MaintIn:
		m.quiet(Maint, true)
	case MaintOut:
		m.quiet(Maint, false)
	case Remove:
		m.remove()
	case Restart:
		m.restart()
	}
	if m.fx.Need != 0 {
		return s, Effects{Need: m.fx.Need}
	}
	return m.s, m.fx
}

type machine struct {
	s  State
	c  *Settings
	ev *Event
	fx Effects
}

func sat(v uint16) uint16 {
	if v == math.MaxUint16 {
		return v
	}
	return v + 1
}

// when is the time a decision is made at: a check's due time, which
// steps at the interval, or the time of any other event.
func (m *machine) when() int64 {
	if k := m.ev.Kind; k == Pass || k == Fail {
		return m.ev.Due
	}
	return m.ev.At
}

// raise raises an alert and returns it, or nil when the rules silence it:
// a quiet monitor raises only gray, a held one only flap alerts.
func (m *machine) raise(code alert.Code, flap alert.Flap, why Why) *Alert {
	s := &m.s
	if code != alert.Gray && (s.Flags&Quiet != 0 || (s.Hold != HoldNone && flap == 0)) {
		return nil
	}
	s.Code = code
	a := &m.fx.Alerts[m.fx.N]
	m.fx.N++
	*a = Alert{Code: code, Flap: flap, Why: why, Attempt: s.Attempts, Fails: s.Fails}
	send := m.c.Routes&(1<<code) != 0
	if code == alert.Green && s.Flags&Told == 0 {
		send = false // no green for an episode nobody heard of
	}
	if s.Phase.Open() {
		a.Start = s.Start
		if send {
			s.Seq++
			a.Seq = s.Seq
			if code != alert.Gray {
				s.Flags |= Told
			}
		}
	}
	a.Send = send
	return a
}

func (m *machine) red(why Why) {
	s := &m.s
	if s.Flags&Reddened != 0 {
		return
	}
	if m.raise(alert.Red, 0, why) != nil {
		s.Flags |= Reddened
		s.LastRed = m.when()
	}
}

func (m *machine) open() {
	s := &m.s
	s.Phase = Failing
	s.Hold = HoldNone
	s.Flags &^= Yellowed | Reddened | Told
	s.Ep = Ep{Start: m.ev.At}
}

// close ends the episode with a green (sent only if the episode was told).
func (m *machine) close(flap alert.Flap) {
	s := &m.s
	s.Hold = HoldNone
	m.raise(alert.Green, flap, WhyNone)
	s.Phase = Up
	s.Flags &^= Yellowed | Reddened | Told
	s.Ep = Ep{}
	s.WindowN = 0 // recovered: old failures no longer count in the window
}

func (m *machine) quiet(flag Flags, on bool) {
	s := &m.s
	if !on {
		s.Flags &^= flag
		return
	}
	was := s.Flags & Quiet
	s.Flags |= flag
	if was != 0 {
		return // already quiet: gray was raised
	}
	why := WhyPaused
	if flag == Maint {
		why = WhyMaint
	}
	m.raise(alert.Gray, 0, why)
}

func (m *machine) remove() {
	s := &m.s
	if s.Phase.Open() && s.Flags&Told != 0 {
		m.raise(alert.Gray, 0, WhyRemoved) // ends the told episode
	}
	*s = State{}
}

// restart goes on from a kept state: an attempt that was running when the
// engine stopped has no outcome to come, so it counts as failed (its
// error says it was interrupted) and the attempts go on counting.
func (m *machine) restart() {
	if m.s.Phase == Remediating {
		m.attemptFailed(WhyFix)
	}
}

func (m *machine) check() {
	s := &m.s
	if s.Flags&Quiet != 0 {
		return // the check ran while the monitor went quiet: it decides nothing
	}
	c := m.c
	fail := m.ev.Kind == Fail
	flapEnd := false
	if c.FailureWindow > 0 || c.FlapHigh > 0 {
		// A ring with no failure needs no passes: they would shift in
		// zeros.
		if fail || s.Flags&Clean == 0 {
			s.History <<= 1
			if fail {
				s.History |= 1
			}
			if s.WindowN < 64 {
				s.WindowN++
			}
			if s.History == 0 {
				s.Flags |= Clean
			} else {
				s.Flags &^= Clean
			}
		}
		if c.FlapHigh > 0 {
			sum := FlapSum(s.History)
			switch {
			case s.Hold == HoldFlap:
				flapEnd = sum < int(c.FlapLow)
			case sum >= int(c.FlapHigh):
				m.flapStart()
			}
		}
	}
	if fail {
		m.failed()
	} else {
		m.passed()
	}
	if m.fx.Need != 0 {
		return
	}
	if flapEnd {
		m.flapEnd()
	}
	if c.Retry > 0 && s.Phase != Failing {
		m.fx.Sched = SchedPhase
	}
}

func (m *machine) flapStart() {
	s := &m.s
	if !s.Phase.Open() {
		m.open() // the spell is an episode of its own
	}
	s.Hold = HoldFlap
	m.fx.FlapStart = true
	m.raise(alert.Yellow, alert.FlapStart, WhyCheck)
}

// need is the number of passes that end the episode.
func (m *machine) need() uint16 {
	if m.s.Phase == Verifying && m.c.Verify > 0 {
		return m.c.Verify
	}
	return m.c.SuccThreshold
}

func (m *machine) passed() {
	s := &m.s
	s.Fails = 0
	s.Succs = sat(s.Succs)
	if !s.Phase.Open() {
		s.Phase = Up
		return
	}
	if s.Succs < m.need() || s.Hold == HoldFlap {
		return // a spell's end tells the state
	}
	m.close(0)
}

func (m *machine) failed() {
	s, c, ev := &m.s, m.c, m.ev
	s.Succs = 0
	s.Fails = sat(s.Fails)
	if !s.Phase.Open() {
		m.open()
	}
	windowDown := false
	if c.FailureWindow > 0 {
		mask := uint64(1)<<min(c.FailureWindow, s.WindowN) - 1 // 64 wraps to all ones
		windowDown = bits.OnesCount64(s.History&mask) >= int(c.FailThreshold)
	}
	reached := s.Fails >= c.FailThreshold || windowDown
	if c.Retry > 0 && s.Fails == 1 && s.Phase == Failing {
		m.fx.Sched = SchedRetry // confirm sooner
	}
	if s.Hold != HoldFlap && c.Parents {
		p := ev.Parents
		if !p.Known {
			m.fx.Need |= NeedParents
			return
		}
		hold := p.Hold
		if !hold && p.Last < s.Start {
			hold = true // a parent has no result since this episode began
			m.fx.CheckParents = true
		}
		switch {
		case hold:
			s.Hold = HoldParent
		case s.Hold == HoldParent:
			// Released: the parents are fine, and this fresh failure
			// decides.
			s.Hold = HoldNone
			if s.Phase == Held {
				m.down()
				return
			}
		}
	}
	if s.Hold != HoldNone {
		// Track the state; tell nothing, repair nothing.
		if s.Phase == Failing && reached {
			s.Phase = Held
		}
		return
	}
	if s.Phase == GaveUp {
		m.red(WhyFix) // the red a hold or a quiet spell deferred
	}
	if c.Repeat > 0 && s.Flags&Reddened != 0 && s.Phase.Down() && ev.Due >= s.LastRed+c.Repeat {
		s.Repeats++
		s.LastRed = ev.Due
		if a := m.raise(alert.Red, 0, WhyCheck); a != nil {
			a.Repeat = s.Repeats
		}
	}
	// With flap detection a failure is told once it repeats: a target that
	// alternates is then told only by the flap alerts.
	if c.FailThreshold > 1 && s.Flags&Yellowed == 0 && s.Phase == Failing && (c.FlapHigh == 0 || s.Fails >= 2) {
		if m.raise(alert.Yellow, 0, WhyCheck) != nil {
			s.Flags |= Yellowed
		}
	}
	switch s.Phase {
	case Failing:
		if reached {
			m.down()
		}
	case Verifying:
		m.attemptFailed(WhyVerify)
	case Backoff, Limited:
		if ev.Due >= s.Next {
			m.attempt()
		}
	}
}

// down opens the incident of a monitor that just went down.
func (m *machine) down() {
	if m.c.Remediates {
		m.attempt()
		return
	}
	m.s.Phase = Red
	m.red(WhyCheck)
}

// attempt starts the next remediation attempt, unless the cooldown defers
// it or the verdict denies it, or the monitor is in dry run.
func (m *machine) attempt() {
	s, c, ev := &m.s, m.c, m.ev
	now := m.when()
	if c.Cooldown > 0 && s.LastFix != 0 && now < s.LastFix+c.Cooldown {
		s.Phase = Backoff
		s.Next = s.LastFix + c.Cooldown
		return
	}
	switch ev.Verdict.Kind {
	case VerdictUnknown:
		m.fx.Need |= NeedVerdict
		return
	case Drain:
		s.Phase = Backoff
		s.Next = now
		return
	case Deny:
		m.fx.Denied = true
		s.Phase = Limited
		s.Next = ev.Verdict.Until
		m.red(WhyVerdict)
		return
	}
	s.Attempts = sat(s.Attempts)
	if c.DryRun {
		m.fx.DryRun = true
		s.Phase = GaveUp
		m.red(WhyDryRun)
		return
	}
	s.Next = s.LastFix // given back if the attempt is fenced off
	s.LastFix = now
	s.Phase = Remediating
	m.fx.Attempt = true
}

// attemptFailed handles an attempt that failed or whose repair did not
// hold.
func (m *machine) attemptFailed(why Why) {
	s, c := &m.s, m.c
	if s.Attempts < c.MaxAttempts {
		base := c.Backoff
		if base <= 0 {
			base = c.Interval
		}
		limit := max(base, hour)
		if c.MaxBackoff > 0 {
			limit = max(c.MaxBackoff, base)
		}
		d := backoff.Delay(base, limit, int(s.Attempts), c.Jitter, m.ev.Rand)
		s.Phase = Backoff
		// Half an interval of slack: the next attempt starts with the first
		// failing check due once the backoff has passed.
		s.Next = m.when() + d - c.Interval/2
		return
	}
	s.Phase = GaveUp
	m.red(why)
}

const hour = 3600 * 1000

func (m *machine) outcome() {
	s, ev := &m.s, m.ev
	if !s.Phase.Open() || ev.Start != s.Start || s.Phase != Remediating || ev.Attempt != s.Attempts {
		return // an outcome of an attempt that is no longer the current one
	}
	if ev.Kind == FixFenced {
		// The attempt never ran: it is not counted, and the next failing
		// check starts it again (here or at the next owner of the
		// monitor's shard), as if it had not started.
		m.fx.Unstarted = true
		s.Attempts--
		s.LastFix, s.Next = s.Next, m.when()
		s.Phase = Backoff
		return
	}
	m.fx.Outcome = true
	if ev.Kind == FixFailed {
		m.attemptFailed(WhyFix)
		return
	}
	s.Phase = Verifying
	s.Succs = 0
	if s.Flags&Reddened == 0 { // after a red, a cyan would break the grammar
		m.raise(alert.Cyan, 0, WhyNone)
	}
}

// flapEnd ends a spell of flapping: one alert tells the monitor's state
// now, and what the spell held back (an attempt, the red) goes ahead.
func (m *machine) flapEnd() {
	s := &m.s
	s.Hold = HoldNone
	if s.Succs >= m.need() {
		m.close(alert.FlapEnd)
		return
	}
	switch {
	case s.Phase == Held && m.c.Remediates:
		s.Flags |= Yellowed
		m.raise(alert.Yellow, alert.FlapEnd, WhyCheck)
		m.attempt()
	case s.Phase == Held || (s.Phase == GaveUp && s.Flags&Reddened == 0):
		if s.Phase == Held {
			s.Phase = Red
		}
		s.Flags |= Reddened
		s.LastRed = m.when()
		m.raise(alert.Red, alert.FlapEnd, WhyCheck)
	case s.Phase.Down() && s.Flags&Reddened != 0:
		m.raise(alert.Red, alert.FlapEnd, WhyCheck)
	default:
		s.Flags |= Yellowed
		m.raise(alert.Yellow, alert.FlapEnd, WhyCheck)
	}
}

// FlapSum is the weighted number of state changes among the last 21
// results in h (newest in bit 0): 20 transitions, the newest weighing 1.2
// and the oldest 0.8, scaled by 95. All 20 changed gives 1900, so a sum
// of 19*p is p percent.
func FlapSum(h uint64) int {
	x := (h ^ h>>1) & (1<<20 - 1)
	sum := 0
	for x != 0 {
		i := bits.TrailingZeros64(x)
		sum += 114 - 2*i
		x &= x - 1
	}
	return sum
}
