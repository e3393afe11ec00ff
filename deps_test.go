package cpra_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
)

// outage fails while down is set.
type outage struct{ down *atomic.Bool }

func (o outage) Check(context.Context) error {
	if o.down.Load() {
		return errors.New("unreachable")
	}
	return nil
}

func TestDependencies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		var net, stuck, alone atomic.Bool
		// The children are added first and name their parent: a name may
		// be of a monitor added later. Their phases spread over the second,
		// so most see the outage before the parent does.
		const children = 1000
		var ids []cpra.ID
		for i := range children {
			var chk cpra.Monitor
			chk.Check = outage{&net}
			switch i {
			case 7:
				chk.Check = checks{outage{&net}, outage{&stuck}}
			case 8:
				chk.Check = outage{&alone}
			}
			id, err := e.Add(cpra.Monitor{Name: fmt.Sprintf("svc-%d", i), Interval: time.Second, Check: chk.Check,
				Remediate: &fixes{out: "E"}, DependsOn: []cpra.Ref{{Name: "core-switch"}}})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if _, err := e.Add(cpra.Monitor{Name: "core-switch", Interval: 5 * time.Second, Check: outage{&net}}); err != nil {
			t.Fatal(err)
		}
		e.Start(context.Background())
		time.Sleep(10 * time.Second)
		net.Store(true)
		stuck.Store(true)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		st, _ := e.Status(ids[0])
		if !st.Suppressed || st.State != cpra.StateDown {
			t.Errorf("a child during the outage: Suppressed %v, State %v; want true, down", st.Suppressed, st.State)
		}
		if n := e.Stats().Remediations; n != 0 {
			t.Errorf("%d remediations ran behind a down parent, want 0", n)
		}
		net.Store(false)
		time.Sleep(30 * time.Second)
		stuck.Store(false)
		alone.Store(true)
		time.Sleep(30 * time.Second)
		shutdown(t, e)

		if got := rec.codes("core-switch"); got != "yellow red green" {
			t.Errorf("parent alerts %q, want %q", got, "yellow red green")
		}
		reds := 0
		for _, a := range rec.alerts {
			if strings.HasPrefix(a.Monitor, "svc-") && a.Monitor != "svc-7" && a.Monitor != "svc-8" {
				t.Errorf("child %s sent %s", a.Monitor, a.Code)
			}
			if a.Code.String() == "red" && a.Monitor != "svc-7" && a.Monitor != "svc-8" {
				reds++
			}
		}
		if reds != 1 {
			t.Errorf("%d reds during the outage, want exactly 1 (the parent's)", reds)
		}
		// svc-7 is still down once the parent is back: its fresh failure
		// is told (straight to remediation, then red when it fails).
		if got := rec.codes("svc-7"); got != "red green" {
			t.Errorf("child down for its own reason after the parent recovered: %q, want %q", got, "red green")
		}
		// svc-8 fails on its own while the parent is fine: as usual.
		if got := rec.codes("svc-8"); got != "yellow red" {
			t.Errorf("child failing alone: %q, want %q", got, "yellow red")
		}
	})
}

// checks fails when any of its checks fails.
type checks []interface{ Check(context.Context) error }

func (cs checks) Check(ctx context.Context) error {
	for _, c := range cs {
		if err := c.Check(ctx); err != nil {
			return err
		}
	}
	return nil
}

func TestDependencyErrors(t *testing.T) {
	e, _ := cpra.New()
	add := func(name string, deps ...cpra.Ref) error {
		_, err := e.Add(cpra.Monitor{Name: name, Check: &counter{}, DependsOn: deps})
		return err
	}
	if err := add("a", cpra.Ref{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := add("b", cpra.Ref{Name: "c"}); err != nil {
		t.Fatal(err)
	}
	err := add("c", cpra.Ref{Name: "a"})
	var me *cpra.MonitorError
	if !errors.As(err, &me) || me.Field != "DependsOn" || !strings.Contains(err.Error(), "c -> a -> b -> c") {
		t.Errorf("closing a cycle: %v, want a DependsOn error showing c -> a -> b -> c", err)
	}
	if err := add("d", cpra.Ref{Name: "d"}); err == nil || !strings.Contains(err.Error(), "itself") {
		t.Errorf("self dependency: %v", err)
	}
	if err := add("e", cpra.Ref{}); err == nil || !strings.Contains(err.Error(), "DependsOn[0]") {
		t.Errorf("empty reference: %v", err)
	}
	id, _ := e.Add(cpra.Monitor{Name: "f", Check: &counter{}})
	e.Remove(id)
	if err := add("g", cpra.Ref{ID: id}); !errors.Is(err, cpra.ErrNotFound) {
		t.Errorf("reference to a removed ID: %v, want ErrNotFound", err)
	}
	if err := add("h", cpra.Ref{ID: id, Name: "a"}); err == nil {
		t.Error("a reference with both ID and name was accepted")
	}
	// Refused monitors are not half-added: c can be added without the cycle.
	if err := add("c"); err != nil {
		t.Errorf("c without the cycle: %v", err)
	}
	if e.Stats().Monitors != 3 {
		t.Errorf("%d monitors, want 3 (a, b, c)", e.Stats().Monitors)
	}
}

func TestParentInMaintenance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		var down atomic.Bool
		start := time.Now().Add(10 * time.Second)
		e.Add(cpra.Monitor{Name: "router", Interval: time.Second, Check: outage{&down},
			Maintenance: []cpra.MaintenanceWindow{{Start: start, Duration: 20 * time.Second}}})
		child, _ := e.Add(cpra.Monitor{Name: "app", Interval: time.Second, Check: outage{&down},
			DependsOn: []cpra.Ref{{Name: "router"}}})
		e.Start(context.Background())
		time.Sleep(15 * time.Second)
		down.Store(true) // the expected outage of the router's upgrade
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if st, _ := e.Status(child); !st.Suppressed {
			t.Errorf("child of a parent in maintenance: Suppressed %v, want true", st.Suppressed)
		}
		if got := rec.codes("app"); got != "" {
			t.Errorf("child alerts during the parent's maintenance: %q, want none", got)
		}
		down.Store(false)
		time.Sleep(20 * time.Second)
		shutdown(t, e)
		if got := rec.codes("router"); got != "gray" {
			t.Errorf("parent alerts %q, want gray only", got)
		}
		if got := rec.codes("app"); got != "" {
			t.Errorf("child alerts %q, want none: it recovered with its parent", got)
		}
	})
}

// Parent lists freed by removed monitors are reused for new ones; the
// monitors still holding theirs keep them, as cycle detection shows.
func TestDependencyListsAfterRemoval(t *testing.T) {
	e, _ := cpra.New()
	add := func(name string, deps ...string) (cpra.ID, error) {
		m := cpra.Monitor{Name: name, Check: &counter{}}
		for _, d := range deps {
			m.DependsOn = append(m.DependsOn, cpra.Ref{Name: d})
		}
		return e.Add(m)
	}
	var gone []cpra.ID
	for i := range 20 {
		id, err := add(fmt.Sprint("old-", i), fmt.Sprint("p-", i))
		if err != nil {
			t.Fatal(err)
		}
		gone = append(gone, id)
	}
	if _, err := add("keep", "p-keep"); err != nil {
		t.Fatal(err)
	}
	for _, id := range gone {
		if err := e.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		if _, err := add(fmt.Sprint("new-", i), fmt.Sprint("q-", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ name, parent, path string }{
		{"p-keep", "keep", "p-keep -> keep -> p-keep"},
		{"q-3", "new-3", "q-3 -> new-3 -> q-3"},
	} {
		_, err := add(c.name, c.parent)
		if err == nil || !strings.Contains(err.Error(), c.path) {
			t.Errorf("got %v adding %s under %s, want a cycle %s", err, c.name, c.parent, c.path)
		}
	}
	// The removed monitors' parents lead nowhere now.
	if _, err := add("p-3", "old-3"); err != nil {
		t.Errorf("got %v adding p-3 under the removed old-3's name, want no cycle", err)
	}
}
