package cpra_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
)

func TestPauseResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		var broken atomic.Bool
		broken.Store(true)
		n := &counter{}
		id, _ := e.Add(cpra.Monitor{Name: "db", Interval: time.Second, Check: checks{n, outage{&broken}}})
		up, _ := e.Add(cpra.Monitor{Name: "web", Interval: time.Second, Check: &script{out: "P"}})
		e.Start(context.Background())
		time.Sleep(5 * time.Second)
		synctest.Wait()
		red, _ := e.Status(id)
		if err := e.Pause(id); err != nil {
			t.Fatal(err)
		}
		if err := e.Pause(id); err != nil { // idempotent: no second gray
			t.Fatal(err)
		}
		e.Pause(up)
		before := n.n.Load()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		st, _ := e.Status(id)
		during := n.n.Load() - before
		if during > 1 || !st.Paused || st.Code != alert.Gray || st.State != cpra.StateDown || !st.Since.Equal(red.Since) {
			t.Errorf("while paused: %d checks ran, status %+v; want none (one already running at most), paused, gray, still down since %v",
				during, st, red.Since)
		}
		e.Resume(id)
		e.Resume(up)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got, want := rec.codes("db"), "yellow red gray"; got != want {
			t.Errorf("db alerts %q after resuming while still down, want %q: the pause does not end the episode", got, want)
		}
		broken.Store(false)
		time.Sleep(5 * time.Second)
		shutdown(t, e)
		if got, want := rec.codes("db"), "yellow red gray green"; got != want {
			t.Errorf("db alerts %q, want %q: one outage across the pause, one red, one green", got, want)
		}
		if got := rec.codes("web"); got != "gray" {
			t.Errorf("web alerts %q, want only the gray (healthy again after resuming, no green)", got)
		}
		rec.mu.Lock()
		for _, a := range rec.alerts {
			if a.Code == alert.Gray && a.Monitor == "web" && !a.Since.IsZero() {
				t.Errorf("gray of a healthy monitor has Since %v, want zero", a.Since)
			}
			if a.Monitor == "db" && !a.Since.Equal(red.Since) {
				t.Errorf("db %s has Since %v, want the episode's %v", a.Code, a.Since, red.Since)
			}
		}
		rec.mu.Unlock()
		if err := e.Pause(cpra.ID{}); !errors.Is(err, cpra.ErrClosed) {
			t.Errorf("Pause after Shutdown = %v, want ErrClosed", err)
		}
	})
}

func TestPauseBeforeStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		n := &counter{}
		id, _ := e.Add(cpra.Monitor{Name: "x", Interval: time.Second, Check: n})
		if err := e.Pause(id); err != nil {
			t.Fatal(err)
		}
		if err := e.Pause(cpra.ID{}); !errors.Is(err, cpra.ErrNotFound) {
			t.Errorf("Pause of the zero ID = %v, want ErrNotFound", err)
		}
		e.Start(context.Background())
		time.Sleep(5 * time.Second)
		shutdown(t, e)
		if n.n.Load() != 0 {
			t.Errorf("a monitor paused before Start ran %d checks", n.n.Load())
		}
		if got := rec.codes(""); got != "gray" {
			t.Errorf("alerts %q, want the gray, raised before Start and sent once the engine runs", got)
		}
	})
}
