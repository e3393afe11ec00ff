package cpra_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/pulse"
)

// TestPulsePipelineSizing: 400 monitors at 1s whose checks take 50ms offer
// a load of 20 busy workers. The pool must grow to meet the 100ms SLO
// within a few periods, report its decision, and shrink back to the floor
// once the monitors are removed, without flapping on the way.
func TestPulsePipelineSizing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New(cpra.WithWorkers(2, 200), cpra.WithSLO(100*time.Millisecond), cpra.WithHeadroom(0.2))
		slow := pulse.CheckerFunc(func(ctx context.Context) error {
			time.Sleep(50 * time.Millisecond)
			return nil
		})
		var ids []cpra.ID
		for i := range 400 {
			id, err := e.Add(cpra.Monitor{Name: fmt.Sprint("slow-", i), Interval: time.Second, Check: slow})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		e.Start(context.Background())
		var workers []int
		for range 15 {
			time.Sleep(time.Second)
			workers = append(workers, e.Stats().Pulse.Workers)
		}
		st := e.Stats()
		sz := st.Pulse.Sizing
		t.Logf("workers per second %v; sizing %+v; lag %+v", workers, sz, st.Lag)
		if sz.Lambda < 350 || sz.Lambda > 450 || sz.MeanService < 45*time.Millisecond || sz.MeanService > 60*time.Millisecond {
			t.Errorf("measured λ %.0f/s and E[S] %v, want about 400/s and 50ms", sz.Lambda, sz.MeanService)
		}
		if sz.Target < 21 || sz.Target > 40 || !sz.Meets {
			t.Errorf("sizing %+v: want a pool a little above the load of 20 that meets the SLO", sz)
		}
		if st.Lag.P99 > 100*time.Millisecond {
			t.Errorf("lag p99 %v with a sized pool, want under the 100ms SLO", st.Lag.P99)
		}
		reached := -1
		for i, w := range workers {
			if w >= 21 {
				reached = i
				break
			}
		}
		if reached < 0 || reached > 5 {
			t.Errorf("workers per second %v: want more than the load within 5 periods", workers)
		}
		// Once grown, no sawtooth: the count only moves a little. The
		// first estimates, from the fleet's first second of checks all
		// due at once, overshoot the load by a few workers, which the
		// pool gives back within four periods (31-33 down to 27-29):
		// that is settling, not a sawtooth.
		for i := reached + 4; i > 0 && i < len(workers); i++ {
			if d := workers[i] - workers[i-1]; d > 4 || d < -4 {
				t.Errorf("workers per second %v: jump of %d at %ds after settling", workers, d, i)
			}
		}

		for _, id := range ids {
			e.Remove(id)
		}
		time.Sleep(30 * time.Second)
		if w := e.Stats().Pulse.Workers; w != 2 {
			t.Errorf("workers %d a while after the load left, want the floor of 2", w)
		}
		shutdown(t, e)
	})
}

func TestSizingOptions(t *testing.T) {
	for _, o := range []cpra.Option{cpra.WithSLO(0), cpra.WithHeadroom(-0.1)} {
		if _, err := cpra.New(o); err == nil {
			t.Errorf("New(%#v) accepted a bad sizing option", o)
		}
	}
}
