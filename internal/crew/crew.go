// Package crew keeps a pipeline's workers: how many are live and idle,
// the quit tokens that shrink the pool, and the Sizer that picks the
// worker count from live measurements (arrival rate, service times and
// their variability) to meet the response-time goal.
package crew

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra/sizing"
)

// Stats is a pipeline's latest sizing decision and the measurements
// it was made from (a sliding window of the last 10 seconds).
type Stats struct {
	Lambda      float64       // arrivals per second
	MeanService time.Duration // E[S], mean time a worker spends on one job
	CA2, CS2    float64       // squared coefficients of variation of inter-arrival and service times
	Load        float64       // offered load λ·E[S]: workers busy on average
	Target      int           // the worker count chosen
	Wait        time.Duration // predicted mean wait in the queue at Target
	Meets       bool          // whether Target meets the SLO (see WithSLO)
	Ceiling     int           // the Governor's bound on the workers, 0 for none
}

// Sizer measures one pipeline and picks its worker count each period.
type Sizer struct {
	est    *sizing.Estimator
	Arrive *sizing.Recorder // the loop's: arrivals, in order
	Loop   *sizing.Recorder // the loop's: service times it measures itself
	damper sizing.Damper

	mu   sync.Mutex
	free []*sizing.Recorder // recorders of workers that left

	Target atomic.Int32
	Last   Stats // guarded by Engine.snapMu
}

// Period is how often pipelines are re-sized.
const Period = time.Second

func NewSizer(origin time.Time, min int) *Sizer {
	s := &Sizer{
		est: sizing.NewEstimator(sizing.DefaultWindow, sizing.DefaultBuckets, origin),
		// Grow at once by up to half the pool; shrink only after three
		// periods below a 20% dead band: no sawtooth.
		damper: sizing.Damper{MaxStep: 0.5, Deadband: 0.2, DownAfter: 3},
	}
	s.Arrive = s.est.Recorder()
	s.Loop = s.est.Recorder()
	s.Target.Store(int32(min))
	return s
}

// Recorder hands a worker a recorder of its own.
func (s *Sizer) Recorder() *sizing.Recorder {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.free); n > 0 {
		r := s.free[n-1]
		s.free = s.free[:n-1]
		return r
	}
	return s.est.Recorder()
}

// Release takes back the recorder of a worker that leaves.
func (s *Sizer) Release(r *sizing.Recorder) {
	r.Flush()
	s.mu.Lock()
	s.free = append(s.free, r)
	s.mu.Unlock()
}

// Decide computes the pipeline's worker count for the next period. backlog
// says work is waiting with no worker idle: then the pool does not shrink.
func (s *Sizer) Decide(g Goal, now time.Time, live int, backlog bool) (target int, st Stats) {
	s.Arrive.Flush()
	s.Loop.Flush()
	snap := s.est.Snapshot(now)
	dec, err := sizing.Workers(snap.Params(g.SLO, g.Headroom, g.Min, g.Max))
	if err != nil && !errors.Is(err, sizing.ErrUnreachable) {
		// Measurements out of the solver's domain: keep the pool as it is,
		// within its bounds.
		target = min(live, g.Max)
		s.Target.Store(int32(target))
		return target, s.Last
	}
	want := dec.Workers
	if backlog && want < live {
		want = live
	}
	target = min(max(s.damper.Next(want), g.Min), g.Max)
	s.Target.Store(int32(target))
	return target, Stats{
		Lambda: snap.Lambda, MeanService: snap.MeanService, CA2: snap.CA2, CS2: snap.CS2,
		Load: dec.Load, Target: target, Wait: dec.Wait, Meets: dec.Meets,
	}
}

// Crew is the worker bookkeeping both kinds of pipeline share: counts, the
// quit tokens that shrink the pool, and the Sizer.
type Crew struct {
	Live     atomic.Int32 // workers not abandoned and not leaving
	Idle     atomic.Int32 // workers waiting for work
	Quitting atomic.Int32 // quit tokens sent, not yet taken
	// Quit puts one quit token in the pipeline's queue, reporting whether
	// there was room.
	Quit func() bool
	WG   sync.WaitGroup
	Sz   *Sizer
	Min  int
	// Cap is the most workers the pipeline keeps now: the Governor's
	// ceiling, or its maximum; 0 before the pipeline is first sized.
	Cap atomic.Int32
}

// New returns the crew of a pipeline of at least min and at most max
// workers, measuring from origin.
func New(origin time.Time, min, max int) Crew {
	return Crew{Sz: NewSizer(origin, min), Min: min}
}

// TookQuit is called by an idle worker that received a quit token: it
// reports whether the worker should leave (the pool is above its target).
func (c *Crew) TookQuit() bool {
	c.Quitting.Add(-1)
	return c.leave(max(c.Sz.Target.Load(), int32(c.Min)))
}

// Shed is called by a worker between two batches: it reports whether the
// worker should leave because the pool is above its cap (see Governor).
// Quit tokens wait behind queued work; while the pool is busy, workers
// above the cap leave here.
func (c *Crew) Shed() bool {
	limit := c.Cap.Load()
	return limit > 0 && c.leave(max(limit, int32(c.Min)))
}

// leave takes the calling worker off the live count if more than floor
// are live, and reports whether it did.
func (c *Crew) leave(floor int32) bool {
	for {
		n := c.Live.Load()
		if n <= floor {
			return false
		}
		if c.Live.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// ShrinkTo asks idle workers to leave until target remain.
func (c *Crew) ShrinkTo(target int) {
	excess := int(c.Live.Load()) - target - int(c.Quitting.Load())
	for ; excess > 0; excess-- {
		if !c.Quit() {
			return
		}
		c.Quitting.Add(1)
	}
}

// Counts returns the live and idle workers.
func (c *Crew) Counts() (live, idle int) { return int(c.Live.Load()), int(c.Idle.Load()) }

// Goal is what a pipeline is sized for: the response-time goal, the share
// of workers added on top, and the bounds of the pool.
type Goal struct {
	SLO      time.Duration
	Headroom float64
	Min, Max int
}
