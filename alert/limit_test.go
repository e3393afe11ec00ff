package alert_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra/alert"
)

func TestLimitSpacesAlerts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		inner := alert.NotifierFunc(func(context.Context, alert.Alert) error { n.Add(1); return nil })
		l := alert.Limit(inner, 10, 5) // 10/s, bursts of 5
		start := time.Now()
		for range 25 {
			if err := l.Notify(context.Background(), alert.Alert{Monitor: "m"}); err != nil {
				t.Fatal(err)
			}
		}
		// 5 at once, then 20 more at 10/s: 2s.
		if d := time.Since(start); d < 2*time.Second || d > 2100*time.Millisecond {
			t.Errorf("25 alerts took %v, want 2s at 10/s after a burst of 5", d)
		}
		if n.Load() != 25 {
			t.Errorf("delivered %d, want 25", n.Load())
		}
	})
}

func TestLimitDeadlineIsRetryable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		called := false
		l := alert.Limit(alert.NotifierFunc(func(context.Context, alert.Alert) error { called = true; return nil }), 1, 1)
		l.Notify(context.Background(), alert.Alert{}) // takes the only token
		called = false
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := l.Notify(ctx, alert.Alert{})
		var de *alert.DeliveryError
		if !errors.As(err, &de) || !alert.Retryable(err) || called {
			t.Fatalf("Notify with no turn before the deadline = %v (called %v), want a retryable DeliveryError and no call", err, called)
		}
	})
}
