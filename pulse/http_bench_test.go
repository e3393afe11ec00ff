package pulse

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchConcurrency is the number of checks in flight, as engine workers
// would run them.
const benchConcurrency = 64

func okServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	b.Cleanup(func() {
		CloseIdleConnections()
		srv.Close()
	})
	return srv
}

// bareCheck is what a hand-written loop does: GET, drain, close, look at
// the status. Its transport gets enough idle connections for the
// concurrency, as a tuned client would.
func bareChecker(url string) Checker {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchConcurrency}}
	return CheckerFunc(func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

// runConcurrent performs n checks of c with benchConcurrency goroutines
// and returns the elapsed time.
func runConcurrent(b *testing.B, c Checker, n int) time.Duration {
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range benchConcurrency {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if c.Check(ctx) != nil {
					failed.Add(1)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d checks failed", f, n)
	}
	return d
}

// BenchmarkHTTPLoopback compares HTTP checkers with a bare net/http loop at
// the same concurrency against one loopback server, in the same run:
// checks/s of each, and their ratio (checker/bare; the goal is >= 0.9).
// The two are interleaved in rounds so that drifts in machine load hit both.
func BenchmarkHTTPLoopback_c64(b *testing.B) {
	srv := okServer(b)
	checker := MustHTTP(srv.URL + "/")
	bare := bareChecker(srv.URL + "/")
	b.ReportAllocs()
	const rounds = 4
	per := max(b.N/rounds, benchConcurrency)
	runConcurrent(b, checker, benchConcurrency) // warm both pools
	runConcurrent(b, bare, benchConcurrency)
	b.ResetTimer()
	var tc, tb time.Duration
	for range rounds {
		tb += runConcurrent(b, bare, per)
		tc += runConcurrent(b, checker, per)
	}
	b.StopTimer()
	total := float64(per * rounds)
	c, bb := total/tc.Seconds(), total/tb.Seconds()
	b.ReportMetric(c, "checks/s")
	b.ReportMetric(bb, "bare-checks/s")
	b.ReportMetric(c/bb, "checker/bare")
}

// BenchmarkHTTPChecker_c64 and BenchmarkHTTPBare_c64 are the two sides of
// BenchmarkHTTPLoopback_c64 as separate benchmarks, for benchstat.
func BenchmarkHTTPChecker_c64(b *testing.B) {
	srv := okServer(b)
	benchSide(b, MustHTTP(srv.URL+"/"))
}

func BenchmarkHTTPBare_c64(b *testing.B) {
	srv := okServer(b)
	benchSide(b, bareChecker(srv.URL+"/"))
}

func benchSide(b *testing.B, c Checker) {
	runConcurrent(b, c, benchConcurrency)
	b.ReportAllocs()
	b.ResetTimer()
	d := runConcurrent(b, c, b.N)
	b.ReportMetric(float64(b.N)/d.Seconds(), "checks/s")
}

// BenchmarkHTTPCheckerFootprint_100k reports the heap held by one HTTP
// checker value stored in a Checker, what it keeps of its URL included
// (the caller's URL strings are not counted), for a
// plain GET monitor and for one with a body condition, measured once as the
// heap growth over 100k constructions; ns/op is the cost of constructing one.
func BenchmarkHTTPCheckerFootprint_100k(b *testing.B) {
	const n = 100_000
	urls := make([]string, n)
	for i := range urls {
		urls[i] = "http://host-" + strconv.Itoa(i) + ".example.test:8080/healthz"
	}
	for _, tc := range []struct {
		name string
		opts []HTTPOption
	}{
		{"plain", nil},
		{"status+contains", []HTTPOption{WithStatus(200), WithBodyContains("ok")}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			keep := make([]Checker, n) // values, as a monitor holds them
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			for i := range keep {
				keep[i] = *MustHTTP(urls[i], tc.opts...)
			}
			runtime.GC()
			runtime.ReadMemStats(&m1)
			perChecker := (float64(m1.HeapAlloc) - float64(m0.HeapAlloc)) / n
			runtime.KeepAlive(keep)
			keep = nil
			// The timed part: constructing (and validating) one checker.
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_ = MustHTTP(urls[i%n], tc.opts...)
				i++
			}
			b.ReportMetric(perChecker, "B/checker")
		})
	}
}
