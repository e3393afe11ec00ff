package episode

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ziad/cpra/alert"
)

// The model test drives Step through every sequence of up to maxDepth
// events, for every combination of a matrix of settings, and checks each
// step and each sequence against the rules of the package doc.
//
// Sequences that lead to the same configuration (the machine's state, the
// environment's and the checker's, with times taken relative to now) have
// the same futures: Step is deterministic and depends on time differences
// only (TestStepShiftInvariant checks that). So the search visits each
// configuration once per depth and still covers every sequence; the count
// of sequences it covers is the number of all sequences, and the work is
// the number of distinct configurations. TestModelAgreesWithBruteForce
// checks that claim against a plain enumeration of shorter sequences.

// The events of the model. fix-error and fix-timeout are both a FixFailed
// to the machine (the engine turns a timeout into a failed attempt).
type mev uint8

const (
	evPass mev = iota
	evFail
	evFixOK
	evFixErr
	evFixTimeout
	evParentDown
	evParentUp
	evPause
	evResume
	evMaintIn
	evMaintOut
	evBudgetDenied // a failing check while the budget denies attempts
	evRemove       // the monitor is removed and added again
	evRestart      // the engine restarts from the monitor's kept state
	evFixFenced    // the running attempt's outcome: a cluster fenced it off before it ran
	numEvents
)

var mevNames = [...]string{"pass", "fail", "fix-ok", "fix-error", "fix-timeout", "parent-down", "parent-up",
	"pause", "resume", "maint-in", "maint-out", "budget-denied", "remove", "restart", "fix-fenced"}

const (
	maxDepth = 8
	step     = 1000 // ms between events: one interval
)

// env is the world around the monitor.
type env struct {
	parentDown bool
	parentLast int64 // when the parent last had a result (relative to now in keys)
	pending    bool  // an attempt runs
	fixStart   int64 // the episode and attempt of the last attempt started
	fixAttempt uint16
	maint      bool
}

// gstate is the checker's position in the grammar of the followed episode.
type gstate uint8

const (
	gNone   gstate = iota // no episode followed
	gStart                // nothing raised yet
	gYellow               // after Y, or after a spell ending in Ey
	gCyan                 // after C
	gRed                  // after R, r or Er
	gSpell                // between S and E
	gClosed               // after G, Eg or Xr
)

// checker follows the raised and sent alerts of the current episode.
type checker struct {
	ep        int64 // the followed episode's start; 0 for none
	g         gstate
	redBefore bool   // in a spell: a red was raised before it
	reps      uint16 // last reminder count
	told      bool   // a non-gray alert of the episode was sent
	seq       uint16 // last Seq sent
}

type config struct {
	s   State
	env env
	ck  checker
}

// key is the configuration's class: what the future depends on, with
// times relative to now. Times that can no longer matter are dropped: the
// last attempt's start without a cooldown (and the one a running attempt
// replaced), a reminder's time once a reminder is due anyway, a backoff
// that has passed, the last attempt once its outcome is stale, and the
// parent's last result beyond whether it is older than the episode.
type key struct {
	s          State
	env        env
	ck         checker
	parentOld  bool
	fixCurrent bool
}

func (cfg config) key(now int64, c *Settings) key {
	k := key{s: cfg.s, env: cfg.env, ck: cfg.ck}
	k.s.LastFix = 0 // no cooldown in the matrix
	if k.s.Start != 0 {
		k.s.Start = 1
	}
	if c.Repeat == 0 || k.s.LastRed == 0 {
		k.s.LastRed = 0
	} else {
		k.s.LastRed = max(k.s.LastRed-now, -c.Repeat-1)
	}
	switch {
	case k.s.Phase == Remediating:
		k.s.Next = 0 // the LastFix the attempt replaced: no cooldown either
	case k.s.Next != 0:
		k.s.Next = max(k.s.Next-now, -1)
	}
	k.parentOld = cfg.s.Start != 0 && cfg.env.parentLast < cfg.s.Start
	k.env.parentLast = 0
	k.fixCurrent = cfg.env.pending && cfg.env.fixStart == cfg.s.Start && cfg.env.fixAttempt == cfg.s.Attempts
	k.env.fixStart, k.env.fixAttempt = 0, 0
	if k.ck.ep != 0 {
		k.ck.ep = 2
		if cfg.ck.ep == cfg.s.Start {
			k.ck.ep = 1
		}
	}
	return k
}

type settingsCase struct {
	name string
	c    Settings
}

// matrix is every combination of: failure threshold 1-3, success
// threshold 1-3, failure window off/on, flap detection off/on,
// remediator none / one attempt / three attempts, reminders off/on,
// parents off/on, a notifier taking every code or only red, green and
// gray.
func matrix(short bool) []settingsCase {
	var out []settingsCase
	sts := []uint16{1, 2, 3}
	if short {
		sts = []uint16{2}
	}
	for ft := uint16(1); ft <= 3; ft++ {
		for _, st := range sts {
			for _, window := range []uint8{0, 4} {
				for _, flap := range []bool{false, true} {
					for _, rem := range []uint16{0, 1, 3} {
						for _, repeat := range []int64{0, 2 * step} {
							for _, parents := range []bool{false, true} {
								for _, routes := range []uint8{RouteAll, 1<<alert.Red | 1<<alert.Green | 1<<alert.Gray} {
									c := Settings{Interval: step, Repeat: repeat, FailThreshold: ft, SuccThreshold: st,
										FailureWindow: window, MaxAttempts: rem, Remediates: rem > 0, Parents: parents, Routes: routes}
									if flap {
										c.FlapHigh, c.FlapLow = 20*19, 10*19
									}
									name := fmt.Sprintf("ft%d st%d w%d flap%v fix%d rep%v par%v routes%b", ft, st, window, flap, rem,
										repeat > 0, parents, routes)
									out = append(out, settingsCase{name, c})
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

// run applies one model event at time now to cfg and checks every step
// invariant. It returns the new configuration, or an error.
func run(cfg config, c *Settings, e mev, now int64) (config, error) {
	var ev Event
	switch e {
	case evPass:
		ev = Event{Kind: Pass}
	case evFail, evBudgetDenied:
		ev = Event{Kind: Fail}
	case evFixOK, evFixErr, evFixTimeout, evFixFenced:
		ev = Event{Kind: FixOK, Start: cfg.env.fixStart, Attempt: cfg.env.fixAttempt}
		switch e {
		case evFixErr, evFixTimeout:
			ev.Kind = FixFailed
		case evFixFenced:
			ev.Kind = FixFenced
		}
	case evParentDown:
		cfg.env.parentDown = true
		return cfg, nil
	case evParentUp:
		if cfg.env.parentDown {
			cfg.env.parentDown = false
			cfg.env.parentLast = now // its recovery is a fresh result
		}
		return cfg, nil
	case evPause:
		ev = Event{Kind: Pause}
	case evResume:
		ev = Event{Kind: Resume}
	case evMaintIn:
		if cfg.env.maint {
			return cfg, nil // the engine counts overlapping windows
		}
		cfg.env.maint = true
		ev = Event{Kind: MaintIn}
	case evMaintOut:
		if !cfg.env.maint {
			return cfg, nil
		}
		cfg.env.maint = false
		ev = Event{Kind: MaintOut}
	case evRemove:
		ev = Event{Kind: Remove}
	case evRestart:
		// What the store keeps: the counters and recent results start
		// again, and a running attempt's outcome never comes.
		kept := cfg.s
		kept.Fails, kept.Succs, kept.History, kept.WindowN = 0, 0, 0, 0
		kept.Flags |= Clean
		cfg.s = kept
		cfg.env.pending = false
		ev = Event{Kind: Restart}
	}
	ev.At, ev.Due = now+5, now
	ev.Rand = 1 << 31
	stale := ev.Kind == FixOK || ev.Kind == FixFailed || ev.Kind == FixFenced
	if stale && cfg.env.pending {
		cfg.env.pending, stale = false, false
	}

	before := cfg.s
	s, fx := Step(before, c, ev)
	for range 2 {
		if fx.Need == 0 {
			break
		}
		if s != before {
			return cfg, fmt.Errorf("a step asking for %b changed the state", fx.Need)
		}
		if fx.Need&NeedParents != 0 {
			if !c.Parents {
				return cfg, fmt.Errorf("asked for parents of a monitor with none")
			}
			ev.Parents = Parents{Known: true, Hold: cfg.env.parentDown, Last: cfg.env.parentLast}
		}
		if fx.Need&NeedVerdict != 0 {
			ev.Verdict = Verdict{Kind: Allow}
			if e == evBudgetDenied {
				ev.Verdict = Verdict{Kind: Deny, Until: now + 2*step}
			}
		}
		s, fx = Step(before, c, ev)
	}
	if fx.Need != 0 {
		return cfg, fmt.Errorf("still asking for %b with every input filled in", fx.Need)
	}

	// Step invariants.
	if err := consistent(s); err != nil {
		return cfg, err
	}
	if stale && (s != before || fx.N != 0 || fx.Attempt || fx.Outcome || fx.Unstarted) {
		return cfg, fmt.Errorf("an outcome of an attempt that is not running changed something: %+v -> %+v", before, s)
	}
	if ev.Kind == FixFenced && !stale {
		// Not run: the attempt is taken back whole, and nothing is told.
		want := before
		want.Attempts--
		want.Phase, want.Next, want.LastFix = Backoff, ev.At, before.Next
		if s != want || fx.N != 0 || fx.Attempt || fx.Outcome || !fx.Unstarted {
			return cfg, fmt.Errorf("a fenced attempt: %+v -> %+v, effects %+v", before, s, fx)
		}
	}
	if ev.Kind == Pass {
		core := before.Core
		if QuickPass(&core) {
			want := before
			want.Core = core
			if s != want || fx.N != 0 || fx.Attempt || fx.CheckParents {
				return cfg, fmt.Errorf("QuickPass disagrees with Step: %+v vs %+v", want, s)
			}
		}
	}
	quietBefore := before.Flags&Quiet != 0
	for _, a := range fx.Raised() {
		if a.Code == alert.Gray {
			if a.Why == WhyRemoved {
				if ev.Kind != Remove {
					return cfg, fmt.Errorf("a removal gray on %v", ev.Kind)
				}
			} else if quietBefore || s.Flags&Quiet == 0 {
				return cfg, fmt.Errorf("gray raised without going quiet")
			}
			continue
		}
		if quietBefore || s.Flags&Quiet != 0 {
			return cfg, fmt.Errorf("%v raised while quiet", a.Code)
		}
		if a.Flap == 0 && (before.Hold != HoldNone && s.Hold != HoldNone) {
			return cfg, fmt.Errorf("%v raised while held", a.Code)
		}
	}
	if fx.Attempt {
		switch {
		case !c.Remediates || c.DryRun:
			return cfg, fmt.Errorf("an attempt without a remediator")
		case s.Flags&Quiet != 0 || s.Hold != HoldNone:
			return cfg, fmt.Errorf("an attempt while quiet or held (hold %d)", s.Hold)
		case e == evBudgetDenied || ev.Verdict.Kind != Allow:
			return cfg, fmt.Errorf("an attempt the budget denied")
		case s.Phase != Remediating:
			return cfg, fmt.Errorf("an attempt started in phase %v", s.Phase)
		case cfg.env.pending:
			return cfg, fmt.Errorf("a second attempt while one runs")
		}
		cfg.env.pending, cfg.env.fixStart, cfg.env.fixAttempt = true, s.Start, s.Attempts
	}
	if cfg.env.pending && (s.Start != cfg.env.fixStart || s.Phase != Remediating) {
		// The episode moved on: the attempt's outcome will be stale.
		cfg.env.pending = false
	}
	if fx.CheckParents {
		if !c.Parents || cfg.env.parentDown {
			return cfg, fmt.Errorf("parents checked soon while none or a down one")
		}
		cfg.env.parentLast = now + 1 // the parent is checked at once and passes
	}
	if err := cfg.ck.follow(c, ev.Kind, fx.Raised(), s); err != nil {
		return cfg, err
	}
	cfg.s = s
	return cfg, nil
}

// consistent checks the state for combinations the rules never make.
func consistent(s State) error {
	switch {
	case s.Phase > Red:
		return fmt.Errorf("phase %d", s.Phase)
	case s.Phase.Open() != (s.Start != 0):
		return fmt.Errorf("phase %v with episode start %d", s.Phase, s.Start)
	case !s.Phase.Open() && (s.Ep != Ep{} || s.Hold != HoldNone || s.Flags&(Yellowed|Reddened|Told) != 0):
		return fmt.Errorf("closed with episode data: %+v", s)
	case s.Phase == Up && s.Fails != 0:
		return fmt.Errorf("up with %d failures", s.Fails)
	case s.Phase == Held && s.Hold == HoldNone:
		return fmt.Errorf("held with no hold")
	case s.Flags&Clean != 0 && s.History != 0:
		return fmt.Errorf("clean with a failure in the history")
	}
	return nil
}

// follow checks the alerts of one step against the grammar.
func (ck *checker) follow(c *Settings, k Kind, as []Alert, s State) error {
	for _, a := range as {
		if a.Code == alert.Gray && a.Why != WhyRemoved {
			if a.Start != 0 && a.Start != ck.ep {
				ck.start(a.Start) // an episode that raised nothing before
			}
			if a.Send && a.Start != 0 {
				if a.Seq != ck.seq+1 {
					return fmt.Errorf("gray with Seq %d after %d", a.Seq, ck.seq)
				}
				ck.seq = a.Seq
			}
			continue
		}
		if a.Start == 0 {
			return fmt.Errorf("%v raised outside an episode", a.Code)
		}
		if a.Start != ck.ep {
			ck.start(a.Start)
		}
		tok := token(a)
		if err := ck.move(tok, a); err != nil {
			return err
		}
		if a.Send {
			if a.Seq != ck.seq+1 {
				return fmt.Errorf("%s sent with Seq %d after %d", tok, a.Seq, ck.seq)
			}
			ck.seq = a.Seq
		}
		closing := tok == "G" || tok == "Eg" || tok == "Xr"
		if closing {
			wantSend := ck.told && (c.Routes&(1<<a.Code) != 0)
			if a.Send != wantSend {
				return fmt.Errorf("%s of an episode told %v sent %v", tok, ck.told, a.Send)
			}
		}
		if a.Send {
			ck.told = true
		}
		if (c.Routes&(1<<a.Code) != 0) != a.Send && !closing {
			return fmt.Errorf("%s sent %v with routes %b", tok, a.Send, c.Routes)
		}
	}
	if ck.g == gClosed && s.Phase.Open() && s.Start == ck.ep {
		return fmt.Errorf("the episode was closed but is still open")
	}
	if ck.g != gClosed && ck.g != gNone && !s.Phase.Open() && k != Remove {
		return fmt.Errorf("the episode ended without green (in %d)", ck.g)
	}
	if k == Remove {
		if ck.g != gClosed && ck.told {
			return fmt.Errorf("a told episode was removed without gray")
		}
		*ck = checker{} // an untold episode ends with its monitor
	}
	return nil
}

func (ck *checker) start(ep int64) {
	*ck = checker{ep: ep, g: gStart}
}

func token(a Alert) string {
	switch {
	case a.Code == alert.Gray && a.Why == WhyRemoved:
		return "Xr"
	case a.Code == alert.Gray:
		return "X"
	case a.Flap == alert.FlapStart:
		return "S"
	case a.Flap == alert.FlapEnd:
		return "E" + string("?yrgc"[a.Code])
	case a.Code == alert.Red && a.Repeat > 0:
		return "r"
	}
	return string("?YRGC"[a.Code])
}

func (ck *checker) move(tok string, a Alert) error {
	bad := func() error { return fmt.Errorf("%s after grammar state %d", tok, ck.g) }
	switch ck.g {
	case gClosed, gNone:
		return bad()
	case gSpell:
		switch tok {
		case "Eg", "Xr":
			ck.g = gClosed
		case "Ey":
			if ck.redBefore {
				return fmt.Errorf("Ey after a red")
			}
			ck.g = gYellow
		case "Er":
			ck.g = gRed
		default:
			return bad()
		}
		return nil
	}
	switch tok {
	case "Y":
		if ck.g != gStart {
			return bad()
		}
		ck.g = gYellow
	case "C":
		if ck.g == gRed {
			return bad()
		}
		ck.g = gCyan
	case "R":
		if ck.g == gRed {
			return fmt.Errorf("a second red in one episode")
		}
		ck.g = gRed
	case "r":
		if ck.g != gRed || a.Repeat != ck.reps+1 {
			return fmt.Errorf("reminder %d after grammar state %d, last reminder %d", a.Repeat, ck.g, ck.reps)
		}
		ck.reps = a.Repeat
	case "S":
		ck.redBefore = ck.g == gRed
		ck.g = gSpell
	case "G", "Xr":
		ck.g = gClosed
	default:
		return bad()
	}
	return nil
}

// tail runs the world to a recovery, or to a steady outage, and checks
// the outcome: liveness.
func tail(cfg config, c *Settings, now int64, recover bool) error {
	for _, e := range []mev{evResume, evMaintOut, evParentUp} {
		now += step
		var err error
		if cfg, err = run(cfg, c, e, now); err != nil {
			return fmt.Errorf("tail %s: %w", mevNames[e], err)
		}
	}
	for range 60 {
		now += step
		var err error
		if cfg.env.pending {
			fix := evFixErr
			if recover {
				fix = evFixOK
			}
			if cfg, err = run(cfg, c, fix, now); err != nil {
				return fmt.Errorf("tail %s: %w", mevNames[fix], err)
			}
			now += step
		}
		e := evFail
		if recover {
			e = evPass
		}
		if cfg, err = run(cfg, c, e, now); err != nil {
			return fmt.Errorf("tail %s: %w", mevNames[e], err)
		}
		if recover && cfg.s.Phase == Up {
			break
		}
		if !recover && cfg.s.Flags&Reddened != 0 && cfg.s.Hold == HoldNone && (cfg.s.Phase == Red || cfg.s.Phase == GaveUp) {
			break // nothing left to try: red for good
		}
	}
	if recover {
		if cfg.s.Phase != Up {
			return fmt.Errorf("still %v after 60 passing checks", cfg.s.Phase)
		}
		return nil
	}
	if !cfg.s.Phase.Down() || cfg.s.Flags&Reddened == 0 || cfg.s.Hold != HoldNone {
		return fmt.Errorf("after 60 failing checks: phase %v, hold %d, flags %b: want down and red", cfg.s.Phase, cfg.s.Hold, cfg.s.Flags)
	}
	return nil
}

type explored struct {
	configs, steps int
}

// explore searches every sequence of up to depth events for one settings
// case. It returns the first violation with the sequence that led to it.
func explore(c *Settings, depth int) (explored, error) {
	type node struct {
		cfg  config
		path []mev
	}
	var ex explored
	now := int64(1_000_000)
	start := config{s: New(), env: env{parentLast: math.MinInt64}}
	check := func(cfg config, path []mev, now int64) error {
		for _, rec := range []bool{true, false} {
			if err := tail(cfg, c, now, rec); err != nil {
				return fmt.Errorf("after %s: %w", names(path), err)
			}
		}
		return nil
	}
	if err := check(start, nil, now); err != nil {
		return ex, err
	}
	// A configuration met at a smaller depth has every future of one met
	// later: each is explored once, when first met.
	seen := map[key]bool{start.key(now, c): true}
	level := []node{{cfg: start}}
	for d := 1; d <= depth; d++ {
		now += step
		var next []node
		for _, n := range level {
			for e := range numEvents {
				cfg, err := run(n.cfg, c, e, now)
				ex.steps++
				path := append(n.path[:len(n.path):len(n.path)], e)
				if err != nil {
					return ex, fmt.Errorf("%s: %w", names(path), err)
				}
				k := cfg.key(now, c)
				if seen[k] {
					continue
				}
				seen[k] = true
				if err := check(cfg, path, now); err != nil {
					return ex, err
				}
				next = append(next, node{cfg: cfg, path: path})
			}
		}
		ex.configs += len(next)
		level = next
	}
	return ex, nil
}

func names(path []mev) string {
	s := make([]string, len(path))
	for i, e := range path {
		s[i] = mevNames[e]
	}
	return strings.Join(s, " ")
}

func TestModel(t *testing.T) {
	cases := matrix(testing.Short() || raceEnabled)
	depth := maxDepth
	if raceEnabled {
		depth = 6
	}
	began := time.Now()
	var configs, steps atomic.Int64
	var wg sync.WaitGroup
	work := make(chan settingsCase)
	var mu sync.Mutex
	var failures []string
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for sc := range work {
				ex, err := explore(&sc.c, depth)
				configs.Add(int64(ex.configs))
				steps.Add(int64(ex.steps))
				if err != nil {
					mu.Lock()
					failures = append(failures, sc.name+": "+err.Error())
					mu.Unlock()
				}
			}
		})
	}
	for _, sc := range cases {
		work <- sc
	}
	close(work)
	wg.Wait()
	for i, f := range failures {
		if i == 10 {
			t.Errorf("... and %d more", len(failures)-10)
			break
		}
		t.Error(f)
	}
	seqs := 0.0
	for k := 0; k <= depth; k++ {
		seqs += math.Pow(float64(numEvents), float64(k))
	}
	t.Logf("%d settings x %.4g sequences of up to %d of %d events = %.4g sequences; %d distinct configurations, %d steps (tails not counted); %v",
		len(cases), seqs, depth, numEvents, seqs*float64(len(cases)), configs.Load(), steps.Load(), time.Since(began).Round(time.Millisecond))
}

// TestStepShiftInvariant checks what the model's search relies on: moving
// every time of a state and an event by the same amount moves every time
// of the result by it and changes nothing else.
func TestStepShiftInvariant(t *testing.T) {
	const d = 123_456_789
	n := 0
	every, depth := 9, 5
	if raceEnabled {
		every, depth = 36, 4
	}
	for _, sc := range everyNth(matrix(true), every) {
		c := sc.c
		walk(&c, depth, func(cfg config, e mev, now int64) {
			n++
			a, errA := run(cfg, &c, e, now)
			b, errB := run(cfg.shift(d), &c, e, now+d)
			if (errA == nil) != (errB == nil) || a.shift(d) != b {
				t.Fatalf("%s: %v at %d: %+v / %v, shifted %+v / %v", sc.name, mevNames[e], now, a.shift(d), errA, b, errB)
			}
		})
	}
	t.Logf("%d steps compared", n)
}

// walk calls fn for every configuration reached by a sequence of up to
// depth events and every event that may follow it, without merging
// configurations.
func walk(c *Settings, depth int, fn func(cfg config, e mev, now int64)) {
	var rec func(cfg config, now int64, d int)
	rec = func(cfg config, now int64, d int) {
		if d == depth {
			return
		}
		now += step
		for e := range numEvents {
			fn(cfg, e, now)
			next, err := run(cfg, c, e, now)
			if err == nil {
				rec(next, now, d+1)
			}
		}
	}
	rec(config{s: New(), env: env{parentLast: math.MinInt64}}, 1_000_000, 0)
}

// TestModelAgreesWithBruteForce enumerates every sequence of up to 5
// events without merging configurations, for a few settings, and checks
// that it reaches exactly the configuration classes the merged search
// reaches, and finds no violation the merged search misses.
func TestModelAgreesWithBruteForce(t *testing.T) {
	depth := 5
	if raceEnabled {
		depth = 4
	}
	for _, sc := range everyNth(matrix(true), 17) {
		c := sc.c
		brute := map[key]bool{}
		var bad error
		walk(&c, depth, func(cfg config, e mev, now int64) {
			next, err := run(cfg, &c, e, now)
			if err == nil {
				for _, r := range []bool{true, false} {
					if err = tail(next, &c, now, r); err != nil {
						break
					}
				}
			}
			if err != nil {
				if bad == nil {
					bad = err
				}
				return
			}
			brute[next.key(now, &c)] = true
		})
		_, err := explore(&c, depth)
		if (bad == nil) != (err == nil) {
			t.Fatalf("%s: brute force found %v, merged search %v", sc.name, bad, err)
		}
		merged := map[key]bool{}
		collect(&c, depth, merged)
		for k := range brute {
			if !merged[k] {
				t.Fatalf("%s: brute force reached a configuration the merged search did not: %+v", sc.name, k)
			}
		}
	}
}

// collect gathers the configuration classes the merged search visits.
func collect(c *Settings, depth int, into map[key]bool) {
	type node struct{ cfg config }
	now := int64(1_000_000)
	start := config{s: New(), env: env{parentLast: math.MinInt64}}
	level := []node{{start}}
	seen := map[key]bool{start.key(now, c): true}
	for d := 1; d <= depth; d++ {
		now += step
		var next []node
		for _, n := range level {
			for e := range numEvents {
				cfg, err := run(n.cfg, c, e, now)
				if err != nil {
					continue
				}
				k := cfg.key(now, c)
				into[k] = true
				if !seen[k] {
					seen[k] = true
					next = append(next, node{cfg})
				}
			}
		}
		level = next
	}
}

func everyNth(cs []settingsCase, n int) []settingsCase {
	var out []settingsCase
	for i := 0; i < len(cs); i += n {
		out = append(out, cs[i])
	}
	return out
}

// shift moves every time of cfg by d.
func (cfg config) shift(d int64) config {
	r := func(t *int64) {
		if *t != 0 && *t != math.MinInt64 {
			*t += d
		}
	}
	r(&cfg.s.Start)
	r(&cfg.s.Next)
	r(&cfg.s.LastRed)
	r(&cfg.s.LastFix)
	r(&cfg.env.parentLast)
	r(&cfg.env.fixStart)
	r(&cfg.ck.ep)
	return cfg
}
