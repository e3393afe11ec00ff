package statuspage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/pulse"
	"github.com/ziad/cpra/statuspage"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func shutdown(t *testing.T, e *cpra.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// get asks h for path, as a browser or, with asJSON, as a JSON client.
func get(t *testing.T, h http.Handler, path string, asJSON bool) (int, string) {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	if asJSON {
		r.Header.Set("Accept", "application/json")
	} else {
		r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	ct := w.Header().Get("Content-Type")
	if w.Code == 200 && asJSON != strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s (json %v): Content-Type %q", path, asJSON, ct)
	}
	return w.Code, w.Body.String()
}

func getJSON[T any](t *testing.T, h http.Handler, path string) T {
	t.Helper()
	code, body := get(t, h, path, true)
	var v T
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	return v
}

func failing(msg string, broken *atomic.Bool) pulse.CheckerFunc {
	return func(context.Context) error {
		if broken == nil || broken.Load() {
			return errors.New(msg)
		}
		return nil
	}
}

func ok(context.Context) error { return nil }

// fleet is an engine with three monitors down (one held by its parent),
// one failing, forty up, one paused and one never checked, with an alert
// log on its notifier.
func fleet(t *testing.T) (*cpra.Engine, *statuspage.AlertLog) {
	log := statuspage.NewAlertLog(50)
	e, err := cpra.New(cpra.WithNotifier(log.Notifier(nil)))
	if err != nil {
		t.Fatal(err)
	}
	add := func(m cpra.Monitor) cpra.ID {
		if m.Interval == 0 {
			m.Interval = time.Second
		}
		id, err := e.Add(m)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	add(cpra.Monitor{Name: "db-primary", FailureThreshold: 2, Check: failing("dial tcp 127.0.0.1:5432: connection refused", nil),
		Labels: map[string]string{"team": "data"}})
	add(cpra.Monitor{Name: "payments-api", FailureThreshold: 2, Check: failing("status 503, want 200", nil),
		Labels: map[string]string{"team": "web"}})
	add(cpra.Monitor{Name: "orders-api", FailureThreshold: 2, Check: failing("status 502, want 200", nil),
		DependsOn: []cpra.Ref{{Name: "db-primary"}}, Labels: map[string]string{"team": "web"}})
	add(cpra.Monitor{Name: "search", FailureThreshold: 10, Check: failing("timeout after 1s", nil),
		Labels: map[string]string{"team": "web"}})
	for i := range 40 {
		add(cpra.Monitor{Name: fmt.Sprintf("edge-%02d", i), Check: pulse.CheckerFunc(ok),
			Labels: map[string]string{"team": []string{"web", "edge"}[i%2]}})
	}
	paused := add(cpra.Monitor{Name: "legacy", Check: pulse.CheckerFunc(ok)})
	add(cpra.Monitor{Name: "nightly-backup", Interval: 24 * time.Hour, Check: pulse.CheckerFunc(ok)})
	e.Start(context.Background())
	e.Pause(paused)
	return e, log
}

func TestOverview(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, log := fleet(t)
		defer shutdown(t, e)
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		p := statuspage.New(e, statuspage.WithAlertLog(log), statuspage.WithTitle("Shop status"))

		o := getJSON[statuspage.Overview](t, p, "/")
		want := statuspage.Counts{Monitors: 46, Down: 3, Failing: 1, Up: 40, Unknown: 1, Paused: 1}
		if o.Counts != want {
			t.Errorf("counts %+v, want %+v", o.Counts, want)
		}
		var got []string
		for _, m := range o.Problems {
			got = append(got, m.Name+":"+m.Condition)
		}
		// Down first, oldest first within (db-primary and payments-api
		// started together; orders-api's episode too), then failing.
		if len(got) != 4 || got[3] != "search:failing" || !strings.HasSuffix(got[0], ":down") {
			t.Errorf("problems %q, want the three down, then search failing", got)
		}
		byName := map[string]statuspage.Monitor{}
		for _, m := range o.Problems {
			byName[m.Name] = m
		}
		db := byName["db-primary"]
		if db.Error != "dial tcp 127.0.0.1:5432: connection refused" || db.Since.IsZero() || db.URL != "monitors/db-primary" || db.Failures < 3 {
			t.Errorf("db-primary: %+v; want its error, since, link, failures", db)
		}
		if m := byName["orders-api"]; m.SuppressedBy != "db-primary" {
			t.Errorf("orders-api suppressed by %q, want db-primary", m.SuppressedBy)
		}
		var codes []string
		for _, a := range o.Alerts {
			codes = append(codes, a.Monitor+":"+a.Code)
		}
		for _, w := range []string{"db-primary:red", "payments-api:red", "legacy:gray"} {
			if !slices.Contains(codes, w) {
				t.Errorf("recent alerts %q lack %s", codes, w)
			}
		}
		if slices.Contains(codes, "orders-api:red") {
			t.Errorf("recent alerts %q hold a red of orders-api, which its parent holds", codes)
		}

		code, page := get(t, p, "/", false)
		if code != 200 {
			t.Fatalf("GET / as HTML: %d", code)
		}
		for _, w := range []string{
			`<title>Shop status</title>`,
			`<b id="count-down">3</b>`, `<b id="count-failing">1</b>`, `<b id="count-up">40</b>`, `<b id="count-paused">1</b>`,
			`<tr class="down" data-monitor="db-primary"><td><a href="monitors/db-primary">db-primary</a>`,
			`<tr class="failing" data-monitor="search">`,
			`dial tcp 127.0.0.1:5432: connection refused`,
			`held by db-primary`,
		} {
			if !strings.Contains(page, w) {
				t.Errorf("overview HTML lacks %s", w)
			}
		}
		if strings.Contains(page, `data-monitor="edge-`) {
			t.Error("overview HTML lists a monitor that is up among the problems")
		}
		if strings.Contains(page, "<script") {
			t.Error("overview HTML has a script")
		}
	})
}

func TestOverviewCutsProblems(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		for i := range 30 {
			e.Add(cpra.Monitor{Name: fmt.Sprint("down-", i), Interval: time.Second, FailureThreshold: 1, Check: failing("refused", nil)})
		}
		e.Start(context.Background())
		defer shutdown(t, e)
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		p := statuspage.New(e, statuspage.WithPageSize(10))
		o := getJSON[statuspage.Overview](t, p, "/")
		if len(o.Problems) != 10 || o.More != "monitors?state=down,failing" || o.Counts.Down != 30 {
			t.Errorf("%d problems, more %q, %d down; want 10 of 30 and a link to the rest", len(o.Problems), o.More, o.Counts.Down)
		}
		if len(o.Alerts) != 0 {
			t.Errorf("alerts %v without an alert log, want none", o.Alerts)
		}
		l := getJSON[statuspage.Listing](t, p, "/"+o.More+"&n=100")
		if len(l.Monitors) != 30 {
			t.Errorf("the more link lists %d monitors, want 30", len(l.Monitors))
		}
	})
}

// TestListingPages follows the next links of a listing, in JSON and HTML:
// each monitor once, in pages of the asked size.
func TestListingPages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		const n = 1234
		for i := range n {
			e.Add(cpra.Monitor{Name: fmt.Sprintf("svc-%04d", i), Interval: time.Hour, Check: pulse.CheckerFunc(ok),
				Labels: map[string]string{"zone": fmt.Sprint("z", i%3)}})
		}
		e.Start(context.Background())
		defer shutdown(t, e)
		p := statuspage.New(e)
		seen := map[string]int{}
		pages := 0
		for path := "/monitors?n=100"; path != ""; pages++ {
			l := getJSON[statuspage.Listing](t, p, path)
			if len(l.Monitors) != 100 && l.Next != "" {
				t.Fatalf("%s: %d monitors and a next page, want 100", path, len(l.Monitors))
			}
			if (pages > 0) != (l.First != "") {
				t.Errorf("%s: first-page link %q on page %d", path, l.First, pages)
			}
			for _, m := range l.Monitors {
				seen[m.Name]++
			}
			path = ""
			if l.Next != "" {
				path = "/" + l.Next
			}
		}
		if pages != 13 || len(seen) != n {
			t.Errorf("%d pages, %d monitors; want 13 pages of the %d", pages, len(seen), n)
		}
		for name, c := range seen {
			if c != 1 {
				t.Errorf("%s on %d pages", name, c)
			}
		}
		// The HTML listing links to the next page with the same query.
		_, page := get(t, p, "/monitors?q=zone%3Dz1&n=50", false)
		next := regexp.MustCompile(`<a id="next" href="([^"]+)">`).FindStringSubmatch(page)
		if next == nil {
			t.Fatal("HTML listing of 411 monitors in pages of 50 has no next link")
		}
		u, _ := url.Parse(strings.ReplaceAll(next[1], "&amp;", "&"))
		if u.Query().Get("q") != "zone=z1" || u.Query().Get("n") != "50" || u.Query().Get("after") == "" {
			t.Errorf("next link %q does not keep the query and add a cursor", next[1])
		}
		if c := strings.Count(page, "<tr class=\"unknown\" data-monitor="); c != 50 {
			t.Errorf("HTML page has %d rows, want 50", c)
		}
	})
}

func TestListingSearch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := fleet(t)
		defer shutdown(t, e)
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		p := statuspage.New(e)
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"q=API", []string{"orders-api", "payments-api"}},
			{"q=team%3Dweb&state=down", []string{"orders-api", "payments-api"}},
			{"q=api+team%3Ddata", nil},
			{"q=db", []string{"db-primary"}},
			{"state=failing", []string{"search"}},
			{"state=paused,unknown", []string{"legacy", "nightly-backup"}},
			{"q=edge-1+team%3Dedge", []string{"edge-11", "edge-13", "edge-15", "edge-17", "edge-19"}},
		} {
			l := getJSON[statuspage.Listing](t, p, "/monitors?"+tc.query)
			var got []string
			for _, m := range l.Monitors {
				got = append(got, m.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("?%s: %q, want %q", tc.query, got, tc.want)
			}
		}
		for _, tc := range []struct{ query, field string }{
			{"state=sideways", "state"}, {"n=0", "n"}, {"n=5000", "n"}, {"after=zz", "after"}, {"q=%3Dweb", "q"},
		} {
			code, body := get(t, p, "/monitors?"+tc.query, true)
			var msg struct{ Error string }
			json.Unmarshal([]byte(body), &msg)
			if code != 400 || !strings.HasPrefix(msg.Error, tc.field+":") {
				t.Errorf("?%s: %d %s; want 400 naming %s", tc.query, code, body, tc.field)
			}
			if code, body := get(t, p, "/monitors?"+tc.query, false); code != 400 || !strings.Contains(body, tc.field+":") {
				t.Errorf("?%s as HTML: %d; want 400 naming %s", tc.query, code, tc.field)
			}
		}
	})
}

func TestDetail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, log := fleet(t)
		e.Add(cpra.Monitor{Name: "eu/api gateway", Interval: time.Second, Check: pulse.CheckerFunc(ok)})
		defer shutdown(t, e)
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		p := statuspage.New(e, statuspage.WithAlertLog(log))
		d := getJSON[statuspage.Detail](t, p, "/monitors/orders-api")
		if d.Monitor.Condition != "down" || d.Monitor.SuppressedBy != "db-primary" || d.Monitor.Error != "status 502, want 200" ||
			d.Monitor.NextCheck.IsZero() || d.Monitor.Labels["team"] != "web" || d.Monitor.IntervalSeconds != 1 {
			t.Errorf("orders-api: %+v", d.Monitor)
		}
		d = getJSON[statuspage.Detail](t, p, "/monitors/db-primary")
		if len(d.Alerts) == 0 || d.Alerts[0].Monitor != "db-primary" || d.Alerts[0].Code != "red" {
			t.Errorf("db-primary's alerts %+v, want its red first", d.Alerts)
		}
		for _, a := range d.Alerts {
			if a.Monitor != "db-primary" {
				t.Errorf("db-primary's page shows an alert of %s", a.Monitor)
			}
		}
		_, page := get(t, p, "/monitors/db-primary", false)
		for _, w := range []string{`<td id="state">down`, `<td id="error" class="err">dial tcp 127.0.0.1:5432: connection refused</td>`, `href=".././"`} {
			if !strings.Contains(page, w) {
				t.Errorf("db-primary page lacks %s", w)
			}
		}
		// A name with a slash and a space has a link that leads to it.
		l := getJSON[statuspage.Listing](t, p, "/monitors?q=gateway")
		if len(l.Monitors) != 1 || l.Monitors[0].URL != "monitors/eu%2Fapi%20gateway" {
			t.Fatalf("listing of the gateway: %+v", l.Monitors)
		}
		if d := getJSON[statuspage.Detail](t, p, "/"+l.Monitors[0].URL); d.Monitor.Name != "eu/api gateway" {
			t.Errorf("its link leads to %q", d.Monitor.Name)
		}
		if code, body := get(t, p, "/monitors/absent", true); code != 404 || !strings.Contains(body, `no monitor named \"absent\"`) {
			t.Errorf("absent monitor: %d %s, want 404 naming it", code, body)
		}
		if code, _ := get(t, p, "/nowhere", false); code != 404 {
			t.Errorf("unknown path: %d, want 404", code)
		}
		w := httptest.NewRecorder()
		p.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
		if w.Code != 405 {
			t.Errorf("POST /: %d, want 405", w.Code)
		}
	})
}

// TestAlertLog: bounded, newest first, retries recorded once, groups as
// their members, and the wrapped notifier's result passed on.
func TestAlertLog(t *testing.T) {
	l := statuspage.NewAlertLog(3)
	var calls int
	n := l.Notifier(alert.NotifierFunc(func(_ context.Context, a alert.Alert) error {
		calls++
		if a.Monitor == "bad" {
			return errors.New("receiver down")
		}
		return nil
	}))
	ctx := context.Background()
	for i, name := range []string{"a", "b", "c", "d"} {
		if err := n.Notify(ctx, alert.Alert{Monitor: name, Code: alert.Red, Key: fmt.Sprint(name, "/1/", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Notify(ctx, alert.Alert{Monitor: "bad", Key: "bad/1/1"}); err == nil {
		t.Error("the wrapper hid the notifier's error")
	}
	n.Notify(ctx, alert.Alert{Monitor: "bad", Key: "bad/1/1"}) // the retry
	var got []string
	for _, e := range l.Entries("", 10) {
		got = append(got, e.Monitor)
	}
	if want := []string{"bad", "d", "c"}; !slices.Equal(got, want) || calls != 6 {
		t.Errorf("entries %q after %d calls, want %q (3 kept, the retry once) after 6", got, calls, want)
	}
	l.Record(alert.Alert{Monitor: "zone=eu", Group: []alert.Alert{{Monitor: "x"}, {Monitor: "y"}}})
	got = got[:0]
	for _, e := range l.Entries("", 10) {
		got = append(got, e.Monitor)
	}
	if want := []string{"y", "x", "bad"}; !slices.Equal(got, want) {
		t.Errorf("after a group: %q, want %q", got, want)
	}
	if e := l.Entries("x", 10); len(e) != 1 || e[0].Monitor != "x" {
		t.Errorf("entries of x: %+v", e)
	}
}

// TestHTMLEscapes: a monitor's name, labels and error are text on the
// page, never markup.
func TestHTMLEscapes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := statuspage.NewAlertLog(10)
		e, _ := cpra.New(cpra.WithAlertHook(log.Record), cpra.WithNotifier(alert.NotifierFunc(func(context.Context, alert.Alert) error { return nil })))
		e.Add(cpra.Monitor{Name: `<script>alert(1)</script>`, Interval: time.Second, FailureThreshold: 1,
			Labels: map[string]string{"x": `"><i>`}, Check: failing(`<img src=x onerror=alert(2)>`, nil)})
		e.Start(context.Background())
		defer shutdown(t, e)
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		p := statuspage.New(e, statuspage.WithAlertLog(log))
		for _, path := range []string{"/", "/monitors", "/monitors/" + url.PathEscape(`<script>alert(1)</script>`)} {
			code, page := get(t, p, path, false)
			if code != 200 {
				t.Fatalf("GET %s: %d", path, code)
			}
			for _, raw := range []string{"<script>", "<img", `"><i>`} {
				if strings.Contains(page, raw) {
					t.Errorf("GET %s: raw %s in the HTML", path, raw)
				}
			}
			if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("GET %s: the escaped name is missing", path)
			}
		}
	})
}
