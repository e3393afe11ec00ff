package loop

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra/sizing"
)

// SizingStats is a pipeline's latest sizing decision and the measurements
// it was made from (a sliding window of the last 10 seconds).
type SizingStats struct {
	Lambda      float64       // arrivals per second
	MeanService time.Duration // E[S], mean time a worker spends on one job
	CA2, CS2    float64       // squared coefficients of variation of inter-arrival and service times
	Load        float64       // offered load λ·E[S]: workers busy on average
	Target      int           // the worker count chosen
	Wait        time.Duration // predicted mean wait in the queue at Target
	Meets       bool          // whether Target meets the SLO (see WithSLO)
}

// sizer measures one pipeline and picks its worker count each period.
type sizer struct {
	est    *sizing.Estimator
	arrive *sizing.Recorder // the loop's: arrivals, in order
	loop   *sizing.Recorder // the loop's: service times it measures itself
	damper sizing.Damper

	mu   sync.Mutex
	free []*sizing.Recorder // recorders of workers that left

	target atomic.Int32
	last   SizingStats // guarded by Engine.snapMu
}

// sizePeriod is how often pipelines are re-sized.
const sizePeriod = time.Second

func newSizer(origin time.Time, min int) *sizer {
	s := &sizer{
		est: sizing.NewEstimator(sizing.DefaultWindow, sizing.DefaultBuckets, origin),
		// Grow at once by up to half the pool; shrink only after three
		// periods below a 20% dead band: no sawtooth.
		damper: sizing.Damper{MaxStep: 0.5, Deadband: 0.2, DownAfter: 3},
	}
	s.arrive = s.est.Recorder()
	s.loop = s.est.Recorder()
	s.target.Store(int32(min))
	return s
}

// recorder hands a worker a recorder of its own.
func (s *sizer) recorder() *sizing.Recorder {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.free); n > 0 {
		r := s.free[n-1]
		s.free = s.free[:n-1]
		return r
	}
	return s.est.Recorder()
}

// release takes back the recorder of a worker that leaves.
func (s *sizer) release(r *sizing.Recorder) {
	r.Flush()
	s.mu.Lock()
	s.free = append(s.free, r)
	s.mu.Unlock()
}

// decide computes the pipeline's worker count for the next period. backlog
// says work is waiting with no worker idle: then the pool does not shrink.
func (s *sizer) decide(e *Engine, now time.Time, live int, backlog bool) (target int, st SizingStats) {
	s.arrive.Flush()
	s.loop.Flush()
	snap := s.est.Snapshot(now)
	dec, err := sizing.Workers(snap.Params(e.cfg.SLO, e.cfg.Headroom, e.cfg.MinWorkers, e.cfg.MaxWorkers))
	if err != nil && !errors.Is(err, sizing.ErrUnreachable) {
		// Measurements out of the solver's domain: keep the pool as it is.
		return live, s.last
	}
	want := dec.Workers
	if backlog && want < live {
		want = live
	}
	target = min(max(s.damper.Next(want), e.cfg.MinWorkers), e.cfg.MaxWorkers)
	s.target.Store(int32(target))
	return target, SizingStats{
		Lambda: snap.Lambda, MeanService: snap.MeanService, CA2: snap.CA2, CS2: snap.CS2,
		Load: dec.Load, Target: target, Wait: dec.Wait, Meets: dec.Meets,
	}
}

// crew is the worker bookkeeping both kinds of pipeline share: counts, the
// quit tokens that shrink the pool, and the sizer.
type crew struct {
	live     atomic.Int32 // workers not abandoned and not leaving
	idle     atomic.Int32 // workers waiting for work
	quitting atomic.Int32 // quit tokens sent, not yet taken
	quit     chan struct{}
	wg       sync.WaitGroup
	sz       *sizer
	min      int
}

func newCrew(origin time.Time, min, max int) crew {
	return crew{quit: make(chan struct{}, max), sz: newSizer(origin, min), min: min}
}

// tookQuit is called by an idle worker that received a quit token: it
// reports whether the worker should leave (the pool is above its target).
func (c *crew) tookQuit() bool {
	c.quitting.Add(-1)
	floor := int32(max(int(c.sz.target.Load()), c.min))
	for {
		n := c.live.Load()
		if n <= floor {
			return false
		}
		if c.live.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// shrinkTo asks idle workers to leave until target remain.
func (c *crew) shrinkTo(target int) {
	excess := int(c.live.Load()) - target - int(c.quitting.Load())
	for ; excess > 0; excess-- {
		select {
		case c.quit <- struct{}{}:
			c.quitting.Add(1)
		default:
			return
		}
	}
}

func (c *crew) stats(queued int64) PipelineStats {
	return PipelineStats{Workers: int(c.live.Load()), Idle: int(c.idle.Load()), Queued: int(queued)}
}
