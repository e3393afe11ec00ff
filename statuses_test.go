package cpra_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
)

func names(t *testing.T, seq func(func(cpra.Cursor, cpra.Status) bool)) []string {
	t.Helper()
	var out []string
	for _, st := range seq {
		out = append(out, st.Name)
	}
	return out
}

func TestLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		ids := map[string]cpra.ID{}
		for i := range 1000 {
			name := fmt.Sprint("svc-", i)
			ids[name], _ = e.Add(cpra.Monitor{Name: name, Interval: time.Second, Check: &counter{}})
		}
		check := func(when string) {
			for _, name := range []string{"svc-0", "svc-999", "svc-512"} {
				if id, ok := e.Lookup(name); !ok || id != ids[name] {
					t.Errorf("%s: Lookup(%q) = %v, %v; want %v, true", when, name, id, ok, ids[name])
				}
			}
			if id, ok := e.Lookup("svc-1000"); ok {
				t.Errorf("%s: Lookup of an absent name = %v, true; want false", when, id)
			}
		}
		check("before Start")
		e.Start(context.Background())
		check("running")
		e.Remove(ids["svc-512"])
		if _, ok := e.Lookup("svc-512"); ok {
			t.Error("Lookup found a removed monitor")
		}
		ids["svc-512"], _ = e.Add(cpra.Monitor{Name: "svc-512", Interval: time.Second, Check: &counter{}})
		shutdown(t, e)
		check("after Shutdown")
	})
}

// TestLookupAll looks up more names than one step of the loop takes,
// before Start, while the engine runs and after Shutdown: each name gets
// the ID Add gave it, in order, and a name no monitor has the zero ID.
func TestLookupAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		const n = 5000
		var want []cpra.ID
		var names []string
		for i := range n {
			name := fmt.Sprint("svc-", i)
			id, err := e.Add(cpra.Monitor{Name: name, Interval: time.Hour, Check: &counter{}})
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
			want = append(want, id)
			if i%1000 == 999 {
				// Absent names among them, one in each step.
				names = append(names, fmt.Sprint("absent-", i))
				want = append(want, cpra.ID{})
			}
		}
		check := func(when string) {
			t.Helper()
			prefix := []cpra.ID{want[1]}
			got := e.LookupAll(names, prefix[:1:1])
			if len(got) != len(want)+1 || got[0] != want[1] {
				t.Fatalf("%s: got %d IDs starting %v, want %d appended to %v", when, len(got), got[:1], len(want), want[1])
			}
			for i, id := range got[1:] {
				if id != want[i] {
					t.Fatalf("%s: the ID of %q is %v, want %v", when, names[i], id, want[i])
				}
			}
			if got := e.LookupAll(nil, nil); len(got) != 0 {
				t.Errorf("%s: no names: got %v, want none", when, got)
			}
		}
		check("before Start")
		e.Start(context.Background())
		check("running")
		e.Remove(want[7])
		want[7] = cpra.ID{}
		check("after a removal")
		shutdown(t, e)
		check("after Shutdown")
	})
}

// TestIDCompare: Compare is a total order that tells apart the IDs of a
// monitor removed and of the one that takes its place in the engine, and
// sorted IDs are found again by a binary search.
func TestIDCompare(t *testing.T) {
	e, _ := cpra.New()
	defer e.Shutdown(context.Background())
	var ids []cpra.ID
	for i := range 100 {
		id, err := e.Add(cpra.Monitor{Name: fmt.Sprint("svc-", i), Interval: time.Hour, Check: &counter{}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Removed and added again, some of them take the places of others.
	for i := 10; i < 20; i++ {
		if err := e.Remove(ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := 10; i < 20; i++ {
		id, err := e.Add(cpra.Monitor{Name: fmt.Sprint("new-", i), Interval: time.Hour, Check: &counter{}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// The engine gives the places of removed monitors to new ones, with a
	// new generation: "m<place>.<generation>".
	place := func(id cpra.ID) string { p, _, _ := strings.Cut(id.String(), "."); return p }
	reused := false
	for _, removed := range ids[10:20] {
		for _, added := range ids[100:] {
			reused = reused || place(removed) == place(added)
		}
	}
	if !reused {
		t.Fatalf("no new monitor took the place of a removed one: %v, then %v", ids[10:20], ids[100:])
	}
	for _, a := range ids {
		for _, b := range ids {
			got, back := a.Compare(b), b.Compare(a)
			if want := 0; a == b && (got != want || back != want) {
				t.Fatalf("%v.Compare(itself) = %d, %d; want 0", a, got, back)
			}
			if a != b && (got == 0 || got != -back) {
				t.Fatalf("%v.Compare(%v) = %d, and back %d; want -1 and 1 in some order", a, b, got, back)
			}
		}
	}
	sorted := slices.SortedFunc(slices.Values(ids), cpra.ID.Compare)
	for _, id := range ids {
		if _, ok := slices.BinarySearchFunc(sorted, id, cpra.ID.Compare); !ok {
			t.Errorf("%v not found among the sorted IDs", id)
		}
	}
	if (cpra.ID{}).Compare(sorted[0]) >= 0 {
		t.Errorf("the zero ID does not come first: Compare with %v = %d", sorted[0], (cpra.ID{}).Compare(sorted[0]))
	}
}

// TestStatusesPagesWhileFleetChanges pages through a fleet by cursors
// while monitors are removed and added between pages, enough of them that
// the engine's name index grows in the middle: every monitor present
// throughout is listed exactly once.
func TestStatusesPagesWhileFleetChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		ids := map[string]cpra.ID{}
		for i := range 20000 {
			name := fmt.Sprint("m", i)
			ids[name], _ = e.Add(cpra.Monitor{Name: name, Interval: time.Hour, Check: &counter{}})
		}
		e.Start(context.Background())
		defer shutdown(t, e)
		all := names(t, e.Statuses(cpra.StatusFilter{}))
		if len(all) != 20000 {
			t.Fatalf("listed %d monitors, want 20000", len(all))
		}
		again := names(t, e.Statuses(cpra.StatusFilter{}))
		if !slices.Equal(all, again) {
			t.Fatal("two listings of an unchanged fleet differ in order")
		}
		removed := map[string]bool{}
		seen := map[string]int{}
		var after cpra.Cursor
		added := 0
		for page := 0; ; page++ {
			n := 0
			var last cpra.Cursor
			for cur, st := range e.Statuses(cpra.StatusFilter{After: after}) {
				if st.ID != ids[st.Name] && !removed[st.Name] && ids[st.Name] != (cpra.ID{}) {
					t.Fatalf("%s listed with ID %v, want %v", st.Name, st.ID, ids[st.Name])
				}
				seen[st.Name]++
				last = cur
				if n++; n == 500 {
					break
				}
			}
			if n < 500 {
				break
			}
			// Round-trip the cursor through its text form, as a page link does.
			var err error
			if after, err = cpra.ParseCursor(last.String()); err != nil || after != last {
				t.Fatalf("ParseCursor(%q) = %v, %v; want %v", last.String(), after, err, last)
			}
			// Remove a few monitors, and add many new ones: the fleet grows
			// by half over the listing, so the index grows under it.
			for i := page * 7; i < page*7+3; i++ {
				name := fmt.Sprint("m", i)
				if !removed[name] {
					e.Remove(ids[name])
					removed[name] = true
				}
			}
			for range 300 {
				name := fmt.Sprint("new", added)
				added++
				if _, err := e.Add(cpra.Monitor{Name: name, Interval: time.Hour, Check: &counter{}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if added < 10000 {
			t.Fatalf("added %d monitors during the listing, want at least 10000 so the index grows", added)
		}
		for i := range 20000 {
			name := fmt.Sprint("m", i)
			if removed[name] {
				if seen[name] > 1 {
					t.Errorf("%s (removed meanwhile) listed %d times, want at most once", name, seen[name])
				}
				continue
			}
			if seen[name] != 1 {
				t.Errorf("%s listed %d times, want exactly once", name, seen[name])
			}
		}
		for name, n := range seen {
			if n > 1 {
				t.Errorf("%s listed %d times", name, n)
			}
		}
	})
}

func TestStatusesFilter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		var dbDown, apiDown atomic.Bool
		dbDown.Store(true)
		apiDown.Store(true)
		fail := func(b *atomic.Bool, msg string) cpra.Monitor {
			return cpra.Monitor{Interval: time.Second, FailureThreshold: 2, Check: checkFunc(func(context.Context) error {
				if b.Load() {
					return errors.New(msg)
				}
				return nil
			})}
		}
		m := fail(&dbDown, "connection refused")
		m.Name, m.Labels = "db", map[string]string{"team": "data"}
		e.Add(m)
		m = fail(&apiDown, "status 503")
		m.Name, m.Labels, m.DependsOn = "API-gateway", map[string]string{"team": "web"}, []cpra.Ref{{Name: "db"}}
		e.Add(m)
		m = fail(&apiDown, "status 502")
		m.Name, m.FailureThreshold = "checkout", 5
		m.Labels = map[string]string{"team": "web", "tier": "1"}
		e.Add(m)
		for i := range 50 {
			e.Add(cpra.Monitor{Name: fmt.Sprint("ok-", i), Interval: time.Second, Check: &counter{},
				Labels: map[string]string{"team": []string{"web", "data"}[i%2]}})
		}
		paused, _ := e.Add(cpra.Monitor{Name: "legacy", Interval: time.Second, Check: &counter{}})
		unknown, _ := e.Add(cpra.Monitor{Name: "nightly", Interval: 24 * time.Hour, Check: &counter{}})
		_ = unknown
		e.Start(context.Background())
		defer shutdown(t, e)
		e.Pause(paused)
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()

		byName := func(f cpra.StatusFilter) map[string]cpra.Status {
			out := map[string]cpra.Status{}
			for _, st := range e.Statuses(f) {
				out[st.Name] = st
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    cpra.StatusFilter
			want []string
		}{
			{"down", cpra.StatusFilter{Conditions: cpra.ConditionDown}, []string{"API-gateway", "db"}},
			{"failing", cpra.StatusFilter{Conditions: cpra.ConditionFailing}, []string{"checkout"}},
			{"down or failing", cpra.StatusFilter{Conditions: cpra.ConditionDown | cpra.ConditionFailing}, []string{"API-gateway", "checkout", "db"}},
			{"paused", cpra.StatusFilter{Conditions: cpra.ConditionPaused}, []string{"legacy"}},
			{"unknown", cpra.StatusFilter{Conditions: cpra.ConditionUnknown}, []string{"nightly"}},
			{"label", cpra.StatusFilter{Labels: map[string]string{"tier": "1"}}, []string{"checkout"}},
			{"label and condition", cpra.StatusFilter{Labels: map[string]string{"team": "web"}, Conditions: cpra.ConditionDown}, []string{"API-gateway"}},
			{"name, any case", cpra.StatusFilter{Name: "gate"}, []string{"API-gateway"}},
			{"name and label", cpra.StatusFilter{Name: "OK-1", Labels: map[string]string{"team": "data"}}, []string{"ok-1", "ok-11", "ok-13", "ok-15", "ok-17", "ok-19"}},
			{"nothing", cpra.StatusFilter{Name: "absent"}, nil},
		} {
			got := slices.Sorted(maps.Keys(byName(tc.f)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: listed %q, want %q", tc.name, got, tc.want)
			}
		}
		all := byName(cpra.StatusFilter{})
		if len(all) != 55 {
			t.Errorf("listed %d monitors, want 55", len(all))
		}
		db, api, co := all["db"], all["API-gateway"], all["checkout"]
		if db.Condition() != cpra.ConditionDown || db.LastError == nil || db.LastError.Error() != "connection refused" ||
			db.Since.IsZero() || db.LastCheck.Before(db.Since) || db.NextCheck.Before(db.LastCheck) || db.Suppressed {
			t.Errorf("db: %+v; want down since its first failure, its error, a next check after its last", db)
		}
		if !api.Suppressed || api.SuppressedBy != "db" || api.Condition() != cpra.ConditionDown {
			t.Errorf("API-gateway: suppressed %v by %q, condition %v; want held by db", api.Suppressed, api.SuppressedBy, api.Condition())
		}
		if co.Condition() != cpra.ConditionFailing || co.ConsecutiveFailures < 2 || co.LastError.Error() != "status 502" {
			t.Errorf("checkout: %v with %d failures, error %v; want failing, not yet down", co.Condition(), co.ConsecutiveFailures, co.LastError)
		}
		if st := all["legacy"]; !st.NextCheck.IsZero() || st.Condition() != cpra.ConditionPaused {
			t.Errorf("paused monitor: next check %v, condition %v; want none, paused", st.NextCheck, st.Condition())
		}
		if got, want := e.Counts(), (cpra.Counts{Monitors: 55, Unknown: 1, Up: 50, Failing: 1, Down: 2, Paused: 1}); got != want {
			t.Errorf("Counts() = %+v, want %+v", got, want)
		}
		one, _ := e.Status(db.ID)
		if one.NextCheck != db.NextCheck || one.Since != db.Since {
			t.Errorf("Status and Statuses differ: %+v, %+v", one, db)
		}
	})
}

func TestParseSelectorAndCondition(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		err  bool
	}{
		{"", nil, false},
		{"team=web", map[string]string{"team": "web"}, false},
		{" team = web , zone=eu-1 ", map[string]string{"team": "web", "zone": "eu-1"}, false},
		{"team=", map[string]string{"team": ""}, false},
		{"team", nil, true},
		{"=web", nil, true},
		{"team=a,team=b", nil, true},
	} {
		got, err := cpra.ParseSelector(tc.in)
		if (err != nil) != tc.err || !maps.Equal(got, tc.want) {
			t.Errorf("ParseSelector(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	c, err := cpra.ParseCondition("down|Failing")
	if err != nil || c != cpra.ConditionDown|cpra.ConditionFailing || c.String() != "failing|down" {
		t.Errorf("ParseCondition = %v (%q), %v; want failing|down", c, c.String(), err)
	}
	if _, err := cpra.ParseCondition("sideways"); err == nil {
		t.Error("ParseCondition accepted an unknown name")
	}
	if _, err := cpra.ParseCursor("xyz"); err == nil {
		t.Error("ParseCursor accepted a bad cursor")
	}
}

// TestStatusesFailingPages pages through the down monitors of a fleet in
// which few fail: the listing visits only those, and its cursors page
// through them each once, also after a round trip through their text.
func TestStatusesFailingPages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		for i := range 3000 {
			m := cpra.Monitor{Name: fmt.Sprint("m", i), Interval: time.Second, Check: &counter{}}
			if i%10 == 0 {
				m.FailureThreshold = 1
				m.Check = checkFunc(func(context.Context) error { return errors.New("refused") })
			}
			e.Add(m)
		}
		e.Start(context.Background())
		defer shutdown(t, e)
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		seen := map[string]int{}
		var after cpra.Cursor
		pages := 0
		for {
			n := 0
			for cur, st := range e.Statuses(cpra.StatusFilter{Conditions: cpra.ConditionDown, After: after}) {
				if st.Condition() != cpra.ConditionDown {
					t.Fatalf("%s is %v, listed as down", st.Name, st.Condition())
				}
				if s := cur.String(); !strings.HasPrefix(s, "f") {
					t.Fatalf("cursor %q of a listing of few failing monitors, want one of their order", s)
				}
				seen[st.Name]++
				after, _ = cpra.ParseCursor(cur.String())
				if n++; n == 40 {
					break
				}
			}
			pages++
			if n < 40 {
				break
			}
		}
		if len(seen) != 300 || pages != 8 {
			t.Errorf("%d down monitors in %d pages, want 300 in 8", len(seen), pages)
		}
		for name, n := range seen {
			if n != 1 {
				t.Errorf("%s listed %d times", name, n)
			}
		}
	})
}
