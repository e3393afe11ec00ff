package bench

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/config"
	"github.com/ziad/cpra/internal/heapwatch"
)

// BenchmarkFileIntoEngine loads a generated file of HTTP monitors into an
// engine not started, the way cpra does at start: "stream" reads it as a
// stream straight into the engine (Syncer.SyncFile), "whole" is the
// baseline, the file loaded whole (LoadFile) and then synced. It reports
// the time of the load, the peak of the heap during it and the heap kept
// afterwards, per monitor (engine, checkers, names and URLs, and the
// Syncer's list).
func BenchmarkFileIntoEngine(b *testing.B) {
	for _, sz := range sizes(b) {
		path := filepath.Join(b.TempDir(), "fleet.yaml")
		fh, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		err = config.Generate(fh, config.Fleet{Count: sz.n, BaseURL: "http://127.0.0.1:8080", Interval: 2 * time.Minute,
			AlertLog: filepath.Join(b.TempDir(), "alerts.log")})
		fh.Close()
		if err != nil {
			b.Fatal(err)
		}
		opts := []config.Option{config.WithOpenLog(func(string) (io.Writer, error) { return io.Discard, nil })}
		for _, way := range []string{"whole", "stream"} {
			b.Run(way+"/"+sz.name, func(b *testing.B) {
				var peak, kept uint64
				for b.Loop() {
					b.StopTimer()
					base := heapwatch.Live()
					e, err := cpra.New()
					if err != nil {
						b.Fatal(err)
					}
					s := config.NewSyncer(e)
					b.StartTimer()
					stop := heapwatch.Peak()
					if way == "stream" {
						_, _, err = s.SyncFile(path, opts...)
					} else {
						var f *config.File
						if f, err = config.LoadFile(path, opts...); err == nil {
							_, err = s.Sync(f)
						}
					}
					peak = stop()
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if n := e.Stats().Monitors; n != sz.n {
						b.Fatalf("got %d monitors, want %d", n, sz.n)
					}
					kept = heapwatch.Live() - base
					peak -= min(peak, base)
					runtime.KeepAlive(s)
					e.Shutdown(context.Background())
					s.Close()
					b.StartTimer()
				}
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
				b.ReportMetric(float64(peak)/float64(sz.n), "peak-heap-B/monitor")
				b.ReportMetric(float64(kept)/float64(sz.n), "kept-B/monitor")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
