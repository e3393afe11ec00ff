package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/internal/heapwatch"
	"github.com/ziad/cpra/pulse"
)

// httpConcurrency is the number of checks in flight in the HTTP throughput
// comparison: the engine's fixed worker count and the bare loop's
// goroutines.
const httpConcurrency = 64

func loopbackServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	b.Cleanup(func() {
		pulse.CloseIdleConnections()
		srv.Close()
	})
	return srv
}

// BenchmarkHTTPThroughput runs 2,000 pulse.HTTP monitors against one
// loopback server through the whole engine, demanding more than the server
// can answer, and, in the same run, a bare net/http client loop at the same
// concurrency. It reports both rates and their ratio (the goal: at least
// 0.9).
func BenchmarkHTTPThroughput(b *testing.B) {
	srv := loopbackServer(b)
	const monitors = 2000
	e, err := cpra.New(cpra.WithWorkers(httpConcurrency, httpConcurrency))
	if err != nil {
		b.Fatal(err)
	}
	for i := range monitors {
		c, err := pulse.HTTP(fmt.Sprintf("%s/svc-%d/health", srv.URL, i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Add(cpra.Monitor{Name: fmt.Sprint("svc-", i), Check: c, Interval: 20 * time.Millisecond, Timeout: 5 * time.Second}); err != nil {
			b.Fatal(err)
		}
	}
	d := window() / 2
	var bare, engine float64
	var failed uint64
	for b.Loop() {
		bare = bareLoop(b, srv.URL, d)
		if err := e.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		s0, t0 := e.Stats(), time.Now()
		time.Sleep(d)
		s1 := e.Stats()
		engine = float64(s1.ChecksRun-s0.ChecksRun) / time.Since(t0).Seconds()
		failed = s1.ChecksFailed
		stop(b, e)
		b.StopTimer()
		e, _ = cpra.New(cpra.WithWorkers(httpConcurrency, httpConcurrency))
		for i := range monitors {
			c, _ := pulse.HTTP(fmt.Sprintf("%s/svc-%d/health", srv.URL, i))
			e.Add(cpra.Monitor{Name: fmt.Sprint("svc-", i), Check: c, Interval: 20 * time.Millisecond, Timeout: 5 * time.Second})
		}
		b.StartTimer()
	}
	if failed > 0 {
		b.Fatalf("%d engine checks failed against a healthy server", failed)
	}
	b.ReportMetric(engine, "checks/s")
	b.ReportMetric(bare, "bare-checks/s")
	b.ReportMetric(engine/bare, "engine/bare")
}

// bareLoop is what a hand-written poller does: httpConcurrency goroutines
// that GET, drain and close in a loop, with a transport tuned to keep that
// many connections.
func bareLoop(b *testing.B, url string, d time.Duration) float64 {
	tr := &http.Transport{MaxIdleConnsPerHost: httpConcurrency}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var n, failed atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for g := range httpConcurrency {
		wg.Go(func() {
			for i := g; time.Now().Before(deadline); i += httpConcurrency {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/svc-%d/health", url, i%2000), nil)
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				cancel()
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d bare checks failed", f)
	}
	return float64(n.Load()) / time.Since(start).Seconds()
}

// BenchmarkHTTPFleetMemory runs n pulse.HTTP monitors, each with its own
// URL, at a 60s interval against one loopback server in the same process,
// and reports the whole process's resident memory (the budget at 1M: 256
// MB) and the heap per monitor, checker included. Resident memory belongs
// to the process: after the 1M baselines it holds what they left behind
// (rss-before-MB shows how much), so run this benchmark alone for the
// budget figure: go test -run '^$' -bench HTTPFleetMemory/1M ./bench/
func BenchmarkHTTPFleetMemory(b *testing.B) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			srv := loopbackServer(b)
			var rss, rssBefore, perMonitor, offHeap, rate float64
			var failed uint64
			for b.Loop() {
				b.StopTimer()
				// RSS is the process's: hand back what earlier benchmarks
				// left, so only this fleet is measured.
				debug.FreeOSMemory()
				rssBefore = residentMB()
				before, offBefore := heapwatch.Live(), cpra.OffHeapBytes()
				b.StartTimer()
				e, err := cpra.New(cpra.WithCapacity(sz.n))
				if err != nil {
					b.Fatal(err)
				}
				for i := range sz.n {
					c, err := pulse.HTTP(srv.URL + "/svc-" + strconv.Itoa(i) + "/health")
					if err != nil {
						b.Fatal(err)
					}
					if _, err := e.Add(cpra.Monitor{Name: "svc-" + strconv.Itoa(i), Check: c, Interval: time.Minute, Timeout: 10 * time.Second}); err != nil {
						b.Fatal(err)
					}
				}
				if err := e.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				time.Sleep(window())
				s := e.Stats()
				rate = float64(s.ChecksRun) / window().Seconds()
				failed = s.ChecksFailed
				rss = residentMB()
				perMonitor = float64(heapwatch.Live()-before) / float64(sz.n)
				offHeap = float64(cpra.OffHeapBytes()-offBefore) / float64(sz.n)
				b.StopTimer()
				stop(b, e)
				b.StartTimer()
			}
			if failed > 0 {
				b.Fatalf("%d checks failed against a healthy server", failed)
			}
			b.ReportMetric(rss, "rss-MB")
			b.ReportMetric(rssBefore, "rss-before-MB")
			b.ReportMetric(perMonitor, "B/monitor")
			b.ReportMetric(offHeap, "offheap-B/monitor") // part of B/monitor
			b.ReportMetric(rate, "checks/s")
		})
	}
}

// residentMB reads the process's resident set size from /proc.
func residentMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
