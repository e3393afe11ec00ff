package cpra_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
)

func TestMaintenanceWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		var down atomic.Bool
		n := &counter{}
		start := time.Now().Add(10 * time.Second)
		id, err := e.Add(cpra.Monitor{Name: "db", Interval: time.Second, FailureThreshold: 1,
			Check:       checks{n, outage{&down}},
			Maintenance: []cpra.MaintenanceWindow{{Start: start, Duration: 30 * time.Second}}})
		if err != nil {
			t.Fatal(err)
		}
		e.Start(context.Background())
		time.Sleep(15 * time.Second)
		down.Store(true) // fails inside the window
		synctest.Wait()
		before := n.n.Load()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		st, _ := e.Status(id)
		if ran := n.n.Load() - before; ran != 0 || !st.Maintenance || st.Code.String() != "gray" {
			t.Errorf("inside the window: %d checks, Maintenance %v, code %v; want none, true, gray", ran, st.Maintenance, st.Code)
		}
		time.Sleep(20 * time.Second) // the window closed at 40s
		if got := rec.codes("db"); got != "gray red" {
			t.Errorf("alerts %q, want %q: only gray inside, then red from fresh checks", got, "gray red")
		}
		down.Store(false)
		time.Sleep(5 * time.Second)
		shutdown(t, e)
		if got := rec.codes("db"); got != "gray red green" {
			t.Errorf("alerts %q, want %q", got, "gray red green")
		}
	})
}

func TestMaintenanceSelector(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		var down atomic.Bool
		add := func(name, zone string) cpra.ID {
			id, err := e.Add(cpra.Monitor{Name: name, Interval: 2 * time.Second, FailureThreshold: 1, Check: outage{&down},
				Labels: map[string]string{"zone": zone}})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		add("eu-1", "eu")
		add("us-1", "us")
		// A daily window from 00:00:20 for a minute (the bubble's clock
		// starts at midnight UTC), recurring tomorrow.
		day := time.Now().Truncate(24 * time.Hour)
		mid, err := e.AddMaintenance(cpra.Maintenance{Selector: map[string]string{"zone": "eu"},
			Windows: []cpra.MaintenanceWindow{{Start: day.Add(20 * time.Second), Duration: time.Minute, Repeat: cpra.Daily}}})
		if err != nil {
			t.Fatal(err)
		}
		e.Start(context.Background())
		time.Sleep(30 * time.Second)
		down.Store(true)
		late := add("eu-2", "eu") // added inside the open window: enters it
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if st, _ := e.Status(late); !st.Maintenance {
			t.Error("a monitor added inside an open window is not in maintenance")
		}
		if got := rec.codes("eu-1"); got != "gray" {
			t.Errorf("eu-1 inside its window: %q, want gray only", got)
		}
		if got := rec.codes("us-1"); got != "red" {
			t.Errorf("us-1 (not selected): %q, want red", got)
		}
		down.Store(false)
		time.Sleep(24 * time.Hour) // through tomorrow's window
		synctest.Wait()
		if got := rec.codes("eu-1"); got != "gray gray" {
			t.Errorf("eu-1 after two daily windows: %q, want %q", got, "gray gray")
		}
		// Removing the maintenance inside tomorrow's next window lets the
		// monitors out at once.
		time.Sleep(25 * time.Second)
		if err := e.RemoveMaintenance(mid); err != nil {
			t.Fatal(err)
		}
		if err := e.RemoveMaintenance(mid); !errors.Is(err, cpra.ErrNotFound) {
			t.Errorf("second RemoveMaintenance: %v, want ErrNotFound", err)
		}
		down.Store(true)
		time.Sleep(5 * time.Second)
		shutdown(t, e)
		if got := rec.codes("eu-1"); got != "gray gray red" {
			t.Errorf("eu-1 after the maintenance was removed: %q, want %q", got, "gray gray red")
		}
	})
}

func TestMaintenanceRefused(t *testing.T) {
	e, _ := cpra.New()
	_, err := e.Add(cpra.Monitor{Name: "x", Check: &counter{},
		Maintenance: []cpra.MaintenanceWindow{{Start: time.Now()}}})
	var me *cpra.MonitorError
	if !errors.As(err, &me) || me.Field != "Maintenance[0].Duration" {
		t.Errorf("window without a duration: %v, want a MonitorError on Maintenance[0].Duration", err)
	}
	if _, err := e.AddMaintenance(cpra.Maintenance{Windows: []cpra.MaintenanceWindow{{Start: time.Now(), Duration: time.Hour}}}); err == nil || !strings.Contains(err.Error(), "Selector") {
		t.Errorf("maintenance without a selector: %v", err)
	}
}

// A monitor already down when its window opens: the gray does not end
// its episode. Still down after the window, nothing new is sent; once it
// recovers, one green ends the one episode.
func TestMaintenanceOverAnOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		n := &counter{}
		var broken atomic.Bool
		broken.Store(true)
		start := time.Now().Add(20 * time.Second)
		id, _ := e.Add(cpra.Monitor{Name: "db", Interval: time.Second, Check: checks{n, outage{&broken}},
			Maintenance: []cpra.MaintenanceWindow{{Start: start, Duration: time.Minute}}})
		e.Start(context.Background())
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if got := rec.codes("db"); got != "yellow red gray" {
			t.Errorf("into the window: %q, want %q", got, "yellow red gray")
		}
		st, _ := e.Status(id)
		if st.State != cpra.StateDown || st.Since.IsZero() || !st.Maintenance {
			t.Errorf("inside: state %v, since %v, maintenance %v; want still down in its episode", st.State, st.Since, st.Maintenance)
		}
		time.Sleep(60 * time.Second) // the window closed at 80s
		synctest.Wait()
		if got := rec.codes("db"); got != "yellow red gray" {
			t.Errorf("after the window, still down: %q, want %q", got, "yellow red gray")
		}
		broken.Store(false)
		time.Sleep(5 * time.Second)
		shutdown(t, e)
		if got := rec.codes("db"); got != "yellow red gray green" {
			t.Errorf("alerts %q, want %q", got, "yellow red gray green")
		}
	})
}
