package cpra_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
)

// tagged is a notifier whose value is not comparable (it holds a slice):
// == on two of them in interfaces panics.
type tagged struct {
	tags []string
	rec  *recorder
}

func (t tagged) Notify(ctx context.Context, a alert.Alert) error { return t.rec.Notify(ctx, a) }

// Monitors that share a notifier, comparable or not, each send their
// alerts to it; one removed leaves the notifier to the others; and two
// notifiers that are equal in code but distinct values stay apart.
func TestSharedNotifiersDeliver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		def := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(def))
		target := &switchable{}
		// Two closures of one literal: each its own notifier.
		closure := func(rec *recorder) alert.Notifier {
			return alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error { return rec.Notify(ctx, a) })
		}
		fnRec, fnRec2, tagRec, ptrRec, routeRec := &recorder{}, &recorder{}, &recorder{}, &recorder{}, &recorder{}
		fn, fn2 := closure(fnRec), closure(fnRec2)
		tg := tagged{tags: []string{"a"}, rec: tagRec}
		route := alert.Route{alert.Red: routeRec}
		add := func(name string, n alert.Notifier) cpra.ID {
			t.Helper()
			id, err := e.Add(cpra.Monitor{Name: name, Interval: time.Second, FailureThreshold: 1, Check: target, Notify: n})
			if err != nil {
				t.Fatalf("Add %s: %v", name, err)
			}
			return id
		}
		gone := add("fn-gone", fn)
		add("fn-1", fn)
		add("fn-2", fn)
		add("fn2", fn2)
		add("tag-1", tg)
		add("tag-2", tg)
		add("tag-3", tagged{tags: []string{"a"}, rec: tagRec}) // equal in content: also to tagRec
		add("ptr-1", ptrRec)
		add("ptr-2", ptrRec)
		add("route-1", route)
		add("route-2", route)
		add("default", nil)
		if err := e.Remove(gone); err != nil {
			t.Fatalf("Remove: %v", err)
		}
		e.Start(context.Background())
		target.down.Store(true)
		time.Sleep(5 * time.Second)
		shutdown(t, e)
		for _, c := range []struct {
			rec   *recorder
			names []string
		}{
			{fnRec, []string{"fn-1", "fn-2"}},
			{fnRec2, []string{"fn2"}},
			{tagRec, []string{"tag-1", "tag-2", "tag-3"}},
			{ptrRec, []string{"ptr-1", "ptr-2"}},
			{routeRec, []string{"route-1", "route-2"}},
			{def, []string{"default"}},
		} {
			got := map[string]string{}
			c.rec.mu.Lock()
			for _, a := range c.rec.alerts {
				got[a.Monitor] += a.Code.String()
			}
			c.rec.mu.Unlock()
			for _, n := range c.names {
				if got[n] != "red" {
					t.Errorf("%s: alerts %q, want red", n, got[n])
				}
				delete(got, n)
			}
			if len(got) > 0 {
				t.Errorf("alerts of %v reached the notifier of %v", got, c.names)
			}
		}
	})
}

// An update that changes a monitor's notifier and labels sends its alerts
// to the new notifier with the new labels; the other monitors of the old
// notifier keep it.
func TestUpdateChangesRoute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		oldRec, newRec := &recorder{}, &recorder{}
		oldN := alert.NotifierFunc(oldRec.Notify)
		newN := alert.Route{alert.Red: newRec}
		oldLabels := map[string]string{"team": "a"}
		e, _ := cpra.New()
		target := &switchable{}
		mon := cpra.Monitor{Interval: time.Second, FailureThreshold: 1, Check: target, Notify: oldN, Labels: oldLabels}
		mon.Name = "db"
		id, _ := e.Add(mon)
		mon.Name = "web"
		e.Add(mon)
		mon.Name, mon.Notify, mon.Labels = "db", newN, map[string]string{"team": "b"}
		id, err := e.Update(id, mon)
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		st, _ := e.Status(id)
		if st.Labels["team"] != "b" {
			t.Errorf("labels after the update: %v, want team b", st.Labels)
		}
		e.Start(context.Background())
		target.down.Store(true)
		time.Sleep(5 * time.Second)
		shutdown(t, e)
		for _, c := range []struct {
			rec        *recorder
			want, team string
		}{{oldRec, "web", "a"}, {newRec, "db", "b"}} {
			c.rec.mu.Lock()
			if len(c.rec.alerts) != 1 || c.rec.alerts[0].Monitor != c.want || c.rec.alerts[0].Labels["team"] != c.team {
				t.Errorf("alerts %+v, want one of %s with team %s", c.rec.alerts, c.want, c.team)
			}
			c.rec.mu.Unlock()
		}
	})
}
