package bench

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/internal/alerts"
	"github.com/ziad/cpra/internal/heapwatch"
)

// BenchmarkAlertBacklogMemory raises one red for each of 100k monitors
// while their notifier hangs, and reports what each alert waiting in the
// backlog costs on the heap: its place in its monitor's lane, the lane
// and the notifier's queue. The alerts in flight (the notifier's
// concurrency) are not counted.
func BenchmarkAlertBacklogMemory(b *testing.B) { alertBacklogMemory(b, false) }

// BenchmarkAlertBacklogPairsMemory is BenchmarkAlertBacklogMemory with a
// red and its green waiting for each of 100k monitors (an episode that
// began and ended while the notifier hung): what each of those alerts
// costs on the heap.
func BenchmarkAlertBacklogPairsMemory(b *testing.B) { alertBacklogMemory(b, true) }

func alertBacklogMemory(b *testing.B, pairs bool) {
	const n = 100_000
	f := newAlertFleet(n)
	checkErr := errors.New("status 503, want 2xx")
	var perAlert float64
	for b.Loop() {
		release := make(chan struct{})
		hang := alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
		base, cancel := context.WithCancel(context.Background())
		p := alerts.New(f.config(hang, 1), base, new(alerts.Counters))
		b.StopTimer()
		before := heapwatch.Live()
		b.StartTimer()
		at := time.Now().UnixMilli()
		for _, en := range f.ens {
			p.Raise(en, hang, false, alerts.Pending{Err: checkErr, Start: at, At: at, Code: alert.Red, Fails: 2, Seq: 1}, nil)
			if pairs {
				p.Raise(en, hang, false, alerts.Pending{Start: at, At: at + 1, Code: alert.Green, Seq: 2, Ends: true}, nil)
			}
		}
		b.StopTimer()
		_, queued := p.Stats()
		after := heapwatch.Live()
		perAlert = float64(after-before) / float64(queued)
		runtime.KeepAlive(p)
		close(release)
		drain(p)
		cancel()
		p.Close()
		p.Wait()
		b.StartTimer()
	}
	b.ReportMetric(perAlert, "B/queued-alert")
}
