package sizing

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Default window of an [Estimator] when NewEstimator is given zero values.
const (
	DefaultWindow  = 10 * time.Second
	DefaultBuckets = 10
)

// Estimator measures a pipeline over a sliding window: its arrival rate λ,
// the mean and squared coefficient of variation of its service times (E[S],
// c_s²) and of its inter-arrival times (c_a²). Old data leaves the window
// bucket by bucket, so the estimates follow changes in load instead of
// averaging over the whole lifetime.
//
// Measurements are recorded through [Recorder] values, one per goroutine, and
// merged when read by [Estimator.Snapshot]; see the package documentation,
// section Concurrency.
type Estimator struct {
	origin  time.Time
	width   time.Duration // one bucket
	buckets int

	mu   sync.Mutex
	recs []*Recorder
}

// NewEstimator returns an Estimator whose window of the given length is
// divided into buckets buckets; the oldest bucket is dropped as a whole, so
// the window actually covered is between window·(buckets-1)/buckets and
// window. Zero or negative values select [DefaultWindow] and
// [DefaultBuckets]. Bucket times are counted from origin, normally
// time.Now(); measurements before origin are ignored.
func NewEstimator(window time.Duration, buckets int, origin time.Time) *Estimator {
	if window <= 0 {
		window = DefaultWindow
	}
	if buckets <= 0 {
		buckets = DefaultBuckets
	}
	width := window / time.Duration(buckets)
	if width <= 0 {
		width = 1
	}
	return &Estimator{origin: origin, width: width, buckets: buckets}
}

// Window returns the length of the window: bucket width × bucket count.
func (e *Estimator) Window() time.Duration { return e.width * time.Duration(e.buckets) }

// Recorder returns a new Recorder feeding e. Create one for each goroutine
// that records (each worker, the producer) and keep it: creating one takes a
// lock and allocates.
func (e *Estimator) Recorder() *Recorder {
	r := &Recorder{est: e, ring: make([]bucket, e.buckets)}
	for i := range r.ring {
		r.ring[i].epoch.Store(-1)
	}
	e.mu.Lock()
	e.recs = append(e.recs, r)
	e.mu.Unlock()
	return r
}

// bucket holds the sums of one time slice of one Recorder. It is written by
// that Recorder's goroutine only and read atomically by Snapshot. Float sums
// are stored as math.Float64bits.
type bucket struct {
	epoch    atomic.Int64
	arrivals atomic.Uint64
	gaps     atomic.Uint64
	gapSum   atomic.Uint64
	gapSq    atomic.Uint64
	services atomic.Uint64
	svcSum   atomic.Uint64
	svcSq    atomic.Uint64
	_        [64]byte // keep neighbouring recorders' buckets off this line
}

// Recorder records the measurements of one goroutine into an [Estimator].
//
// A Recorder must not be used by more than one goroutine at a time. Its
// methods do not allocate and take no lock: they add to plain local sums and
// publish them to the Estimator with a few uncontended atomic stores every
// publishEvery records, when a record falls in a new bucket, or when the
// previous publish is older than publishAfter. A Recorder that falls silent
// right after a burst can so hold back up to publishEvery-1 measurements
// made within publishAfter of each other until its next record; call
// [Recorder.Flush] when the goroutine goes idle to publish them at once.
// Reading with [Estimator.Snapshot] concurrently is safe.
type Recorder struct {
	est  *Estimator
	ring []bucket
	last time.Time // previous arrival, for inter-arrival gaps

	// The bucket of the pending sums and its time range since the origin.
	cur        *bucket
	start, end time.Duration
	published  time.Duration // when the pending sums were last published
	pending    sums
	count      int // records since the last publish
}

// publishEvery and publishAfter bound what a Recorder holds back; see Recorder.
const (
	publishEvery = 16
	publishAfter = time.Millisecond
)

type sums struct {
	arrivals, gaps, services uint64
	gapSum, gapSq            float64
	svcSum, svcSq            float64
}

// slot returns the pending sums for a record at time at and that time as an
// offset from the origin, publishing and moving to another bucket first when
// at falls outside the current one; nil when at is before the origin.
func (r *Recorder) slot(at time.Time) (*sums, time.Duration) {
	d := at.Sub(r.est.origin)
	if d >= r.start && d < r.end && r.cur != nil {
		return &r.pending, d
	}
	if d < 0 {
		return nil, d
	}
	r.Flush()
	ep := int64(d / r.est.width)
	b := &r.ring[ep%int64(len(r.ring))]
	r.cur, r.start, r.end = b, time.Duration(ep)*r.est.width, time.Duration(ep+1)*r.est.width
	if b.epoch.Load() != ep {
		// Clear first, then publish the new epoch: a concurrent Snapshot sees
		// either the old slice (already outside its window) or a partly empty
		// new one, never old sums under the new epoch.
		b.arrivals.Store(0)
		b.gaps.Store(0)
		b.gapSum.Store(0)
		b.gapSq.Store(0)
		b.services.Store(0)
		b.svcSum.Store(0)
		b.svcSq.Store(0)
		b.epoch.Store(ep)
	}
	r.published = d - publishAfter // publish the first record at once
	return &r.pending, d
}

// done counts a record made at offset d and publishes when due.
func (r *Recorder) done(d time.Duration) {
	if r.count++; r.count >= publishEvery || d-r.published >= publishAfter {
		r.Flush()
		r.published = d
	}
}

// Flush publishes the measurements this Recorder holds back, so that
// [Estimator.Snapshot] sees them. Call it when the recording goroutine goes
// idle; it is cheap when there is nothing to publish.
func (r *Recorder) Flush() {
	b, p := r.cur, &r.pending
	r.count = 0
	if b == nil || *p == (sums{}) {
		return
	}
	if p.arrivals > 0 {
		b.arrivals.Add(p.arrivals)
	}
	if p.gaps > 0 {
		b.gaps.Add(p.gaps)
		addFloat(&b.gapSum, p.gapSum)
		addFloat(&b.gapSq, p.gapSq)
	}
	if p.services > 0 {
		b.services.Add(p.services)
		addFloat(&b.svcSum, p.svcSum)
		addFloat(&b.svcSq, p.svcSq)
	}
	*p = sums{}
}

func addFloat(u *atomic.Uint64, x float64) {
	u.Store(math.Float64bits(math.Float64frombits(u.Load()) + x))
}

// Arrival records that a job arrived at the given time. Inter-arrival gaps,
// for c_a², are taken between successive calls on the same Recorder, so
// record all arrivals of a pipeline through one Recorder (its producer) and
// in time order; a gap that runs backwards is not counted.
func (r *Recorder) Arrival(at time.Time) {
	p, off := r.slot(at)
	if p == nil {
		return
	}
	p.arrivals++
	if !r.last.IsZero() {
		if g := at.Sub(r.last); g >= 0 {
			s := g.Seconds()
			p.gaps++
			p.gapSum += s
			p.gapSq += s * s
		}
	}
	r.last = at
	r.done(off)
}

// Service records a job whose service took d and ended at the given time.
// Negative durations are ignored.
func (r *Recorder) Service(at time.Time, d time.Duration) {
	if d < 0 {
		return
	}
	p, off := r.slot(at)
	if p == nil {
		return
	}
	s := d.Seconds()
	p.services++
	p.svcSum += s
	p.svcSq += s * s
	r.done(off)
}

// Snapshot is what an [Estimator] measured over its window.
type Snapshot struct {
	// Span is the length of time the window covered: at most the window,
	// less just after the origin.
	Span time.Duration
	// Arrivals and Services count the measurements in the window.
	Arrivals, Services uint64
	// Lambda is Arrivals / Span, per second.
	Lambda float64
	// MeanService is E[S], the mean of the service times (0 without any).
	MeanService time.Duration
	// CS2 is the squared coefficient of variation of the service times; 1
	// (the exponential case) with fewer than two of them.
	CS2 float64
	// CA2 is the squared coefficient of variation of the inter-arrival
	// times; 1 (the Poisson case) with fewer than two gaps.
	CA2 float64
}

// Snapshot merges every Recorder's buckets that fall in the window ending at
// now. It is safe to call from any goroutine while Recorders record; a
// measurement being recorded at that instant may be partly counted.
func (e *Estimator) Snapshot(now time.Time) Snapshot {
	d := now.Sub(e.origin)
	if d < 0 {
		return Snapshot{CS2: 1, CA2: 1}
	}
	cur := int64(d / e.width)
	first := cur - int64(e.buckets) + 1
	start := time.Duration(max(first, 0)) * e.width

	var arrivals, gaps, services uint64
	var gapSum, gapSq, svcSum, svcSq float64
	e.mu.Lock()
	for _, r := range e.recs {
		for i := range r.ring {
			b := &r.ring[i]
			if ep := b.epoch.Load(); ep < first || ep > cur {
				continue
			}
			arrivals += b.arrivals.Load()
			gaps += b.gaps.Load()
			gapSum += math.Float64frombits(b.gapSum.Load())
			gapSq += math.Float64frombits(b.gapSq.Load())
			services += b.services.Load()
			svcSum += math.Float64frombits(b.svcSum.Load())
			svcSq += math.Float64frombits(b.svcSq.Load())
		}
	}
	e.mu.Unlock()

	s := Snapshot{Span: d - start, Arrivals: arrivals, Services: services, CS2: 1, CA2: 1}
	if s.Span > 0 {
		s.Lambda = float64(arrivals) / s.Span.Seconds()
	}
	if services > 0 {
		mean := svcSum / float64(services)
		s.MeanService = seconds(mean)
		if services > 1 {
			s.CS2 = scv(svcSq/float64(services), mean)
		}
	}
	if gaps > 1 {
		s.CA2 = scv(gapSq/float64(gaps), gapSum/float64(gaps))
	}
	return s
}

// scv returns the squared coefficient of variation from the mean of squares
// and the mean; 0 for a zero mean.
func scv(meanSq, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	v := meanSq/(mean*mean) - 1
	if v < 0 || math.IsNaN(v) {
		return 0
	}
	return v
}

// Params returns [Params] for [Workers] filled from the snapshot's λ, E[S],
// c_a² and c_s², with the given target and bounds.
func (s Snapshot) Params(slo time.Duration, headroom float64, min, max int) Params {
	return Params{
		Lambda:      s.Lambda,
		MeanService: s.MeanService,
		CA2:         math.Min(s.CA2, MaxVariability),
		CS2:         math.Min(s.CS2, MaxVariability),
		SLO:         slo,
		Headroom:    headroom,
		Min:         min,
		Max:         max,
	}
}
