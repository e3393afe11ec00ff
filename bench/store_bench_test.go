package bench

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/internal/persist"
	"github.com/ziad/cpra/store"
)

// BenchmarkStateLoad writes the kept state of n monitors that are all down
// (an open episode each: the most a store holds) to a file, then measures
// a restart: opening the file, New loading it (s-to-load), and adding the
// n monitors, which resume their episodes (s-to-add, against
// s-to-add-fresh, the same adds without a store, in the same run); then
// starting the engine and shutting it down at once (s-to-settle), and
// the records written meanwhile (rewrites/monitor: the restart changes no
// state, so none need be). It also reports the file's bytes per monitor.
func BenchmarkStateLoad(b *testing.B) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			ns := names(sz.n)
			path := filepath.Join(b.TempDir(), "state")
			f, err := store.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now().UnixMilli() - 60_000
			var batch []cpra.Change
			for i, name := range ns {
				m := persist.Monitor{State: episode.State{Core: episode.Core{Phase: episode.Red,
					Flags: episode.Yellowed | episode.Reddened | episode.Told, Code: 2}}}
				m.State.Start, m.State.LastRed, m.State.Seq = start+int64(i%1000), start+30_000, 2
				batch = append(batch, cpra.Change{Key: persist.MonitorKey(name), Value: persist.AppendMonitor(nil, &m)})
				if len(batch) == 10_000 || i == len(ns)-1 {
					if err := f.Write(batch); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			fs, _ := f.Stats()
			f.Close()
			add := func(e *cpra.Engine) time.Duration {
				t0 := time.Now()
				for _, name := range ns {
					if _, err := e.Add(cpra.Monitor{Name: name, Check: noop, Interval: time.Minute}); err != nil {
						b.Fatal(err)
					}
				}
				return time.Since(t0)
			}
			var load, resumed, settle, fresh time.Duration
			var rewrites int64
			for b.Loop() {
				t0 := time.Now()
				f, err := store.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				cs := &countingStore{Store: f}
				e, err := cpra.New(cpra.WithCapacity(sz.n), cpra.WithStore(cs, 0))
				if err != nil {
					b.Fatal(err)
				}
				load = time.Since(t0)
				resumed = add(e)
				if s := e.Stats(); s.Down != sz.n {
					b.Fatalf("%d of %d monitors down after the restart", s.Down, sz.n)
				}
				t1 := time.Now()
				if err := e.Start(b.Context()); err != nil {
					b.Fatal(err)
				}
				if err := e.Shutdown(b.Context()); err != nil {
					b.Fatal(err)
				}
				settle, rewrites = time.Since(t1), cs.n.Load()
				f.Close()
				e2, _ := cpra.New(cpra.WithCapacity(sz.n))
				fresh = add(e2)
				e2.Shutdown(b.Context())
			}
			b.ReportMetric(load.Seconds(), "s-to-load")
			b.ReportMetric(resumed.Seconds(), "s-to-add")
			b.ReportMetric(fresh.Seconds(), "s-to-add-fresh")
			b.ReportMetric(settle.Seconds(), "s-to-settle")
			b.ReportMetric(float64(rewrites)/float64(sz.n), "rewrites/monitor")
			b.ReportMetric(float64(fs.Size)/float64(sz.n), "file-B/monitor")
		})
	}
}
