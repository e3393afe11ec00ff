package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	ark "github.com/mlange-42/ark/ecs"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/alerts"
)

// alertFleet is n monitors for the alert path benchmarks, and the Info
// function that names them.
type alertFleet struct {
	ens   []ecs.Entity
	names []string
	index map[ecs.Entity]int
}

func newAlertFleet(n int) *alertFleet {
	w := ark.NewWorld()
	f := &alertFleet{ens: make([]ecs.Entity, n), names: make([]string, n), index: make(map[ecs.Entity]int, n)}
	for i := range f.ens {
		f.ens[i] = w.NewEntity()
		f.names[i] = fmt.Sprintf("svc-%07d", i)
		f.index[f.ens[i]] = i
	}
	return f
}

func (f *alertFleet) config(n alert.Notifier, perNotifier int) alerts.Config {
	return alerts.Config{
		Default: n, Timeout: time.Hour, Retries: 0, Backoff: time.Second, MaxElapsed: time.Hour,
		PerNotifier: perNotifier, MaxInFlight: 1 << 20, PerMonitor: 32, Memory: 64 << 20,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Epoch: time.Now(),
		TimeoutErr: func(op string, d time.Duration) error { return fmt.Errorf("%s: timeout after %v", op, d) },
		PanicErr:   func(op string, v any, _ []byte) error { return fmt.Errorf("%s: panic: %v", op, v) },
		Info:       func(en ecs.Entity) (string, map[string]string) { return f.names[f.index[en]], nil },
	}
}

// drain hands the path's finished deliveries back to it until nothing is
// waiting or in flight.
func drain(p *alerts.Path) {
	for {
		if inflight, q := p.Stats(); inflight == 0 && q == 0 {
			return
		}
		p.Finished(<-p.Done())
	}
}

// BenchmarkAlertPathCycle raises one red for each of 10k monitors and
// delivers them all to a notifier that returns at once, up to 64 at a
// time: the alert path's cost per alert from raise to fate (the delivery
// goroutine included), in ns/alert of wall time and cpu-ns/alert of the
// process's CPU time (steadier on a shared machine).
func BenchmarkAlertPathCycle(b *testing.B) { alertPathCycle(b, 1) }

// BenchmarkAlertPathCyclePairs is BenchmarkAlertPathCycle with a red and
// its green raised for each monitor, so that the green waits behind the
// red.
func BenchmarkAlertPathCyclePairs(b *testing.B) { alertPathCycle(b, 2) }

func alertPathCycle(b *testing.B, perMonitor int) {
	const n = 10_000
	f := newAlertFleet(n)
	checkErr := errors.New("status 503, want 2xx")
	quick := alert.NotifierFunc(func(context.Context, alert.Alert) error { return nil })
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := alerts.New(f.config(quick, 64), base, new(alerts.Counters))
	defer func() {
		p.Close()
		p.Wait()
	}()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		at := time.Now().UnixMilli()
		for _, en := range f.ens {
			p.Raise(en, quick, false, alerts.Pending{Err: checkErr, Start: at, At: at, Code: alert.Red, Fails: 2, Seq: 1}, nil)
			if perMonitor > 1 {
				p.Raise(en, quick, false, alerts.Pending{Start: at, At: at + 1, Code: alert.Green, Seq: 2, Ends: true}, nil)
			}
		}
		drain(p)
	}
	count := float64(b.N * n * perMonitor)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/count, "ns/alert")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/count, "cpu-ns/alert")
}
