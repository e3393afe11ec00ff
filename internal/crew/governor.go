package crew

import "time"

// Governor caps a pipeline's workers while it cannot keep up, at the
// count beyond which more workers did not complete more work. When the
// targets are the bottleneck (a server that answers so many requests a
// second and no more), a worker added only waits longer on them, and the
// queueing model of the Sizer, which sees the service time grow, asks for
// more still, up to the pool's maximum. Each of those workers costs its
// stack and its connections, for nothing.
//
// The Governor judges the completion rate over windows of two periods,
// and whether the pipeline was short in them: jobs waited with no worker
// idle, or jobs were skipped because the one before them was still
// running (at least one for every ten completed).
//
//   - While short, with no cap: once half again as many workers as at the
//     best rate seen bring no tenth more (or the pool is at its maximum),
//     it caps the pool at that best count, and takes the rate of the last
//     two windows as the reference.
//   - If in the two windows after that the rate stays below 85 % of the
//     reference, the workers were needed after all (the targets got
//     slower, not busier): the cap is lifted, and tried again no sooner
//     than probeEvery later.
//   - If it stays at 95 % or more, the cap is lowered a quarter at a time
//     while the rate stays there, put back to the last count that kept
//     it when it does not, and held there.
//   - Every probeEvery it tries half again as many: if the targets now
//     answer a tenth more, the reference rises and the search goes on
//     upward.
//   - After three windows not short, or two in a row in which the rate
//     under a held cap fell below 85 % of the reference (less work, or
//     slower targets), the cap is lifted.
//   - With no cap, the pool grows by steps: it may have half again the
//     workers it had when the Governor last started over, or climbFrom,
//     whichever is more; each window in which the pool fills that bound
//     and the rate is a tenth above the rate when the bound was last
//     raised, the bound grows by half again, until it reaches the pool's
//     maximum. Unbounded, a pool short of workers gains one every few
//     milliseconds (and the Sizer asks for more as the targets slow
//     down): hundreds of workers, each with a stack and a connection,
//     before the first window is judged, for a rate that more workers do
//     not raise. A step that brings no gain leaves the pool at its bound,
//     which is then half again the workers of the best rate, or close to
//     the count where the rate stopped rising: the search above caps it
//     in the first case, the bound holds it in the second. A window in
//     which the workers completed fewer checks a second than there are
//     workers (checks that take seconds, or hang to their timeout) does
//     not refuse a step: what more workers bring shows only a check's
//     duration after they came, later than the window.
//   - A cap lifted while short is lifted the same way, from the count it
//     held: lifted at once, the pool would follow the Sizer to its
//     maximum within a period, only for the search above to cap it again
//     a few windows later. After a cap that cost work, none is tried
//     again for probeEvery: the bound grows only while the rate does.
//
// Workers waiting on targets that do not answer at all (checks that run
// to their timeout) complete work in proportion to their number, so they
// are not capped: only workers that bring nothing are.
//
// A Governor is used by the loop's goroutine alone.
type Governor struct {
	ceiling int // 0: none
	phase   govPhase
	best    float64 // with no cap: the best rate seen while short
	bestW   int     // and the fewest workers seen live at about that rate
	ref     float64 // with a cap: the rate it must hold
	above   int     // the cap before the last step down
	guard   bool    // jobs started within the goal when the cap was set
	prev    float64 // the rate of the window before
	until   time.Time
	retry   time.Time // no cap is tried before, after one was lifted
	calm    int
	low     int     // windows in a row the rate did not hold under the cap
	room    int     // with no cap: the most workers for now; 0: the pool's maximum
	stepAt  float64 // the rate when room was last raised (or set after a lift)
	lifted  bool    // room is the step of a lifted cap

	last          time.Time
	lastN, lastSk uint64
	primed        bool
	odd, waited   bool // a window of two periods: its first seen, and whether jobs waited in it
}

type govPhase uint8

const (
	govTest govPhase = iota // the cap was just set: does the rate hold?
	govDown                 // lowering the cap while the rate holds
	govHold                 // holding the cap until the next probe
	govUp                   // trying a higher cap
)

const (
	govGain    = 1.10 // a rate this much higher is a gain
	govHoldLow = 0.85 // below this share of the reference, a new cap clearly costs checks
	govKeep    = 0.95 // a rate this share of the reference is kept
	govMore    = 1.5  // workers this many times the best count, with no gain: cap
	govCalm    = 3    // windows not short that lift the cap
	govSkips   = 0.1  // skipped jobs per completion that make a pipeline short
	probeEvery = 30 * time.Second
	climbFrom  = 64 // with no cap, workers the pool may have before a step must bring a gain
)

// Observe takes, once a sizing period, the pipeline's counts of completed
// and of skipped jobs (counters that only grow), its live workers, whether
// jobs waited with no worker idle, whether jobs start later than the
// response-time goal allows, and its bounds; and returns its Ceiling: the
// cap, or while a cap is lifted by steps, the bound of the current step,
// or 0. The most workers the pipeline may have is [Governor.Bound].
//
// slow guards the goal: if jobs started within it when a cap was set, a
// cap under which they no longer do is treated as one that costs work.
// When they were late already (the targets cannot keep up), it is not
// looked at.
func (g *Governor) Observe(now time.Time, done, skipped uint64, live int, waited, slow bool, min, max int) int {
	if !g.primed || !now.After(g.last) || now.Sub(g.last) > 2*govCalm*Period {
		// First, or not sized for a while: nothing was in flight, so
		// nothing was short.
		*g = Governor{last: now, lastN: done, lastSk: skipped, primed: true}
		g.room = startRoom(live, min, max)
		return 0
	}
	if waited {
		g.waited = true
	}
	if g.odd = !g.odd; g.odd {
		return g.Ceiling() // a rate over one period is too noisy: judge two
	}
	n, sk := float64(done-g.lastN), float64(skipped-g.lastSk)
	rate := n / now.Sub(g.last).Seconds()
	prev := g.prev
	g.last, g.lastN, g.lastSk, g.prev = now, done, skipped, rate
	waited, g.waited = g.waited, false
	if !waited && sk < govSkips*n {
		if g.calm++; g.calm >= govCalm {
			*g = Governor{last: g.last, lastN: g.lastN, lastSk: g.lastSk, primed: true}
			g.room = startRoom(live, min, max)
		}
		return g.Ceiling()
	}
	g.calm = 0
	if g.ceiling == 0 {
		// Checks that take longer than a second (the workers completed
		// fewer than one each a second) show what more workers bring
		// only later than the window: such a window cannot refuse a
		// step.
		blind := rate < float64(live)
		if g.room > 0 && live >= g.room && (blind || rate > g.stepAt*govGain) {
			// The pool fills the step's bound and the rate rose a tenth
			// since the bound was last raised: the next step. (Measured
			// against the best rate, a gain seen while the pool was
			// still filling the bound would be spent before it got
			// there, and the pool would stay at a bound that holds it
			// back.)
			g.stepAt, g.room = rate, nextRoom(g.room, max)
		}
		switch {
		case g.bestW == 0 || rate > g.best*govGain:
			g.best, g.bestW = rate, live
		case rate >= g.best*govHoldLow && live < g.bestW:
			g.bestW = live
		case now.Before(g.retry):
		case float64(live) >= float64(g.bestW)*govMore || live >= max && live > g.bestW:
			g.ceiling, g.phase, g.low, g.room = g.bestW, govTest, 0, 0
			g.ref = (rate + prev) / 2
			g.guard = !slow
			if g.ceiling < min {
				g.ceiling = min
			}
		}
		return g.Ceiling()
	}
	if live > g.ceiling && (g.phase == govTest || g.phase == govDown) {
		// The pool has not come down to the cap yet (a worker leaves
		// between two jobs): the rate says nothing of the cap.
		return g.Ceiling()
	}
	held := rate >= g.ref*govHoldLow && !(g.guard && slow)
	kept := rate >= g.ref*govKeep && !(g.guard && slow)
	if held {
		g.low = 0
	} else {
		g.low++
	}
	switch g.phase {
	case govTest:
		switch {
		case kept:
			g.phase = govDown
			g.lower(min)
		case g.low >= 2:
			// The workers were needed: lift the cap, and look for the
			// next one from the count reached, later.
			g.lift(rate, live, max, now.Add(probeEvery))
		}
	case govDown:
		switch {
		case !kept:
			// The last step cost checks: back to the count before it.
			g.ceiling = g.above
			g.hold(now)
		case g.ceiling <= min:
			g.hold(now)
		default:
			g.lower(min)
		}
	case govHold:
		switch {
		case g.low >= 2:
			// Less work, or slower targets: start again.
			g.lift(rate, live, max, time.Time{})
		case !now.Before(g.until):
			g.ceiling, g.phase = g.ceiling*3/2+1, govUp
		}
	case govUp:
		if rate > g.ref*govGain {
			g.ref = rate
			g.ceiling = g.ceiling*3/2 + 1
		} else {
			g.ceiling = (g.ceiling - 1) * 2 / 3
			if g.ceiling < min {
				g.ceiling = min
			}
			g.hold(now)
		}
	}
	return g.Ceiling()
}

// lift takes the cap away by steps, from the live count, and starts the
// search for a cap again from there; none is tried before retry.
func (g *Governor) lift(rate float64, live, max int, retry time.Time) {
	*g = Governor{last: g.last, lastN: g.lastN, lastSk: g.lastSk, primed: true, prev: rate,
		best: rate, bestW: live, retry: retry, lifted: true, stepAt: rate}
	g.room = nextRoom(live, max)
}

// nextRoom is the bound of the step after one of n workers: half again n,
// or 0 (none) once that reaches max.
func nextRoom(n, max int) int {
	if n = n*3/2 + 1; n < max {
		return n
	}
	return 0
}

// startRoom is the bound of a pool with no cap that has shown no gain yet:
// half again its live workers, climbFrom, or min, whichever is most; 0
// when that is the maximum.
func startRoom(live, lo, hi int) int {
	if r := max(live*3/2+1, climbFrom, lo); r < hi {
		return r
	}
	return 0
}

func (g *Governor) lower(min int) {
	g.above = g.ceiling
	g.ceiling = g.ceiling * 3 / 4
	if g.ceiling < min {
		g.ceiling = min
	}
}

func (g *Governor) hold(now time.Time) {
	g.phase, g.until, g.low = govHold, now.Add(probeEvery), 0
}

// Ceiling returns the bound Observe last returned, or 0: the cap, or
// while a cap is lifted by steps, the bound of the current step.
func (g *Governor) Ceiling() int {
	if g.ceiling > 0 {
		return g.ceiling
	}
	if g.lifted {
		return g.room
	}
	return 0
}

// Bound returns the most workers the pipeline may have now, or 0 for its
// maximum: the Ceiling, or with none, the bound of the pool's current
// step.
func (g *Governor) Bound() int {
	if g.ceiling > 0 {
		return g.ceiling
	}
	return g.room
}
