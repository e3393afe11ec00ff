package sizing

import (
	"math"
	"sync"
	"testing"
	"time"
)

var sink float64

var params1M = Params{Lambda: 1e6, MeanService: 20 * time.Millisecond, CA2: 1, CS2: 1, SLO: 25 * time.Millisecond}

// BenchmarkWorkers_1M solves λ = 10^6/s, E[S] = 20 ms (a = 20,000 erlangs).
func BenchmarkWorkers_1M(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		d, err := Workers(params1M)
		if err != nil {
			b.Fatal(err)
		}
		sink += float64(d.Workers)
	}
}

// BenchmarkWorkersNaiveBisection_1M is the baseline: bisection over c, each
// candidate evaluated with the full Erlang B recurrence from zero servers.
func BenchmarkWorkersNaiveBisection_1M(b *testing.B) {
	b.ReportAllocs()
	p := params1M
	es, slo := p.MeanService.Seconds(), p.SLO.Seconds()
	a := p.Lambda * es
	meets := func(c int) bool {
		bc := erlangBFull(c, a)
		pw := float64(c) * bc / (float64(c) - a*(1-bc))
		return pw*es/(float64(c)-a)+es <= slo
	}
	for b.Loop() {
		lo, hi := int(a)+1, 2*int(a)+2
		for lo < hi {
			mid := lo + (hi-lo)/2
			if meets(mid) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		sink += float64(lo)
	}
}

func BenchmarkErlangC_20k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink += ErlangC(20200, 20000)
	}
}

// BenchmarkErlangCFullRecurrence_20k is the baseline without the fast start.
func BenchmarkErlangCFullRecurrence_20k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		bc := erlangBFull(20200, 20000)
		sink += erlangCFromB(20200, 20000, bc)
	}
}

func BenchmarkRecorderService(b *testing.B) {
	b.ReportAllocs()
	e := NewEstimator(time.Second, 10, t0)
	rec := e.Recorder()
	at := t0
	for b.Loop() {
		at = at.Add(time.Microsecond)
		rec.Service(at, time.Millisecond)
	}
}

// BenchmarkRecorderServiceParallel records from every goroutine of
// RunParallel, each through its own Recorder.
func BenchmarkRecorderServiceParallel(b *testing.B) {
	b.ReportAllocs()
	e := NewEstimator(time.Second, 10, t0)
	b.RunParallel(func(pb *testing.PB) {
		rec := e.Recorder()
		at := t0
		for pb.Next() {
			at = at.Add(time.Microsecond)
			rec.Service(at, time.Millisecond)
		}
	})
}

// mutexMoments is the baseline recorder: one set of sums behind a mutex.
type mutexMoments struct {
	mu         sync.Mutex
	n          uint64
	sum, sumSq float64
}

func (m *mutexMoments) add(d time.Duration) {
	s := d.Seconds()
	m.mu.Lock()
	m.n++
	m.sum += s
	m.sumSq += s * s
	m.mu.Unlock()
}

func BenchmarkMutexService(b *testing.B) {
	b.ReportAllocs()
	var m mutexMoments
	for b.Loop() {
		m.add(time.Millisecond)
	}
	sink += m.sum
}

func BenchmarkMutexServiceParallel(b *testing.B) {
	b.ReportAllocs()
	var m mutexMoments
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.add(time.Millisecond)
		}
	})
	sink += math.Abs(m.sum)
}

func BenchmarkSnapshot_16Recorders(b *testing.B) {
	b.ReportAllocs()
	e := NewEstimator(10*time.Second, 10, t0)
	for range 16 {
		rec := e.Recorder()
		for i := range 1000 {
			rec.Service(t0.Add(time.Duration(i)*10*time.Millisecond), time.Millisecond)
		}
	}
	for b.Loop() {
		sink += e.Snapshot(t0.Add(10 * time.Second)).Lambda
	}
}
