// Fleet builds a fleet of 100,000 monitors in code, runs it for five seconds
// and reports what it cost: the time to add the monitors, the heap they take,
// the checks per second the engine ran, how late checks started (schedule
// lag) and how many workers each pipeline settled on.
//
// Each check is a cheap in-memory test (one target in 500 is unhealthy), so
// the numbers measure the engine, not a network. It needs no outside network
// and exits by itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/pulse"
)

var (
	count    = flag.Int("count", 100_000, "number of monitors")
	interval = flag.Duration("interval", time.Second, "interval of every monitor")
	duration = flag.Duration("duration", 5*time.Second, "how long to run")
)

var errUnhealthy = errors.New("unhealthy")

// target stands for one monitored thing; its health is a bit in memory.
type target struct{ down atomic.Bool }

// check is the health check; its method value becomes a pulse.CheckerFunc.
func (t *target) check(ctx context.Context) error {
	if t.down.Load() {
		return errUnhealthy
	}
	return nil
}

// heapInUse returns what the program holds: the live heap and what the
// engine keeps outside it.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + uint64(cpra.OffHeapBytes())
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	fmt.Printf("%d monitors, interval %v, GOMAXPROCS %d\n", *count, *interval, runtime.GOMAXPROCS(0))

	// Allocate the targets before measuring, so the heap figure below is
	// what the engine keeps per monitor (plus one small closure each).
	targets := make([]target, *count)
	for i := range targets {
		targets[i].down.Store(i%500 == 0)
	}
	heap0 := heapInUse()

	e, err := cpra.New(cpra.WithCapacity(*count))
	if err != nil {
		return err
	}
	start := time.Now()
	for i := range targets {
		if _, err := e.Add(cpra.Monitor{
			Name:     "svc-" + strconv.Itoa(i),
			Check:    pulse.CheckerFunc(targets[i].check),
			Interval: *interval,
			Timeout:  *interval,
		}); err != nil {
			return err
		}
	}
	addTime := time.Since(start)
	heap1 := heapInUse()
	fmt.Printf("added in %v (%.0f monitors/s)\n", addTime.Round(time.Millisecond), float64(*count)/addTime.Seconds())
	fmt.Printf("heap: %.0f bytes per monitor (%.1f MiB in all)\n",
		float64(heap1-heap0)/float64(*count), float64(heap1-heap0)/(1<<20))

	if err := e.Start(context.Background()); err != nil {
		return err
	}
	runStart := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prev, at := e.Stats(), time.Now()
	end := time.After(*duration)
	for running := true; running; {
		select {
		case <-end:
			running = false
		case now := <-tick.C:
			s := e.Stats()
			fmt.Printf("  %6.0f checks/s  %4d failed/s  lag p99 %-8v workers pulse=%d intervention=%d alert=%d\n",
				float64(s.ChecksRun-prev.ChecksRun)/now.Sub(at).Seconds(),
				int(float64(s.ChecksFailed-prev.ChecksFailed)/now.Sub(at).Seconds()),
				s.Lag.P99.Round(10*time.Microsecond),
				s.Pulse.Workers, s.Intervention.Workers, s.Alert.Workers)
			prev, at = s, now
		}
	}
	elapsed := time.Since(runStart)
	last := prev // the pipelines as they were running, before shutdown

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		return err
	}
	s := e.Stats()
	fmt.Printf("total: %d checks in %v (%.0f checks/s), %d failed, %d skipped, queue full %d times\n",
		s.ChecksRun, elapsed.Round(100*time.Millisecond), float64(s.ChecksRun)/elapsed.Seconds(),
		s.ChecksFailed, s.ChecksSkipped, s.QueueFull)
	fmt.Printf("pulse pipeline while running: %d workers, load %.2f, mean check %v, SLO met: %v\n",
		last.Pulse.Workers, last.Pulse.Sizing.Load, last.Pulse.Sizing.MeanService, last.Pulse.Sizing.Meets)
	return nil
}
