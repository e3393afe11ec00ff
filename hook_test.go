package cpra_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
)

// TestAlertHook: the hook sees each alert raised for a notifier once, as
// the notifier gets it (same monitor, code, error and key), also when the
// notifier fails and the alert is retried, and also when grouping folds
// alerts into one delivery; it sees nothing of a monitor with no notifier.
func TestAlertHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var seen []alert.Alert
		hook := func(a alert.Alert) {
			mu.Lock()
			seen = append(seen, a)
			mu.Unlock()
		}
		var fails atomic.Int32
		fails.Store(2) // the first two deliveries fail: retried
		rec := &recorder{}
		flaky := alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error {
			if fails.Add(-1) >= 0 {
				return errors.New("receiver busy")
			}
			return rec.Notify(ctx, a)
		})
		e, _ := cpra.New(cpra.WithNotifier(flaky), cpra.WithAlertHook(hook), cpra.WithNotifyRetries(5, 100*time.Millisecond),
			cpra.WithGrouping("zone", time.Second))
		var down atomic.Bool
		down.Store(true)
		check := checkFunc(func(context.Context) error {
			if down.Load() {
				return errors.New("refused")
			}
			return nil
		})
		e.Add(cpra.Monitor{Name: "db", Interval: time.Second, FailureThreshold: 2, Check: check})
		e.Add(cpra.Monitor{Name: "a", Interval: time.Second, FailureThreshold: 1, Check: check, Labels: map[string]string{"zone": "eu"}})
		e.Add(cpra.Monitor{Name: "b", Interval: time.Second, FailureThreshold: 1, Check: check, Labels: map[string]string{"zone": "eu"}})
		e.Add(cpra.Monitor{Name: "quiet", Interval: time.Second, FailureThreshold: 1, Check: check,
			Notify: alert.Route{alert.Green: rec}}) // takes greens only
		e.Start(context.Background())
		time.Sleep(5 * time.Second)
		down.Store(false)
		time.Sleep(5 * time.Second)
		shutdown(t, e)
		mu.Lock()
		defer mu.Unlock()
		hooked := map[string]alert.Alert{}
		for _, a := range seen {
			if _, dup := hooked[a.Key]; dup {
				t.Errorf("hook saw %s twice", a.Key)
			}
			hooked[a.Key] = a
			if a.Group != nil {
				t.Errorf("hook saw a group: %+v", a)
			}
		}
		delivered := 0
		for _, a := range rec.alerts {
			members := a.Group
			if members == nil {
				members = []alert.Alert{a}
			}
			for _, m := range members {
				delivered++
				h, ok := hooked[m.Key]
				if !ok || h.Monitor != m.Monitor || h.Code != m.Code || !h.Since.Equal(m.Since) || (h.Err == nil) != (m.Err == nil) {
					t.Errorf("delivered %s %s (%s); hook saw %+v", m.Monitor, m.Code, m.Key, h)
				}
			}
		}
		if delivered != len(hooked) || delivered < 7 {
			t.Errorf("hook saw %d alerts, notifier got %d: want the same, at least db's yellow, red, green, a's and b's red and green, quiet's green", len(hooked), delivered)
		}
	})
}
