package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/internal/heapwatch"
	"github.com/ziad/cpra/pulse"
	"github.com/ziad/cpra/store"
)

type size struct {
	name string
	n    int
}

func sizes(b *testing.B) []size {
	if testing.Short() {
		return []size{{"10k", 10_000}}
	}
	return []size{{"10k", 10_000}, {"100k", 100_000}, {"1M", 1_000_000}}
}

// noop is the check used throughout: it measures the engine, not a target.
var noop = pulse.CheckerFunc(func(context.Context) error { return nil })

func names(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("svc-%07d.example.internal", i)
	}
	return s
}

func newFleet(b *testing.B, ns []string, interval time.Duration, opts ...cpra.Option) *cpra.Engine {
	return buildFleet(b, false, ns, interval, opts...)
}

// buildFleet adds the monitors, plain or with every alert-reducing feature
// on (see featured).
func buildFleet(b *testing.B, features bool, ns []string, interval time.Duration, opts ...cpra.Option) *cpra.Engine {
	b.Helper()
	if features {
		opts = append(opts, cpra.WithGrouping("zone", 10*time.Second))
	}
	e, err := cpra.New(append([]cpra.Option{cpra.WithCapacity(len(ns))}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	var zones []map[string]string
	if features {
		zones = make([]map[string]string, 100)
		for i := range zones {
			zones[i] = map[string]string{"zone": fmt.Sprintf("z%02d", i)}
		}
		// A maintenance over one zone, open at another time of day.
		_, err := e.AddMaintenance(cpra.Maintenance{Selector: map[string]string{"zone": "z00"},
			Windows: []cpra.MaintenanceWindow{{Start: time.Now().Add(12 * time.Hour), Duration: time.Hour, Repeat: cpra.Daily}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	for i, name := range ns {
		m := cpra.Monitor{Name: name, Check: noop, Interval: interval, Timeout: time.Second}
		if features {
			featured(&m, i, ns, zones)
		}
		if _, err := e.Add(m); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// featured turns on, for monitor i of the fleet: flap detection, a failure
// window, a zone label (grouping and the maintenance select by it) and,
// for all but the first thousand, a parent among the first thousand.
func featured(m *cpra.Monitor, i int, ns []string, zones []map[string]string) {
	m.Flap = cpra.FlapThresholds{High: 50}
	m.FailureWindow = 5
	m.Labels = zones[i%len(zones)]
	if parents := min(1000, len(ns)/10); i >= parents {
		m.DependsOn = []cpra.Ref{{Name: ns[i%parents]}}
	}
}

func stop(b *testing.B, e *cpra.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEngineThroughput runs no-op monitors whose intervals demand five
// million checks a second (one million for 10k, whose interval is at the
// 10ms floor), more than two cores can serve, and reports how many the whole
// engine completes over a window: schedule, queue, worker, apply.
func BenchmarkEngineThroughput(b *testing.B) { engineThroughput(b, false) }

// BenchmarkEngineFeaturesThroughput is BenchmarkEngineThroughput with
// flap detection, failure windows, labels, dependencies, grouping and a
// maintenance on (see featured).
func BenchmarkEngineFeaturesThroughput(b *testing.B) { engineThroughput(b, true) }

func engineThroughput(b *testing.B, features bool) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			interval := throughputInterval(sz.n)
			e := buildFleet(b, features, names(sz.n), interval)
			if err := e.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer stop(b, e)
			time.Sleep(time.Second) // warm up: workers spawn, phases fill in
			var rate, cpu float64
			for b.Loop() {
				start, cpu0, t0 := e.Stats().ChecksRun, cpuTime(), time.Now()
				time.Sleep(window() / 2)
				done := float64(e.Stats().ChecksRun - start)
				rate = done / time.Since(t0).Seconds()
				cpu = float64(cpuTime()-cpu0) / done
			}
			b.ReportMetric(rate, "checks/s")
			b.ReportMetric(cpu, "cpu-ns/check")
			b.ReportMetric(float64(sz.n)/interval.Seconds(), "demand/s")
			b.ReportMetric(float64(e.Stats().Pulse.Workers), "workers")
		})
	}
}

func throughputInterval(n int) time.Duration {
	return max(cpra.MinInterval, time.Duration(float64(n)/5e6*float64(time.Second)))
}

// BenchmarkTickerPerMonitorThroughput is the baseline for
// BenchmarkEngineThroughput: the same fleet and intervals, one goroutine and
// ticker per monitor.
func BenchmarkTickerPerMonitorThroughput(b *testing.B) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			if sz.n >= 1_000_000 {
				// A million tickers firing five million times a second keep
				// the runtime's timers so busy that the fleet takes minutes
				// to start and stop; it has collapsed already at 100k.
				b.Skip("the ticker fleet cannot be run at this demand in reasonable time")
			}
			interval := throughputInterval(sz.n)
			var checks atomic.Int64
			f := startTickers(sz.n, interval, nil, &checks)
			defer f.stop()
			time.Sleep(time.Second)
			var rate, cpu float64
			for b.Loop() {
				start, cpu0, t0 := checks.Load(), cpuTime(), time.Now()
				time.Sleep(window() / 2)
				done := float64(checks.Load() - start)
				rate = done / time.Since(t0).Seconds()
				cpu = float64(cpuTime()-cpu0) / done
			}
			b.ReportMetric(rate, "checks/s")
			b.ReportMetric(cpu, "cpu-ns/check")
			b.ReportMetric(float64(sz.n)/interval.Seconds(), "demand/s")
		})
	}
}

// BenchmarkEngineMemory adds n monitors and reports the engine's heap per
// monitor (names and the shared checker exist before and after, so they are
// not counted) and the time Add takes per monitor (ns/op).
func BenchmarkEngineMemory(b *testing.B) { engineMemory(b, false) }

// BenchmarkEngineMemoryBetween is BenchmarkEngineMemory at fleet sizes
// that are not just under a power of two (a million is 95 % of 2^20): what
// a fleet pays where a table that doubles would be half empty.
func BenchmarkEngineMemoryBetween(b *testing.B) {
	sz := []size{{"600k", 600_000}, {"1.1M", 1_100_000}}
	if testing.Short() {
		sz = []size{{"20k", 20_000}}
	}
	memoryAt(b, sz, func(ns []string) *cpra.Engine { return buildFleet(b, false, ns, time.Minute) })
}

// BenchmarkEngineFeaturesMemory is BenchmarkEngineMemory with the features
// of BenchmarkEngineFeaturesThroughput on. The label maps are shared, as
// a config file's identical labels are.
func BenchmarkEngineFeaturesMemory(b *testing.B) { engineMemory(b, true) }

// BenchmarkEngineRoutedMemory is BenchmarkEngineMemory with a route on
// every monitor, the same one, as a config file's identical codes give:
// an alert log for every code.
func BenchmarkEngineRoutedMemory(b *testing.B) {
	lg := alert.Log(io.Discard)
	route := alert.Route{alert.Yellow: lg, alert.Red: lg, alert.Green: lg, alert.Cyan: lg, alert.Gray: lg}
	memory(b, func(ns []string) *cpra.Engine { return routedFleet(b, ns, route) })
}

// BenchmarkEngineFileMemory is BenchmarkEngineRoutedMemory with a label
// map on every monitor as well, the same one: the monitors of a config
// file with codes and labels in its defaults.
func BenchmarkEngineFileMemory(b *testing.B) {
	lg := alert.Log(io.Discard)
	route := alert.Route{alert.Yellow: lg, alert.Red: lg, alert.Green: lg, alert.Cyan: lg, alert.Gray: lg}
	labels := map[string]string{"fleet": "generated"}
	memory(b, func(ns []string) *cpra.Engine {
		e, err := cpra.New(cpra.WithCapacity(len(ns)))
		if err != nil {
			b.Fatal(err)
		}
		for _, name := range ns {
			if _, err := e.Add(cpra.Monitor{Name: name, Check: noop, Interval: time.Minute, Timeout: time.Second,
				Notify: route, Labels: labels}); err != nil {
				b.Fatal(err)
			}
		}
		return e
	})
}

// BenchmarkEngineUnsharedMemory is BenchmarkEngineMemory with a notifier
// and a label map of its own on every monitor, none shared: what sharing
// costs where there is nothing to share. The notifiers and maps are made
// with the fleet, so they are counted.
func BenchmarkEngineUnsharedMemory(b *testing.B) {
	memory(b, func(ns []string) *cpra.Engine {
		e, err := cpra.New(cpra.WithCapacity(len(ns)))
		if err != nil {
			b.Fatal(err)
		}
		for i, name := range ns {
			m := cpra.Monitor{Name: name, Check: noop, Interval: time.Minute, Timeout: time.Second,
				Notify: alert.Log(io.Discard), Labels: map[string]string{"zone": fmt.Sprintf("z%02d", i%100)}}
			if _, err := e.Add(m); err != nil {
				b.Fatal(err)
			}
		}
		return e
	})
}

// BenchmarkEngineFailingMemory is BenchmarkEngineMemory with one monitor in
// eight failing, not yet down (FailureThreshold is not reached), as a
// fleet is in the first checks of an outage or with targets that fail
// now and then. It reports the heap per monitor once their episodes are
// open, and what a failing monitor adds to it (B/failing: what the
// running fleet holds beyond the fleet just built, over the failing
// monitors; the running pipelines count in it, about 2 MB) with the part
// of that outside the heap (offheap-B/failing), and then the
// CPU per check of that fleet over a second (500k checks a second at 1M,
// one in eight through the episode machine).
func BenchmarkEngineFailingMemory(b *testing.B) {
	broken := errors.New("broken")
	fail := pulse.CheckerFunc(func(context.Context) error { return broken })
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			ns := names(sz.n)
			failing := (sz.n + 7) / 8
			var perMonitor, perFailing, offFailing, cpu, rate float64
			for b.Loop() {
				b.StopTimer()
				before := heapwatch.Live()
				e, err := cpra.New(cpra.WithCapacity(sz.n))
				if err != nil {
					b.Fatal(err)
				}
				for i, name := range ns {
					m := cpra.Monitor{Name: name, Check: noop, Interval: 2 * time.Second, Timeout: time.Second, FailureThreshold: 100}
					if i%8 == 0 {
						m.Check = fail
					}
					if _, err := e.Add(m); err != nil {
						b.Fatal(err)
					}
				}
				built, offBuilt := heapwatch.Live(), cpra.OffHeapBytes()
				if err := e.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				for deadline := time.Now().Add(time.Minute); e.Stats().Failing < failing; time.Sleep(50 * time.Millisecond) {
					if time.Now().After(deadline) {
						b.Fatalf("%d of %d monitors failing after a minute", e.Stats().Failing, failing)
					}
				}
				live := heapwatch.Live()
				perMonitor = float64(live-before) / float64(sz.n)
				perFailing = (float64(live) - float64(built)) / float64(failing)
				offFailing = float64(cpra.OffHeapBytes()-offBuilt) / float64(failing)
				n0, cpu0, t0 := e.Stats().ChecksRun, cpuTime(), time.Now()
				time.Sleep(time.Second)
				n := float64(e.Stats().ChecksRun - n0)
				cpu, rate = float64(cpuTime()-cpu0)/n, n/time.Since(t0).Seconds()
				stop(b, e)
				b.StartTimer()
			}
			b.ReportMetric(perMonitor, "B/monitor")
			b.ReportMetric(perFailing, "B/failing")
			b.ReportMetric(offFailing, "offheap-B/failing") // part of B/failing
			b.ReportMetric(cpu, "cpu-ns/check")
			b.ReportMetric(rate, "checks/s")
		})
	}
}

func routedFleet(b *testing.B, ns []string, route alert.Notifier) *cpra.Engine {
	e, err := cpra.New(cpra.WithCapacity(len(ns)))
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range ns {
		if _, err := e.Add(cpra.Monitor{Name: name, Check: noop, Interval: time.Minute, Timeout: time.Second, Notify: route}); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

func engineMemory(b *testing.B, features bool) {
	memory(b, func(ns []string) *cpra.Engine { return buildFleet(b, features, ns, time.Minute) })
}

// memory builds a fleet of each size with build and reports its heap per
// monitor and the time the adds take.
func memory(b *testing.B, build func(ns []string) *cpra.Engine) {
	memoryAt(b, sizes(b), build)
}

// memoryAt is memory at the given sizes.
func memoryAt(b *testing.B, sizes []size, build func(ns []string) *cpra.Engine) {
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			ns := names(sz.n)
			var perMonitor, offHeap float64
			var addTime time.Duration
			for b.Loop() {
				b.StopTimer()
				before, offBefore := heapwatch.Live(), cpra.OffHeapBytes()
				b.StartTimer()
				t0 := time.Now()
				e := build(ns)
				addTime = time.Since(t0)
				b.StopTimer()
				perMonitor = float64(heapwatch.Live()-before) / float64(sz.n)
				offHeap = float64(cpra.OffHeapBytes()-offBefore) / float64(sz.n)
				runtime.KeepAlive(e)
				stop(b, e)
				b.StartTimer()
			}
			b.ReportMetric(perMonitor, "B/monitor")
			b.ReportMetric(offHeap, "offheap-B/monitor") // part of B/monitor
			b.ReportMetric(addTime.Seconds()*1e6/float64(sz.n), "s/1M-adds")
		})
	}
}

// BenchmarkTickerPerMonitorMemory is the baseline for BenchmarkEngineMemory:
// one goroutine with a time.Ticker per monitor.
func BenchmarkTickerPerMonitorMemory(b *testing.B) { baselineMemory(b, startTickers) }

// BenchmarkAfterFuncPerMonitorMemory is the second baseline for
// BenchmarkEngineMemory: one time.AfterFunc timer per monitor, re-armed from
// its own callback, and no goroutine until it fires.
func BenchmarkAfterFuncPerMonitorMemory(b *testing.B) { baselineMemory(b, startAfterFuncs) }

func baselineMemory(b *testing.B, start fleetStarter) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			var perMonitor float64
			for b.Loop() {
				b.StopTimer()
				before := heapwatch.Live()
				b.StartTimer()
				f := start(sz.n, time.Minute, nil, nil)
				b.StopTimer()
				perMonitor = float64(heapwatch.Live()-before) / float64(sz.n)
				f.stop()
				b.StartTimer()
			}
			b.ReportMetric(perMonitor, "B/monitor")
		})
	}
}

// window is how long the lag and idle benchmarks measure: 10s, or 2s in
// -short mode.
func window() time.Duration {
	if testing.Short() {
		return 2 * time.Second
	}
	return 10 * time.Second
}

// BenchmarkEngineLag runs n monitors at a 60s interval and reports how late
// checks started over a 10s window: p50, p99 and max.
func BenchmarkEngineLag(b *testing.B) { engineLag(b, false) }

// BenchmarkEngineLagDurable is BenchmarkEngineLag with the engine keeping
// its state in a file (package store): healthy monitors write nothing, so
// the cost per check must be the same.
func BenchmarkEngineLagDurable(b *testing.B) {
	f, err := store.Open(filepath.Join(b.TempDir(), "state"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	engineLag(b, false, cpra.WithStore(f, 0))
}

// BenchmarkEngineFeaturesLag is BenchmarkEngineLag with the features of
// BenchmarkEngineFeaturesThroughput on.
func BenchmarkEngineFeaturesLag(b *testing.B) { engineLag(b, true) }

func engineLag(b *testing.B, features bool, opts ...cpra.Option) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			e := buildFleet(b, features, names(sz.n), time.Minute, opts...)
			var lag cpra.LagStats
			var cpu float64
			for b.Loop() {
				if err := e.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				time.Sleep(2 * time.Second)
				c0, t0 := cpuTime(), time.Now()
				time.Sleep(window())
				cpu = float64(cpuTime()-c0) / float64(time.Since(t0)) * 100
				lag = e.Stats().Lag
				stop(b, e)
				b.StopTimer()
				e = buildFleet(b, features, names(sz.n), time.Minute, opts...)
				b.StartTimer()
			}
			reportLag(b, lag.P50, lag.P99, lag.Max)
			b.ReportMetric(cpu, "cpu%")
			b.ReportMetric(float64(lag.Samples), "checks")
		})
	}
}

// BenchmarkTickerPerMonitorLag is the baseline for BenchmarkEngineLag.
func BenchmarkTickerPerMonitorLag(b *testing.B) { baselineLag(b, startTickers) }

// BenchmarkAfterFuncPerMonitorLag is the second baseline for
// BenchmarkEngineLag: one time.AfterFunc timer per monitor.
func BenchmarkAfterFuncPerMonitorLag(b *testing.B) { baselineLag(b, startAfterFuncs) }

func baselineLag(b *testing.B, start fleetStarter) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			var p50, p99, mx time.Duration
			var cpu float64
			for b.Loop() {
				rec := &lagRecorder{}
				f := start(sz.n, time.Minute, rec, nil)
				time.Sleep(2 * time.Second)
				rec.reset()
				c0, t0 := cpuTime(), time.Now()
				time.Sleep(window())
				cpu = float64(cpuTime()-c0) / float64(time.Since(t0)) * 100
				p50, p99, mx = rec.percentiles()
				f.stop()
			}
			reportLag(b, p50, p99, mx)
			b.ReportMetric(cpu, "cpu%")
		})
	}
}

// BenchmarkEngineIdle reports the CPU the engine uses with n monitors and
// almost nothing due (24h intervals: n/86400 checks a second).
func BenchmarkEngineIdle(b *testing.B) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			var cpu float64
			for b.Loop() {
				b.StopTimer()
				e := newFleet(b, names(sz.n), 24*time.Hour)
				if err := e.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				time.Sleep(time.Second)
				runtime.GC()
				b.StartTimer()
				c0, t0 := cpuTime(), time.Now()
				time.Sleep(window())
				cpu = float64(cpuTime()-c0) / float64(time.Since(t0)) * 100
				b.StopTimer()
				stop(b, e)
				b.StartTimer()
			}
			b.ReportMetric(cpu, "cpu%")
		})
	}
}

// BenchmarkTickerPerMonitorIdle is the baseline for BenchmarkEngineIdle.
func BenchmarkTickerPerMonitorIdle(b *testing.B) { baselineIdle(b, startTickers) }

// BenchmarkAfterFuncPerMonitorIdle is the second baseline for
// BenchmarkEngineIdle: one time.AfterFunc timer per monitor.
func BenchmarkAfterFuncPerMonitorIdle(b *testing.B) { baselineIdle(b, startAfterFuncs) }

func baselineIdle(b *testing.B, start fleetStarter) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			var cpu float64
			for b.Loop() {
				b.StopTimer()
				f := start(sz.n, 24*time.Hour, nil, nil)
				time.Sleep(time.Second)
				runtime.GC()
				b.StartTimer()
				c0, t0 := cpuTime(), time.Now()
				time.Sleep(window())
				cpu = float64(cpuTime()-c0) / float64(time.Since(t0)) * 100
				b.StopTimer()
				f.stop()
				b.StartTimer()
			}
			b.ReportMetric(cpu, "cpu%")
		})
	}
}

func reportLag(b *testing.B, p50, p99, mx time.Duration) {
	b.ReportMetric(float64(p50)/1e6, "lag-p50-ms")
	b.ReportMetric(float64(p99)/1e6, "lag-p99-ms")
	b.ReportMetric(float64(mx)/1e6, "lag-max-ms")
}

// fleet is a running baseline fleet.
type fleet interface{ stop() }

// fleetStarter starts n no-op monitors at interval, each at its own phase,
// recording how late each check starts in rec and counting checks in count
// (either may be nil).
type fleetStarter func(n int, interval time.Duration, rec *lagRecorder, count *atomic.Int64) fleet

// phaseOf spreads monitor i's first check over the interval.
func phaseOf(i int, interval time.Duration) time.Duration {
	return time.Duration(uint64(i) * 2654435761 % uint64(interval))
}

// tickerFleet is the baseline design: one goroutine and one time.Ticker per
// monitor, each started at its own phase, running the same no-op check.
type tickerFleet struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func startTickers(n int, interval time.Duration, rec *lagRecorder, count *atomic.Int64) fleet {
	f := &tickerFleet{done: make(chan struct{})}
	start := time.Now()
	var ready sync.WaitGroup
	ready.Add(n)
	for i := range n {
		phase := phaseOf(i, interval)
		f.wg.Go(func() {
			ready.Done()
			first := time.NewTimer(time.Until(start.Add(phase)))
			select {
			case <-first.C:
			case <-f.done:
				first.Stop()
				return
			}
			next := start.Add(phase)
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				if rec != nil {
					rec.add(time.Since(next))
				}
				_ = noop(context.Background())
				if count != nil {
					count.Add(1)
				}
				select {
				case <-t.C:
					next = next.Add(interval)
				case <-f.done:
					return
				}
			}
		})
	}
	ready.Wait()
	return f
}

func (f *tickerFleet) stop() {
	close(f.done)
	f.wg.Wait()
	debug.FreeOSMemory()
}

// afterFuncFleet is the second baseline design: one time.AfterFunc timer
// per monitor, which runs the check in a goroutine of its own when it fires
// and re-arms itself for the monitor's next phase-aligned time.
type afterFuncFleet struct {
	stopped atomic.Bool
	ms      []afterFuncMonitor
}

type afterFuncMonitor struct {
	f     *afterFuncFleet
	t     *time.Timer
	next  time.Time
	every time.Duration
	rec   *lagRecorder
	count *atomic.Int64
}

func startAfterFuncs(n int, interval time.Duration, rec *lagRecorder, count *atomic.Int64) fleet {
	f := &afterFuncFleet{ms: make([]afterFuncMonitor, n)}
	start := time.Now()
	for i := range f.ms {
		m := &f.ms[i]
		*m = afterFuncMonitor{f: f, next: start.Add(phaseOf(i, interval)), every: interval, rec: rec, count: count}
		// Armed far away first, so that fire never sees m.t unset.
		m.t = time.AfterFunc(time.Hour, m.fire)
		m.t.Reset(time.Until(m.next))
	}
	return f
}

func (m *afterFuncMonitor) fire() {
	if m.rec != nil {
		m.rec.add(time.Since(m.next))
	}
	_ = noop(context.Background())
	if m.count != nil {
		m.count.Add(1)
	}
	m.next = m.next.Add(m.every)
	m.t.Reset(time.Until(m.next))
	if m.f.stopped.Load() {
		// stop may have stopped the timer before the Reset above.
		m.t.Stop()
	}
}

func (f *afterFuncFleet) stop() {
	f.stopped.Store(true)
	for i := range f.ms {
		f.ms[i].t.Stop()
	}
	debug.FreeOSMemory()
}

// lagRecorder collects lag samples from many goroutines.
type lagRecorder struct {
	mu  sync.Mutex
	v   []time.Duration
	off atomic.Bool
}

func (r *lagRecorder) add(d time.Duration) {
	r.mu.Lock()
	r.v = append(r.v, d)
	r.mu.Unlock()
}

func (r *lagRecorder) reset() {
	r.mu.Lock()
	r.v = r.v[:0]
	r.mu.Unlock()
}

func (r *lagRecorder) percentiles() (p50, p99, mx time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.v) == 0 {
		return 0, 0, 0
	}
	sort.Slice(r.v, func(i, j int) bool { return r.v[i] < r.v[j] })
	return r.v[len(r.v)/2], r.v[len(r.v)*99/100], r.v[len(r.v)-1]
}
