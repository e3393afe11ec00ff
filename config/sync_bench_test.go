package config

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/internal/heapwatch"
)

// benchmarkSyncer loads a generated fleet of n monitors into an engine not
// started with SyncFile and reports the time of the load, the heap the
// Syncer itself keeps per monitor (the live heap with the Syncer, less the
// live heap once only the engine is left), and the time of a reload of the
// same file into the engine, started, where every monitor is unchanged;
// each time also as the CPU time the process spent meanwhile (all its
// goroutines, the collector's included), which other work on the machine
// disturbs less than the wall time.
func benchmarkSyncer(b *testing.B, n int) {
	dir := b.TempDir()
	path := filepath.Join(dir, "fleet.yaml")
	fh, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	// An hour apart, the started engine runs few checks during the reload.
	err = Generate(fh, Fleet{Count: n, BaseURL: "http://127.0.0.1:1", Interval: time.Hour, AlertLog: filepath.Join(dir, "alerts.log")})
	fh.Close()
	if err != nil {
		b.Fatal(err)
	}
	opts := []Option{WithOpenLog(func(string) (io.Writer, error) { return io.Discard, nil })}
	var load, reload, loadCPU, reloadCPU time.Duration
	var perMonitor float64
	for b.Loop() {
		b.StopTimer()
		e, err := cpra.New()
		if err != nil {
			b.Fatal(err)
		}
		s := NewSyncer(e)
		start, cpu := time.Now(), cpuTime(b)
		if _, _, err := s.SyncFile(path, opts...); err != nil {
			b.Fatal(err)
		}
		load += time.Since(start)
		loadCPU += cpuTime(b) - cpu
		if got := e.Stats().Monitors; got != n {
			b.Fatalf("got %d monitors, want %d", got, n)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := e.Start(ctx); err != nil {
			b.Fatal(err)
		}
		start, cpu = time.Now(), cpuTime(b)
		ch, err := func() (Changes, error) { _, ch, err := s.SyncFile(path, opts...); return ch, err }()
		reload += time.Since(start)
		reloadCPU += cpuTime(b) - cpu
		if err != nil || ch.Unchanged != n {
			b.Fatalf("reload: got %+v, %v; want %d unchanged", ch, err, n)
		}
		with := heapwatch.Live()
		runtime.KeepAlive(s)
		s = nil
		without := heapwatch.Live()
		runtime.KeepAlive(e)
		perMonitor = float64(int64(with)-int64(without)) / float64(n)
		cancel()
		e.Shutdown(context.Background())
		b.StartTimer()
	}
	b.ReportMetric(perMonitor, "syncer-B/monitor")
	b.ReportMetric(load.Seconds()/float64(b.N), "load-s")
	b.ReportMetric(reload.Seconds()/float64(b.N), "reload-s")
	b.ReportMetric(loadCPU.Seconds()/float64(b.N), "load-cpu-s")
	b.ReportMetric(reloadCPU.Seconds()/float64(b.N), "reload-cpu-s")
	b.ReportMetric(0, "ns/op")
}

func BenchmarkSyncer_100k(b *testing.B) { benchmarkSyncer(b, 100_000) }
func BenchmarkSyncer_1M(b *testing.B)   { benchmarkSyncer(b, 1_000_000) }
