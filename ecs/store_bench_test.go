package ecs

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkCheckPath runs the store's part of each check for a fleet of
// 1M monitors at a 60s interval, as the engine's loop does: the wheel pops
// the monitor, dispatch reads its components and files its next check,
// and the result updates its health. It reports ns per check; the
// monitors' data is far larger than the caches, as in the engine.
func BenchmarkCheckPath(b *testing.B) {
	const n, interval = 1_000_000, 60_000
	s := NewStore(0, n)
	ents := make([]Entity, 0, n)
	for i := range n {
		e, _ := s.Create(fmt.Sprintf("svc-%07d.example.internal", i), nop,
			Schedule{Due: int64(uint64(i) * 2654435761 % interval)}, Health{}, Optional{})
		ents = append(ents, e)
	}
	var due []Entity
	tick := int64(0)
	checks := 0
	b.ResetTimer()
	for b.Loop() {
		// One second of the fleet: pop and dispatch, then apply.
		due = due[:0]
		s.Wheel.Advance(tick+999, 0, func(e Entity, at int64) {
			if !s.Alive(e) {
				return
			}
			_, sc, h := s.RowUnchecked(e)
			if sc.Due > at {
				return
			}
			sc.Due += interval
			s.Wheel.Insert(e, sc.Due)
			h.Rules |= InFlight
			due = append(due, e)
		})
		for _, e := range due {
			if !s.Alive(e) {
				continue
			}
			h := s.Healths.GetUnchecked(e)
			h.Rules &^= InFlight
			h.SetLastCheck(tick + 999)
		}
		checks += len(due)
		tick += 1000
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(checks, 1)), "ns/check")
}

// BenchmarkCreate adds a fleet to a store sized for none, as a program
// that loads a file of unknown length does: the name index grows as the
// fleet does. ns/monitor is the cost of an add.
func BenchmarkCreate(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%d", i)
	}
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		s := NewStore(0, 0)
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		for i, name := range names {
			if _, ok := s.Create(name, nop, Schedule{Due: int64(1000 + i)}, Health{}, Optional{}); !ok {
				b.Fatalf("Create %s failed", name)
			}
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N)/float64(n), "ns/monitor")
}
