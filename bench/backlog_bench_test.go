package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	ark "github.com/mlange-42/ark/ecs"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/alerts"
)

// BenchmarkAlertBacklogMemory raises one red for each of 100k monitors
// while their notifier hangs, and reports what each alert waiting in the
// backlog costs on the heap: its place in its monitor's lane, the lane
// and the notifier's queue. The alerts in flight (the notifier's
// concurrency) are not counted.
func BenchmarkAlertBacklogMemory(b *testing.B) {
	const n = 100_000
	w := ark.NewWorld()
	ens := make([]ecs.Entity, n)
	names := make([]string, n)
	for i := range ens {
		ens[i] = w.NewEntity()
		names[i] = fmt.Sprintf("svc-%07d", i)
	}
	index := make(map[ecs.Entity]int, n)
	for i, e := range ens {
		index[e] = i
	}
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
		ctr := new(alerts.Counters)
		p := alerts.New(alerts.Config{
			Default: hang, Timeout: time.Hour, Retries: 0, Backoff: time.Second, MaxElapsed: time.Hour,
			PerNotifier: 1, MaxInFlight: 1 << 20, PerMonitor: 32, Memory: 64 << 20,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Epoch: time.Now(),
			TimeoutErr: func(op string, d time.Duration) error { return fmt.Errorf("%s: timeout after %v", op, d) },
			PanicErr:   func(op string, v any, _ []byte) error { return fmt.Errorf("%s: panic: %v", op, v) },
			Info:       func(en ecs.Entity) (string, map[string]string) { return names[index[en]], nil },
		}, base, ctr)
		b.StopTimer()
		before := heapInUse()
		b.StartTimer()
		at := time.Now().UnixMilli()
		for _, en := range ens {
			p.Raise(en, hang, false, alerts.Pending{Err: checkErr, Start: at, At: at, Code: alert.Red, Fails: 2, Seq: 1}, nil)
		}
		b.StopTimer()
		_, queued := p.Stats()
		after := heapInUse()
		perAlert = float64(after-before) / float64(queued)
		runtime.KeepAlive(p)
		close(release)
		for p.Stats(); ; {
			if inflight, q := p.Stats(); inflight == 0 && q == 0 {
				break
			}
			p.Finished(<-p.Done())
		}
		cancel()
		p.Close()
		p.Wait()
		b.StartTimer()
	}
	b.ReportMetric(perAlert, "B/queued-alert")
}
