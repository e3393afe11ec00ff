package cpra_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/pulse"
)

func TestRetryIntervalConfirmsSooner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Time
		n := 0
		check := pulse.CheckerFunc(func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Now())
			n++
			if n >= 2 && n <= 5 {
				return errors.New("down")
			}
			return nil
		})
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		e.Add(cpra.Monitor{Name: "api", Interval: 10 * time.Second, RetryInterval: time.Second, Check: check})
		e.Start(context.Background())
		time.Sleep(65 * time.Second)
		shutdown(t, e)
		mu.Lock()
		defer mu.Unlock()
		var gaps []time.Duration
		for i := 1; i < len(at); i++ {
			gaps = append(gaps, at[i].Sub(at[i-1]).Round(time.Millisecond))
		}
		// pass; fail (10s later, on phase); two retries 1s apart confirm it
		// down; then the phase again, where checks 5 (fail) and 6 (pass) run,
		// and 7 (pass) recovers it.
		if len(gaps) < 5 || gaps[0] != 10*time.Second || gaps[1] != time.Second || gaps[2] != time.Second {
			t.Fatalf("gaps between checks %v, want 10s, then 1s retries while failing", gaps)
		}
		for i, g := range gaps[3:] {
			if g > 10*time.Second || g < 7*time.Second {
				t.Fatalf("gap %d = %v after the monitor went down, want back on the 10s phase (all gaps %v)", i+3, g, gaps)
			}
		}
		phase := at[0].UnixMilli() % 10000
		if last := at[len(at)-1]; last.UnixMilli()%10000 != phase {
			t.Errorf("last check at phase %dms, want the monitor's phase %dms", last.UnixMilli()%10000, phase)
		}
		if got := rec.codes(""); got != "yellow red green" {
			t.Errorf("alerts %q, want yellow red green", got)
		}
	})
}

func TestRepeatInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var n int
		var mu sync.Mutex
		check := pulse.CheckerFunc(func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			n++
			if n <= 12 {
				return errors.New("down")
			}
			return nil
		})
		e, _ := cpra.New(cpra.WithNotifier(rec))
		e.Add(cpra.Monitor{Name: "db", Interval: time.Second, FailureThreshold: 1, RepeatInterval: 5 * time.Second, Check: check})
		e.Start(context.Background())
		time.Sleep(20 * time.Second)
		shutdown(t, e)
		rec.mu.Lock()
		defer rec.mu.Unlock()
		var got []string
		for _, a := range rec.alerts {
			got = append(got, fmt.Sprintf("%s/%d", a.Code, a.Repeat))
		}
		if fmt.Sprint(got) != "[red/0 red/1 red/2 green/0]" {
			t.Errorf("alerts %v, want red, two reminders 5s apart, green", got)
		}
		if len(rec.alerts) == 4 {
			if d := rec.alerts[2].At.Sub(rec.alerts[1].At).Round(time.Second); d != 5*time.Second {
				t.Errorf("reminders %v apart, want 5s", d)
			}
		}
		for _, a := range rec.alerts {
			if a.Code == alert.Red && a.Err == nil {
				t.Errorf("a red without its error: %+v", a)
			}
		}
	})
}

func TestRetryAndRepeatValidation(t *testing.T) {
	e, _ := cpra.New()
	for _, m := range []cpra.Monitor{
		{Name: "a", Check: pulse.CheckerFunc(pass), Interval: time.Second, RetryInterval: 2 * time.Second},
		{Name: "b", Check: pulse.CheckerFunc(pass), RetryInterval: time.Millisecond},
		{Name: "c", Check: pulse.CheckerFunc(pass), RepeatInterval: -time.Second},
	} {
		var me *cpra.MonitorError
		if _, err := e.Add(m); !errors.As(err, &me) || (me.Field != "RetryInterval" && me.Field != "RepeatInterval") {
			t.Errorf("Add(%s) = %v, want a MonitorError on the retry or repeat interval", m.Name, err)
		}
	}
}
