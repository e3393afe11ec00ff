package sizing

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// simulate runs a first-come-first-served G/G/c queue over the given
// inter-arrival and service times (seconds) and returns each job's response
// time: its wait for a free server plus its service.
func simulate(gaps, service []float64, c int) []float64 {
	free := make([]float64, c) // when each server next becomes free
	resp := make([]float64, len(gaps))
	now := 0.0
	for i, g := range gaps {
		now += g
		j := 0
		for k := 1; k < c; k++ {
			if free[k] < free[j] {
				j = k
			}
		}
		start := math.Max(now, free[j])
		free[j] = start + service[i]
		resp[i] = free[j] - now
	}
	return resp
}

// p95OfBatchMeans splits xs into n consecutive batches and returns the 95th
// percentile of the batch means.
func p95OfBatchMeans(xs []float64, n int) float64 {
	size := len(xs) / n
	means := make([]float64, n)
	for b := range n {
		var s float64
		for _, x := range xs[b*size : (b+1)*size] {
			s += x
		}
		means[b] = s / float64(size)
	}
	slices.Sort(means)
	return means[int(math.Ceil(0.95*float64(n)))-1]
}

// TestSimulatedPoolMeetsSLO measures a synthetic pipeline with an Estimator,
// sizes it with Workers and replays the same jobs through a simulated G/G/c
// queue. The SLO bounds the mean response time: the mean over all jobs must
// be within it, and so must the 95th percentile of the means of 20 batches of
// consecutive jobs (5 s each), up to a 10 % tolerance for the sampling noise
// of a batch (heavy-tailed service times make batch means vary by about that
// much; headroom is what covers it in production). The least stable pool,
// ⌊a⌋+1 workers, must miss the SLO.
func TestSimulatedPoolMeetsSLO(t *testing.T) {
	const (
		lambda  = 2000.0 // per second
		es      = 0.010  // seconds
		slo     = 12 * time.Millisecond
		jobs    = 200000
		batches = 20
		tol     = 0.10
	)
	n := jobs // 0.1 s in all: no shorter run in -short mode, batches must stay large
	for _, s := range samplers {
		t.Run(s.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(len(s.name))))
			gaps := make([]float64, n)
			service := make([]float64, n)
			for i := range n {
				gaps[i] = r.ExpFloat64() / lambda
				service[i] = s.draw(r) * es
			}

			// Measure the first 10 s as a pipeline would.
			e := NewEstimator(10*time.Second, 10, t0)
			rec := e.Recorder()
			now := 0.0
			for i := range n {
				now += gaps[i]
				if now > 10 {
					break
				}
				at := t0.Add(time.Duration(now * 1e9))
				rec.Arrival(at)
				rec.Service(at, time.Duration(service[i]*1e9))
			}
			snap := e.Snapshot(t0.Add(10 * time.Second))
			d, err := Workers(snap.Params(slo, 0, 1, 0))
			if err != nil || !d.Meets {
				t.Fatalf("Workers: got %+v, %v", d, err)
			}

			resp := simulate(gaps, service, d.Workers)
			if mean := p95OfBatchMeans(resp, 1); mean > slo.Seconds() {
				t.Errorf("%d workers: got mean response %.2fms, want at most the SLO %v", d.Workers, mean*1e3, slo)
			}
			got := p95OfBatchMeans(resp, batches)
			if limit := slo.Seconds() * (1 + tol); got > limit {
				t.Errorf("%d workers: got p95 of batch mean response %.2fms, want at most %.2fms",
					d.Workers, got*1e3, limit*1e3)
			}
			small := int(lambda*es) + 1
			if small >= d.Workers {
				t.Fatalf("the small pool (%d) is not smaller than the chosen one (%d)", small, d.Workers)
			}
			if got := p95OfBatchMeans(simulate(gaps, service, small), batches); got <= slo.Seconds() {
				t.Errorf("%d workers: got p95 of batch mean response %.2fms, want above the SLO %v", small, got*1e3, slo)
			}
			t.Logf("c² %.2f (measured %.2f): chosen %d workers, predicted response %v", s.scv, snap.CS2, d.Workers, d.Response)
		})
	}
}

// TestStepChange feeds an Estimator with a load that triples for 10 periods
// and then falls back, re-sizing once a period through a Damper: the pool
// must follow the step up within a few periods, come back down, and never
// reverse direction more than the two steps require.
func TestStepChange(t *testing.T) {
	const (
		es     = 10 * time.Millisecond
		slo    = 15 * time.Millisecond
		period = time.Second
	)
	rates := make([]float64, 40)
	for i := range rates {
		rates[i] = 1000
		if i >= 10 && i < 20 {
			rates[i] = 3000
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	e := NewEstimator(2*time.Second, 8, t0)
	rec := e.Recorder()
	damp := Damper{MaxStep: 0.5, Deadband: 0.1, DownAfter: 3}
	var sizes, targets []int
	now := 0.0
	for p, lambda := range rates {
		end := float64(p+1) * period.Seconds()
		for {
			now += r.ExpFloat64() / lambda
			if now >= end {
				now = end
				break
			}
			at := t0.Add(time.Duration(now * 1e9))
			rec.Arrival(at)
			rec.Service(at, time.Duration(r.ExpFloat64()*float64(es)))
		}
		d, err := Workers(e.Snapshot(t0.Add(time.Duration(end*1e9))).Params(slo, 0.1, 1, 500))
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, d.Workers)
		sizes = append(sizes, damp.Next(d.Workers))
	}
	t.Logf("targets %v", targets)
	t.Logf("sizes   %v", sizes)

	low, high := sizes[9], sizes[19]
	if high < 2*low {
		t.Fatalf("got %d workers at the end of the high phase and %d before it, want about 3 times as many", high, low)
	}
	for i := 13; i < 20; i++ { // within 3 periods of the step up
		if sizes[i] < high*9/10 {
			t.Errorf("period %d: got %d workers, want near %d within 3 periods of the step up", i, sizes[i], high)
		}
	}
	if last := sizes[len(sizes)-1]; last > low*12/10 || last < low*8/10 {
		t.Errorf("got %d workers at the end, want near %d as before the step", last, low)
	}
	reversals, dir := 0, 0
	for i := 1; i < len(sizes); i++ {
		var s int
		switch {
		case sizes[i] > sizes[i-1]:
			s = 1
		case sizes[i] < sizes[i-1]:
			s = -1
		}
		if s != 0 && dir != 0 && s != dir {
			reversals++
		}
		if s != 0 {
			dir = s
		}
	}
	if reversals > 2 {
		t.Errorf("got %d changes of direction, want at most 2 (up, then down): %v", reversals, sizes)
	}
}

func TestDamper(t *testing.T) {
	tests := []struct {
		name    string
		d       Damper
		targets []int
		want    []int
	}{
		{"zero value follows", Damper{}, []int{5, 10, 3, 0, 7}, []int{5, 10, 3, 1, 7}},
		{"max step up", Damper{MaxStep: 0.5}, []int{10, 100, 100, 100, 100}, []int{10, 15, 22, 33, 49}},
		{"at least one", Damper{MaxStep: 0.01}, []int{2, 5, 5}, []int{2, 3, 4}},
		{"deadband holds", Damper{Deadband: 0.1}, []int{100, 95, 91, 90, 89}, []int{100, 100, 100, 100, 89}},
		{"down after", Damper{DownAfter: 3, Deadband: 0.2}, []int{10, 5, 5, 9, 5, 5, 5, 5}, []int{10, 10, 10, 10, 10, 10, 5, 5}},
		{"down stepwise", Damper{DownAfter: 2, MaxStep: 0.5}, []int{40, 4, 4, 4, 4, 4}, []int{40, 40, 20, 10, 5, 4}},
		{"up resets down count", Damper{DownAfter: 2}, []int{10, 5, 12, 5, 5}, []int{10, 10, 12, 12, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d
			var got []int
			for _, x := range tt.targets {
				got = append(got, d.Next(x))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if d.Current() != got[len(got)-1] {
				t.Errorf("Current: got %d, want %d", d.Current(), got[len(got)-1])
			}
			d.Reset()
			if got := d.Next(3); got != 3 {
				t.Errorf("after Reset: got %d, want 3", got)
			}
		})
	}
}
