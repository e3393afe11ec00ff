package crew

import (
	"testing"
	"time"
)

// govRun feeds a Governor two periods at a time: a pipeline whose rate is
// rate(workers) and which is short throughout, with the pool following
// the cap (or growing by grow a window when there is none).
type govRun struct {
	g       Governor
	now     time.Time
	done    uint64
	skipped uint64
	live    int
	slow    func(live int) bool // jobs start later than the goal; nil: never
}

func (r *govRun) window(rate float64, short bool) int {
	c := 0
	for range 2 {
		r.now = r.now.Add(Period)
		r.done += uint64(rate)
		if short {
			r.skipped += uint64(rate) // one skipped per completion: short
		}
		c = r.g.Observe(r.now, r.done, r.skipped, r.live, false, r.slow != nil && r.slow(r.live), 2, 1<<20)
	}
	return c
}

// newGovRun returns a run primed with live workers.
func newGovRun(live int, slow func(int) bool) *govRun {
	r := &govRun{now: time.Unix(0, 0), live: live, slow: slow}
	r.g.Observe(r.now, 0, 0, r.live, false, false, 2, 1<<20)
	return r
}

// follow runs windows short of workers at rate(live): the pool follows
// the cap, or with none grows by half a window (the sizer asks for more)
// within the Governor's bound.
func (r *govRun) follow(rate func(int) float64, windows int) {
	for range windows {
		r.window(rate(r.live), true)
		r.grow()
	}
}

// grow moves the pool as the loop does: to the cap, or with none by half
// again, within the bound.
func (r *govRun) grow() {
	if c := r.g.ceiling; c > 0 {
		r.live = c
		return
	}
	r.live += r.live / 2
	if b := r.g.Bound(); b > 0 && r.live > b {
		r.live = b
	}
}

func TestGovernorCapsWorkersThatBringNothing(t *testing.T) {
	saturated := func(w int) float64 { return float64(min(w, 8)) * 50 } // 8 workers reach the target's 400/s
	r := newGovRun(2, nil)
	r.follow(saturated, 30)
	capped := r.g.Ceiling()
	if capped == 0 || capped > 16 {
		t.Fatalf("cap = %d after 30 windows on a target 8 workers saturate, want 8..16", capped)
	}
	if saturated(r.live) < 0.85*400 {
		t.Fatalf("capped at %d workers the rate is %.0f, want at least 85%% of 400", r.live, saturated(r.live))
	}
	// Checks stop waiting: the cap is lifted.
	for range govCalm {
		r.window(saturated(r.live), false)
	}
	if c := r.g.Ceiling(); c != 0 {
		t.Fatalf("cap = %d after %d windows not short, want none", c, govCalm)
	}
}

func TestGovernorLiftsACapThatCostsWork(t *testing.T) {
	// Each check waits 100ms on a target with room for all: workers
	// complete 10 a second each, however many there are.
	waiting := func(w int) float64 { return float64(w) * 10 }
	r := &govRun{now: time.Unix(0, 0), live: 2}
	r.g.Observe(r.now, 0, 0, r.live, false, false, 2, 1<<20)
	for i := range 20 {
		c := r.window(waiting(r.live), true)
		if c > 0 {
			t.Fatalf("window %d: cap %d on workers that each add work (live %d)", i, c, r.live)
		}
		r.live += r.live / 2
	}
	// The targets slow down: more workers keep the rate where it was (the
	// fleet's demand). A cap that is tried must be lifted at once.
	r2 := &govRun{now: time.Unix(0, 0), live: 20}
	r2.g.Observe(r2.now, 0, 0, r2.live, false, false, 2, 1<<20)
	demand := 1000.0
	r2.window(demand, true)
	r2.live = 40 // the sizer doubles the pool to keep up with slower answers
	if c := r2.window(demand, true); c != 20 {
		t.Fatalf("cap = %d, want a test at 20 (40 workers, no gain)", c)
	}
	r2.live = 20
	if c := r2.window(demand/2, true); c != 20 {
		t.Fatalf("cap = %d after one window of half the rate, want it kept one more (noise)", c)
	}
	if c := r2.window(demand/2, true); c != 20*3/2+1 {
		t.Fatalf("bound = %d after the rate halved under it twice, want it lifted by a step to %d", c, 20*3/2+1)
	}
	// And not tried again at once: for probeEvery no cap is set. The pool
	// grows back by half again while the rate rises with it, and no
	// further once it stops rising: the workers the targets need are
	// back, and more would only wait on them.
	r2.live = 31
	bound := r2.window(demand, true) // the rate is back: a gain
	if bound < 31*3/2 {
		t.Fatalf("bound %d with 31 workers after the rate came back, want room for half again", bound)
	}
	r2.live = bound
	for i := range int(probeEvery/(2*Period)) - 2 {
		c := r2.window(demand, true)
		if r2.g.ceiling != 0 {
			t.Fatalf("window %d after the lift: cap %d, want none for %v", i, c, probeEvery)
		}
		if c != bound {
			t.Fatalf("window %d after the lift: bound %d, want it held at %d while more workers bring nothing", i, c, bound)
		}
	}
	// Then a cap is tried again.
	for range 2 {
		r2.window(demand, true)
	}
	if r2.g.ceiling == 0 {
		t.Fatalf("no cap %v after the lift with the rate flat, want one tried", probeEvery)
	}
}

// Workers that bring nothing after a lift do not take the pool to its
// maximum while no cap may be tried: with the rate noisy but flat, the
// bound grows only with the rate's new highs, not by half again each
// window (which in probeEvery would be a thousand times the pool).
func TestGovernorLiftedBoundFollowsTheRate(t *testing.T) {
	r := &govRun{now: time.Unix(0, 0), live: 4}
	r.g.Observe(r.now, 0, 0, r.live, false, false, 2, 4096)
	r.g.lift(10_000, 4, 4096, r.now.Add(probeEvery))
	noise := []float64{1.0, 1.3, 0.8, 1.2, 0.7, 1.25, 1.0, 0.9, 1.35, 0.75, 1.1, 1.0, 0.85, 1.2}
	peak := 0
	for i := range int(probeEvery / (2 * Period)) {
		rate := 10_000 * noise[i%len(noise)]
		c := 0
		for range 2 {
			r.now = r.now.Add(Period)
			r.done += uint64(rate)
			r.skipped += uint64(rate)
			c = r.g.Observe(r.now, r.done, r.skipped, r.live, true, false, 2, 4096)
		}
		if c > 0 {
			r.live = c // the sizer asks for more: the pool fills the bound
		}
		peak = max(peak, r.live)
	}
	if peak > 64 {
		t.Fatalf("the pool reached %d workers in %v after a lift, the rate flat and noisy, want at most 64", peak, probeEvery)
	}
}

// A pool short of workers whose rate does not rise with them does not
// grow to hundreds before the first window is judged: with no cap, it
// may have 64 workers, and more only by steps that each brought a gain.
// Here the loop adds workers as fast as checks wait (two hundred a window
// when nothing bounds it) and the targets answer the same ten thousand
// checks a second, give or take 5 %, however many there are.
func TestGovernorBoundsTheClimb(t *testing.T) {
	r := newGovRun(2, nil)
	noise := []float64{1.0, 1.05, 0.95, 1.02, 0.97, 1.04, 0.96}
	peak := 0
	for i := range 40 {
		r.window(10_000*noise[i%len(noise)], true)
		if b := r.g.Bound(); b > 0 {
			r.live = b
		} else {
			r.live += 200
		}
		peak = max(peak, r.live)
	}
	if peak > 64*3/2+1 {
		t.Fatalf("the pool reached %d workers for a flat rate, want at most %d", peak, 64*3/2+1)
	}
	if c := r.g.Ceiling(); c == 0 || c > 8 {
		t.Fatalf("cap = %d after 40 windows in which 2 workers did as much as %d, want one of at most 8", c, peak)
	}
}

// A pool whose workers each add work climbs past its bound however it
// fills it: here the loop adds forty workers a window, so that most of a
// step's gain shows before the pool reaches the bound and the last few
// workers bring only a little more.
func TestGovernorClimbsWhileWorkersHelp(t *testing.T) {
	r := newGovRun(2, nil)
	for range 60 {
		r.window(float64(r.live)*10, true)
		r.live += 40
		if b := r.g.Bound(); b > 0 && r.live > b {
			r.live = b
		}
	}
	if r.live < 1000 {
		t.Fatalf("the pool has %d workers after 60 windows in which each worker added work (bound %d, cap %d), want more than 1000",
			r.live, r.g.Bound(), r.g.ceiling)
	}
}

// A lifted cap does not let the pool jump to its maximum: it grows by
// half again each window it fills its bound, for as long as it needs to.
func TestGovernorLiftsByStepsUpToTheMaximum(t *testing.T) {
	const max = 1000
	capacity := 8
	rate := func(w int) float64 { return float64(min(w, capacity)) * 50 }
	r := newGovRun(2, nil)
	r.follow(rate, 30)
	capped := r.g.Ceiling()
	if capped == 0 || capped > 16 {
		t.Fatalf("cap = %d, want 8..16", capped)
	}
	// The targets slow down: each check now takes twenty times longer,
	// so that the fleet needs every worker up to the maximum.
	rate = func(w int) float64 { return float64(w) * 2.5 }
	steps := 0
	for i := range 200 {
		c := 0
		for range 2 {
			r.now = r.now.Add(Period)
			r.done += uint64(rate(r.live))
			r.skipped += uint64(rate(r.live))
			c = r.g.Observe(r.now, r.done, r.skipped, r.live, true, false, 2, max)
		}
		if c == 0 {
			if steps < 3 {
				t.Fatalf("window %d: bound lifted after %d steps, want it lifted by steps", i, steps)
			}
			return
		}
		if c > r.live*3/2+1 && r.g.ceiling == 0 {
			t.Fatalf("window %d: bound %d with %d workers, want at most half again", i, c, r.live)
		}
		if c > r.live {
			steps++
		}
		r.live = c // the sizer asks for the maximum: the pool fills the bound
	}
	t.Fatalf("bound %d after 200 windows of workers that each add work, want lifted", r.g.Ceiling())
}

func TestGovernorProbesUpward(t *testing.T) {
	capacity := 8
	rate := func(w int) float64 { return float64(min(w, capacity)) * 50 }
	r := newGovRun(2, nil)
	r.follow(rate, 30)
	low := r.g.Ceiling()
	capacity = 64 // the targets can take more now
	for range int(2*probeEvery/Period) + 10 {
		if c := r.window(rate(r.live), true); c > 0 {
			r.live = c
		}
	}
	if c := r.g.Ceiling(); c != 0 && c <= 2*low {
		t.Fatalf("cap = %d (was %d) after the targets took eight times more, want it raised", c, low)
	}
}

// A fleet whose checks start on time when the cap is set keeps doing so:
// the cap does not stay where they start later than the goal, even though
// the rate holds there. Here 6 workers complete the fleet's 300 checks a
// second, but checks start on time only with 8 or more.
func TestGovernorKeepsTheGoal(t *testing.T) {
	rate := func(w int) float64 { return min(float64(w)*50, 300) }
	r := newGovRun(2, func(w int) bool { return w < 8 })
	r.follow(rate, 60)
	if c := r.g.Ceiling(); c != 0 && c < 8 {
		t.Fatalf("cap = %d, want none or at least 8, where checks start within the goal", c)
	}
}

// The bound of a pool with no cap never holds it below its minimum, and
// is none when the pool's maximum is within it.
func TestGovernorBoundWithinTheWorkers(t *testing.T) {
	for _, c := range []struct{ live, min, max, want int }{
		{2, 2, 1024, 64},    // climbFrom
		{100, 2, 1024, 151}, // half again the live workers
		{2, 200, 1024, 200}, // the minimum
		{2, 2, 64, 0},       // the maximum is within climbFrom: none
		{700, 2, 1024, 0},   // half again is beyond the maximum: none
		{2, 1000, 1000, 0},  // a fixed pool: none
	} {
		var g Governor
		g.Observe(time.Unix(0, 0), 0, 0, c.live, false, false, c.min, c.max)
		if b := g.Bound(); b != c.want {
			t.Errorf("live %d, workers %d..%d: bound %d, want %d", c.live, c.min, c.max, b, c.want)
		}
		if g.Ceiling() != 0 {
			t.Errorf("live %d, workers %d..%d: Ceiling %d before any cap, want 0", c.live, c.min, c.max, g.Ceiling())
		}
	}
}
