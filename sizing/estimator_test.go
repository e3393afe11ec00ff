package sizing

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// sampler draws service or inter-arrival times, in seconds, with mean 1.
type sampler struct {
	name string
	scv  float64 // the true squared coefficient of variation
	draw func(r *rand.Rand) float64
}

var samplers = []sampler{
	{"deterministic", 0, func(*rand.Rand) float64 { return 1 }},
	{"exponential", 1, func(r *rand.Rand) float64 { return r.ExpFloat64() }},
	// Lognormal with σ = 1, scaled to mean 1: heavy (subexponential) tail,
	// c² = e^{σ²} − 1.
	{"lognormal", math.E - 1, func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64() - 0.5) }},
	// Two-phase hyperexponential with balanced means: with probability p a
	// mean of 1/(2p), else 1/(2(1−p)); c² = 1/(2p(1−p)) − 1 = 4 for this p.
	{"hyperexponential", 4, func(r *rand.Rand) float64 {
		const p = 0.1127016653792583 // (1 − √(3/5))/2
		if r.Float64() < p {
			return r.ExpFloat64() / (2 * p)
		}
		return r.ExpFloat64() / (2 * (1 - p))
	}},
}

func TestEstimatorRecoversMoments(t *testing.T) {
	const (
		n    = 60000
		mean = time.Millisecond // mean inter-arrival and service time
	)
	for _, s := range samplers {
		t.Run(s.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(s.name))))
			e := NewEstimator(time.Hour, 10, t0)
			rec := e.Recorder()
			at := t0
			for range n {
				at = at.Add(time.Duration(s.draw(r) * float64(mean)))
				rec.Arrival(at)
				rec.Service(at, time.Duration(s.draw(r)*float64(mean)))
			}
			rec.Flush()
			got := e.Snapshot(at)
			if got.Arrivals != n || got.Services != n {
				t.Fatalf("got %d arrivals and %d services, want %d each", got.Arrivals, got.Services, n)
			}
			tol := 0.02 + 0.1*s.scv // relative to 1 + c²
			if d := math.Abs(got.CS2 - s.scv); d > tol*(1+s.scv) {
				t.Errorf("CS2: got %.4f, want %.4f", got.CS2, s.scv)
			}
			if d := math.Abs(got.CA2 - s.scv); d > tol*(1+s.scv) {
				t.Errorf("CA2: got %.4f, want %.4f", got.CA2, s.scv)
			}
			if d := math.Abs(got.MeanService.Seconds()/mean.Seconds() - 1); d > 0.03 {
				t.Errorf("MeanService: got %v, want %v", got.MeanService, mean)
			}
			if d := math.Abs(got.Lambda*mean.Seconds() - 1); d > 0.03 {
				t.Errorf("Lambda: got %.1f/s, want %.1f/s", got.Lambda, 1/mean.Seconds())
			}
		})
	}
}

func TestEstimatorWindowForgets(t *testing.T) {
	e := NewEstimator(10*time.Second, 10, t0)
	rec := e.Recorder()
	at := t0
	// 30 s at 1000/s with 5 ms service, then 30 s at 100/s with 50 ms.
	for range 30000 {
		at = at.Add(time.Millisecond)
		rec.Arrival(at)
		rec.Service(at, 5*time.Millisecond)
	}
	if got := e.Snapshot(at); math.Abs(got.Lambda-1000) > 1 || got.MeanService != 5*time.Millisecond {
		t.Errorf("first phase: got λ %.1f E[S] %v, want 1000 and 5ms", got.Lambda, got.MeanService)
	}
	for range 3000 {
		at = at.Add(10 * time.Millisecond)
		rec.Arrival(at)
		rec.Service(at, 50*time.Millisecond)
	}
	got := e.Snapshot(at)
	if math.Abs(got.Lambda-100) > 1 || got.MeanService != 50*time.Millisecond || got.CS2 > 1e-9 || got.CA2 > 1e-9 {
		t.Errorf("second phase: got %+v, want λ 100 E[S] 50ms and no variation", got)
	}
	// The clock sits on a bucket boundary: the newest bucket has just begun,
	// so the window covers the nine before it.
	if got.Span != 9*time.Second {
		t.Errorf("got span %v, want 9s", got.Span)
	}
	// After 5 quiet seconds half the window is empty; after 10 all of it.
	if got := e.Snapshot(at.Add(5 * time.Second)); math.Abs(got.Lambda-45) > 1 {
		t.Errorf("5 s later: got λ %.1f, want about 45", got.Lambda)
	}
	if got := e.Snapshot(at.Add(11 * time.Second)); got.Arrivals != 0 || got.Lambda != 0 || got.CS2 != 1 || got.CA2 != 1 {
		t.Errorf("11 s later: got %+v, want an empty window", got)
	}
}

func TestEstimatorEdges(t *testing.T) {
	e := NewEstimator(0, 0, t0)
	if e.Window() != DefaultWindow {
		t.Errorf("got window %v, want %v", e.Window(), DefaultWindow)
	}
	if got := e.Snapshot(t0.Add(time.Second)); got.Lambda != 0 || got.CS2 != 1 || got.CA2 != 1 || got.MeanService != 0 {
		t.Errorf("empty: got %+v, want zero rate and c² of 1", got)
	}
	rec := e.Recorder()
	rec.Arrival(t0.Add(-time.Second))                 // before the origin
	rec.Service(t0.Add(time.Second), -time.Second)    // negative
	rec.Service(t0.Add(-time.Second), time.Second)    // before the origin
	rec.Arrival(t0.Add(2 * time.Second))              // first in window
	rec.Arrival(t0.Add(1 * time.Second))              // backwards: counted, no gap
	rec.Service(t0.Add(2*time.Second), time.Second/2) // one sample: c² stays 1
	got := e.Snapshot(t0.Add(4 * time.Second))
	want := Snapshot{Span: 4 * time.Second, Arrivals: 2, Services: 1, Lambda: 0.5, MeanService: time.Second / 2, CS2: 1, CA2: 1}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := e.Snapshot(t0.Add(-time.Second)); got.Arrivals != 0 {
		t.Errorf("before origin: got %+v, want empty", got)
	}
	p := got.Params(time.Second, 0.1, 1, 10)
	if p.Lambda != 0.5 || p.MeanService != time.Second/2 || p.SLO != time.Second || p.Max != 10 {
		t.Errorf("Params: got %+v", p)
	}
}

func TestRecorderDoesNotAllocate(t *testing.T) {
	e := NewEstimator(time.Second, 8, t0)
	rec := e.Recorder()
	at := t0
	got := testing.AllocsPerRun(1000, func() {
		at = at.Add(time.Millisecond)
		rec.Arrival(at)
		rec.Service(at, time.Millisecond)
	})
	if got != 0 {
		t.Errorf("got %v allocations per record, want 0", got)
	}
}

// Recorders on several goroutines with a concurrent reader: run with -race.
func TestEstimatorConcurrent(t *testing.T) {
	const workers, each = 4, 20000
	e := NewEstimator(time.Hour, 4, t0)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				e.Snapshot(t0.Add(time.Minute))
			}
		}
	})
	var rw sync.WaitGroup
	for w := range workers {
		rw.Go(func() {
			rec := e.Recorder()
			for i := range each {
				at := t0.Add(time.Duration(i) * time.Millisecond)
				rec.Service(at, time.Duration(1+w)*time.Millisecond)
			}
			rec.Flush()
		})
	}
	rw.Wait()
	close(stop)
	wg.Wait()
	got := e.Snapshot(t0.Add(time.Minute))
	if got.Services != workers*each {
		t.Errorf("got %d services, want %d", got.Services, workers*each)
	}
	if want := 2500 * time.Microsecond; got.MeanService != want {
		t.Errorf("got mean %v, want %v", got.MeanService, want)
	}
}

// Without Flush, a Recorder holds back only records made within
// publishAfter of each other, fewer than publishEvery of them.
func TestRecorderHoldsBackLittle(t *testing.T) {
	e := NewEstimator(time.Minute, 6, t0)
	rec := e.Recorder()
	at := t0
	for i := range 1000 {
		at = at.Add(2 * publishAfter) // sparse: every record is published
		rec.Service(at, time.Millisecond)
		if got := e.Snapshot(at).Services; got != uint64(i+1) {
			t.Fatalf("sparse record %d: got %d services, want %d", i, got, i+1)
		}
	}
	for i := range 1000 {
		at = at.Add(time.Microsecond) // dense
		rec.Service(at, time.Millisecond)
		got := e.Snapshot(at).Services
		if held := uint64(1000+i+1) - got; held >= publishEvery {
			t.Fatalf("dense record %d: got %d held back, want fewer than %d", i, held, publishEvery)
		}
	}
	rec.Flush()
	if got := e.Snapshot(at).Services; got != 2000 {
		t.Errorf("after Flush: got %d services, want 2000", got)
	}
}
