package cpra_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
)

// TestStatsFailing checks that Stats counts a monitor that fails but is not
// yet down as failing (and up), then as down only once FailureThreshold
// failures are reached, and as neither failing nor down once it passes.
func TestStatsFailing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		e.Add(cpra.Monitor{Name: "steady", Interval: time.Second, Check: &script{out: "P"}})
		e.Add(cpra.Monitor{Name: "queue", Interval: time.Second, FailureThreshold: 3, SuccessThreshold: 1,
			Check: &script{out: "PFFFP"}})
		e.Start(context.Background())
		want := []struct {
			after                   string
			up, failing, down, mons int
		}{
			{"P", 2, 0, 0, 2},
			{"PF", 2, 1, 0, 2},
			{"PFF", 2, 1, 0, 2},
			{"PFFF", 1, 0, 1, 2},
			{"PFFFP", 2, 0, 0, 2},
		}
		time.Sleep(time.Second - time.Millisecond) // every phase lies within the first interval
		for _, w := range want {
			synctest.Wait()
			s := e.Stats()
			if s.Up != w.up || s.Failing != w.failing || s.Down != w.down || s.Monitors != w.mons {
				t.Errorf("after %s: got up %d, failing %d, down %d of %d; want up %d, failing %d, down %d of %d",
					w.after, s.Up, s.Failing, s.Down, s.Monitors, w.up, w.failing, w.down, w.mons)
			}
			time.Sleep(time.Second)
		}
		shutdown(t, e)
	})
}
