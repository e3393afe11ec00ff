package bench

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/pulse"
	"github.com/ziad/cpra/statuspage"
)

// listFleet runs n monitors, a hundredth of them failing every second
// (down after one failure) and the rest checked every 30s, and returns
// once the failing ones are down. It is what the listing benchmarks read.
func listFleet(b *testing.B, n int) (*cpra.Engine, []string, []cpra.ID) {
	b.Helper()
	ns := names(n)
	e, err := cpra.New(cpra.WithCapacity(n))
	if err != nil {
		b.Fatal(err)
	}
	refused := pulse.CheckerFunc(func(context.Context) error { return errors.New("dial tcp 10.0.0.1:443: connection refused") })
	ids := make([]cpra.ID, n)
	for i, name := range ns {
		m := cpra.Monitor{Name: name, Check: noop, Interval: 30 * time.Second, Timeout: time.Second,
			Labels: map[string]string{"team": []string{"web", "data", "edge", "core"}[i%4]}}
		if i%100 == 0 {
			m.Check, m.Interval, m.FailureThreshold = refused, time.Second, 1
		}
		if ids[i], err = e.Add(m); err != nil {
			b.Fatal(err)
		}
	}
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { shutdownEngine(b, e) })
	deadline := time.Now().Add(time.Minute)
	for e.Stats().Down < n/100 {
		if time.Now().After(deadline) {
			b.Fatalf("the failing hundredth is not down after a minute: %+v", e.Stats())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return e, ns, ids
}

func shutdownEngine(b *testing.B, e *cpra.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		b.Errorf("Shutdown: %v", err)
	}
}

// BenchmarkLookup measures Engine.Lookup of a random name in a running
// fleet: one round trip through the engine's loop.
func BenchmarkLookup(b *testing.B) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			e, ns, _ := listFleet(b, sz.n)
			r := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := e.Lookup(ns[r.IntN(len(ns))]); !ok {
					b.Fatal("not found")
				}
			}
		})
	}
}

// BenchmarkNameMapLookup is Lookup's baseline: the map from names to IDs
// under a lock that an application kept before Lookup.
func BenchmarkNameMapLookup(b *testing.B) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			e, ns, ids := listFleet(b, sz.n)
			_ = e
			var mu sync.RWMutex
			byName := make(map[string]cpra.ID, len(ns))
			for i, n := range ns {
				byName[n] = ids[i]
			}
			r := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				mu.RLock()
				_, ok := byName[ns[r.IntN(len(ns))]]
				mu.RUnlock()
				if !ok {
					b.Fatal("not found")
				}
			}
		})
	}
}

// BenchmarkStatusesAll iterates over the status of every monitor with
// Engine.Statuses, a step at a time through the loop.
func BenchmarkStatusesAll(b *testing.B) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			e, _, _ := listFleet(b, sz.n)
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for range e.Statuses(cpra.StatusFilter{}) {
					n++
				}
				if n != sz.n {
					b.Fatalf("listed %d, want %d", n, sz.n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(sz.n), "ns/monitor")
		})
	}
}

// BenchmarkStatusByID is the baseline of StatusesAll: Engine.Status of
// every monitor by an ID the application kept, one call each.
func BenchmarkStatusByID(b *testing.B) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			e, _, ids := listFleet(b, sz.n)
			b.ReportAllocs()
			for b.Loop() {
				for _, id := range ids {
					if _, err := e.Status(id); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(sz.n), "ns/monitor")
		})
	}
}

// BenchmarkStatusesDown lists the down monitors (a hundredth of the
// fleet), which visits only the failing ones.
func BenchmarkStatusesDown(b *testing.B) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			e, _, _ := listFleet(b, sz.n)
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for range e.Statuses(cpra.StatusFilter{Conditions: cpra.ConditionDown}) {
					n++
				}
				if n != sz.n/100 {
					b.Fatalf("listed %d down, want %d", n, sz.n/100)
				}
			}
		})
	}
}

// pageBench measures one request to a status page of the fleet.
func pageBench(b *testing.B, path string, asJSON bool) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			e, _, _ := listFleet(b, sz.n)
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				// A new page each time: its first render, counts included
				// (a page reuses its counts for a second).
				p := statuspage.New(e)
				r := httptest.NewRequest("GET", path, nil)
				if asJSON {
					r.Header.Set("Accept", "application/json")
				}
				w := httptest.NewRecorder()
				p.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("GET %s: %d", path, w.Code)
				}
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

// BenchmarkStatusPageFirst renders the status page's overview in HTML:
// counts, the first 50 monitors down, no alert log.
func BenchmarkStatusPageFirst(b *testing.B) { pageBench(b, "/", false) }

// BenchmarkStatusPageListJSON is the first page (50) of the listing of
// every monitor, in JSON.
func BenchmarkStatusPageListJSON(b *testing.B) { pageBench(b, "/monitors", true) }

// BenchmarkStatusPageSearchMiss is a search that matches no monitor: it
// reads every name once.
func BenchmarkStatusPageSearchMiss(b *testing.B) { pageBench(b, "/monitors?q=absent", true) }

// BenchmarkCounts counts the monitors by condition: one pass over every
// monitor's health in the loop.
func BenchmarkCounts(b *testing.B) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			e, _, _ := listFleet(b, sz.n)
			b.ReportAllocs()
			for b.Loop() {
				if c := e.Counts(); c.Monitors != sz.n {
					b.Fatalf("counted %d, want %d", c.Monitors, sz.n)
				}
			}
		})
	}
}

// BenchmarkStats is the baseline of Counts: Engine.Stats, whose up and
// down counts the engine keeps as it goes.
func BenchmarkStats(b *testing.B) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			e, _, _ := listFleet(b, sz.n)
			b.ReportAllocs()
			for b.Loop() {
				if s := e.Stats(); s.Monitors != sz.n {
					b.Fatalf("counted %d, want %d", s.Monitors, sz.n)
				}
			}
		})
	}
}

// BenchmarkEngineLagListing is BenchmarkEngineLag with a listing of every
// monitor running again and again through the window: what the steps of
// Engine.Statuses cost the schedule. BenchmarkEngineLag is its baseline.
func BenchmarkEngineLagListing(b *testing.B) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			e := newFleet(b, names(sz.n), time.Minute)
			var lag cpra.LagStats
			var listings float64
			for b.Loop() {
				if err := e.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				time.Sleep(2 * time.Second)
				done := make(chan struct{})
				var wg sync.WaitGroup
				n := 0
				wg.Go(func() {
					for {
						for range e.Statuses(cpra.StatusFilter{}) {
						}
						n++
						select {
						case <-done:
							return
						default:
						}
					}
				})
				time.Sleep(window())
				lag = e.Stats().Lag
				close(done)
				wg.Wait()
				listings = float64(n)
				stop(b, e)
				b.StopTimer()
				e = newFleet(b, names(sz.n), time.Minute)
				b.StartTimer()
			}
			reportLag(b, lag.P50, lag.P99, lag.Max)
			b.ReportMetric(listings, "listings")
		})
	}
}
