package cpra_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/pulse"
)

// target is a service that serves at most slots requests at once, each
// taking service; requests beyond that wait their turn, as they would in a
// server's accept queue.
type target struct {
	slots   chan struct{}
	service time.Duration
	served  atomic.Int64
}

func newTarget(slots int, service time.Duration) *target {
	return &target{slots: make(chan struct{}, slots), service: service}
}

func (s *target) Check(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	time.Sleep(s.service)
	<-s.slots
	s.served.Add(1)
	return nil
}

// fleet adds n monitors at interval, all checking c.
func fleet(t *testing.T, e *cpra.Engine, n int, interval time.Duration, c pulse.Checker) {
	t.Helper()
	for i := range n {
		if _, err := e.Add(cpra.Monitor{Name: fmt.Sprintf("m%05d", i), Interval: interval, Timeout: interval, Check: c}); err != nil {
			t.Fatal(err)
		}
	}
}

// When the targets answer half of what the fleet demands, more workers do
// not get more checks done: the pool is capped near what the targets can
// take instead of growing to its maximum, and the targets answer as much
// as they did uncapped.
func TestWorkersCappedWhenTargetsSetThePace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 4 at once, 10ms each: 400 checks a second; the fleet asks 800.
		tg := newTarget(4, 10*time.Millisecond)
		e, _ := cpra.New(cpra.WithWorkers(2, 1024))
		fleet(t, e, 8000, 10*time.Second, tg)
		e.Start(context.Background())
		// The ramp, the cap and its descent. Checks wait from the first
		// moment, and more workers bring nothing: the pool does not grow
		// to hundreds before the rate is judged.
		var ramp int
		for range 200 {
			time.Sleep(100 * time.Millisecond)
			ramp = max(ramp, e.Stats().Pulse.Workers)
		}
		if ramp > 100 {
			t.Errorf("pulse workers reached %d in the first 20s, want at most 100 for a target that takes 4 at once", ramp)
		}
		var peak int
		start := tg.served.Load()
		for range 40 {
			time.Sleep(time.Second)
			st := e.Stats()
			peak = max(peak, st.Pulse.Workers)
			if st.Pulse.Sizing.Ceiling == 0 {
				t.Errorf("no ceiling while checks wait on a saturated target (workers %d)", st.Pulse.Workers)
			}
		}
		rate := float64(tg.served.Load()-start) / 40
		st := e.Stats()
		shutdown(t, e)
		if peak > 128 {
			t.Errorf("pulse workers reached %d over 40s, want at most 128 for a target that takes 4 at once", peak)
		}
		if rate < 0.9*400 {
			t.Errorf("the target answered %.0f checks/s, want at least 90%% of the 400 it can", rate)
		}
		if st.ChecksLate < 1000 || st.LateOldest < time.Second {
			t.Errorf("ChecksLate %d, LateOldest %v with the fleet asking twice what its target answers, want thousands of checks and seconds behind",
				st.ChecksLate, st.LateOldest)
		}
	})
}

// When each check only waits (a slow answer, not a busy server), more
// workers do get more checks done: the pool grows until the fleet is kept
// up with, and no ceiling or bound holds it back, whether it needs a few
// more workers than the 64 it may have before it must show a gain, or
// many times that.
func TestWorkersNotCappedWhenTheyHelp(t *testing.T) {
	for _, need := range []int{100, 500} {
		t.Run(fmt.Sprint(need), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// 100ms each, no limit: need×10 checks a second need
				// about need workers.
				tg := newTarget(1<<20, 100*time.Millisecond)
				e, _ := cpra.New(cpra.WithWorkers(2, 2048))
				demand := float64(need * 10)
				fleet(t, e, need*10, time.Second, tg)
				e.Start(context.Background())
				time.Sleep(30 * time.Second)
				start := tg.served.Load()
				time.Sleep(20 * time.Second)
				rate := float64(tg.served.Load()-start) / 20
				st := e.Stats()
				shutdown(t, e)
				if rate < 0.95*demand {
					t.Errorf("checked %.0f/s, want the fleet's %.0f (workers %d, ceiling %d)", rate, demand, st.Pulse.Workers, st.Pulse.Sizing.Ceiling)
				}
				if st.Pulse.Sizing.Ceiling != 0 && st.Pulse.Sizing.Ceiling < need {
					t.Errorf("ceiling %d with checks that need about %d workers", st.Pulse.Sizing.Ceiling, need)
				}
			})
		})
	}
}

// Checks that hang until their timeout keep a worker each for seconds:
// the completion rate shows what more workers bring only a timeout after
// they came, so windows in which each worker completed less than one
// check a second do not hold the pool back. Without that rule, this
// fleet, whose checks all hang for 5 s, was served 18 of its 200 checks
// a second after a minute; with it 100-134 (before the pool had a bound,
// 128).
func TestWorkersForChecksThatHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var done atomic.Int64
		hang := pulse.CheckerFunc(func(ctx context.Context) error {
			defer done.Add(1)
			<-ctx.Done()
			return ctx.Err()
		})
		e, _ := cpra.New(cpra.WithWorkers(2, 4096))
		for i := range 1000 {
			if _, err := e.Add(cpra.Monitor{Name: fmt.Sprintf("m%05d", i), Interval: 5 * time.Second, Timeout: 5 * time.Second, Check: hang}); err != nil {
				t.Fatal(err)
			}
		}
		e.Start(context.Background())
		time.Sleep(60 * time.Second)
		start := done.Load()
		time.Sleep(30 * time.Second)
		rate := float64(done.Load()-start) / 30
		st := e.Stats()
		shutdown(t, e)
		if rate < 0.4*200 {
			t.Errorf("checked %.0f/s of the fleet's 200 after a minute (workers %d, ceiling %d)", rate, st.Pulse.Workers, st.Pulse.Sizing.Ceiling)
		}
	})
}
