package cpra_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/pulse"
)

func TestFailureWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window int
		want   string
	}{
		{"consecutive only", 0, "yellow green"},
		{"3 of the last 5", 5, "yellow red green"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				e, _ := cpra.New(cpra.WithNotifier(rec))
				// Fails every other check, then recovers for good.
				_, err := e.Add(cpra.Monitor{Name: "flaky", Interval: time.Second, FailureThreshold: 3, FailureWindow: tc.window,
					Check: &script{out: "FPFPFPPPP"}})
				if err != nil {
					t.Fatal(err)
				}
				e.Start(context.Background())
				time.Sleep(15 * time.Second)
				shutdown(t, e)
				if got := rec.codes(""); got != tc.want {
					t.Errorf("alerts %q, want %q", got, tc.want)
				}
			})
		})
	}
	e, _ := cpra.New()
	for _, w := range []int{2, 65, -1} {
		var me *cpra.MonitorError
		if _, err := e.Add(cpra.Monitor{Name: "w", Check: pulse.CheckerFunc(pass), FailureThreshold: 3, FailureWindow: w}); !errors.As(err, &me) || me.Field != "FailureWindow" {
			t.Errorf("FailureWindow %d: %v, want a MonitorError on FailureWindow", w, err)
		}
	}
}
