package metrics_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/metrics"
	"github.com/ziad/cpra/pulse"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	nameRE  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// exposition is what a parsed text exposition holds: the type of each
// family and the value of each series, keyed as written ("name{labels}").
type exposition struct {
	types  map[string]string
	series map[string]float64
}

// parse reads the text format strictly: every line is a HELP, a TYPE or a
// sample; a sample's family has a TYPE line before it; names and labels are
// well-formed; values are floats; no series appears twice; families are not
// split; counters end in _total.
func parse(t *testing.T, r io.Reader) exposition {
	t.Helper()
	x := exposition{types: map[string]string{}, series: map[string]float64{}}
	help := map[string]bool{}
	var last string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("line %d %q: %s", n, line, fmt.Sprintf(format, args...))
		}
		if line == "" {
			fail("empty line")
		}
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			kind, rest, _ := strings.Cut(rest, " ")
			name, text, ok := strings.Cut(rest, " ")
			if !ok || !nameRE.MatchString(name) || text == "" {
				fail("malformed %s line", kind)
			}
			if (help[name] || x.types[name] != "") && last != name {
				fail("family %s split", name)
			}
			last = name
			switch kind {
			case "HELP":
				if help[name] || x.types[name] != "" {
					fail("HELP repeated or after TYPE")
				}
				help[name] = true
			case "TYPE":
				if x.types[name] != "" {
					fail("TYPE repeated")
				}
				switch text {
				case "counter", "gauge", "untyped", "summary", "histogram":
				default:
					fail("unknown type %q", text)
				}
				x.types[name] = text
			default:
				fail("unknown comment kind %q", kind)
			}
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			fail("no value")
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			fail("value: %v", err)
		}
		name := series
		if i := strings.IndexByte(series, '{'); i >= 0 {
			name = series[:i]
			labels := series[i:]
			if !strings.HasSuffix(labels, "}") {
				fail("unterminated labels")
			}
			for _, pair := range strings.Split(labels[1:len(labels)-1], ",") {
				k, val, ok := strings.Cut(pair, "=")
				if !ok || !labelRE.MatchString(k) || len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
					fail("bad label %q", pair)
				}
				if _, err := strconv.Unquote(val); err != nil {
					fail("bad label value %q", val)
				}
			}
		}
		if !nameRE.MatchString(name) {
			fail("bad metric name %q", name)
		}
		fam := name
		if x.types[fam] == "" {
			// A histogram's series carry suffixes on the family's name.
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suf); ok && x.types[base] == "histogram" {
					fam = base
				}
			}
		}
		if x.types[fam] == "" || last != fam {
			fail("sample without its TYPE line just before")
		}
		if x.types[fam] == "counter" && !strings.HasSuffix(name, "_total") {
			fail("counter without _total")
		}
		if _, dup := x.series[series]; dup {
			fail("duplicate series")
		}
		x.series[series] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return x
}

// scrape serves one GET from h and parses the answer.
func scrape(t *testing.T, h http.Handler) exposition {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
	}
	return parse(t, rec.Body)
}

// want is what the exposition of s must hold, series by series, written
// out on its own so that a series reading the wrong field fails.
func want(s cpra.Stats) map[string]float64 {
	w := map[string]float64{
		"cpra_monitors":                      float64(s.Monitors),
		"cpra_monitors_up":                   float64(s.Up),
		"cpra_monitors_down":                 float64(s.Down),
		"cpra_monitors_failing":              float64(s.Failing),
		"cpra_checks_total":                  float64(s.ChecksRun),
		"cpra_checks_failed_total":           float64(s.ChecksFailed),
		"cpra_checks_abandoned_total":        float64(s.ChecksAbandoned),
		"cpra_checks_skipped_total":          float64(s.ChecksSkipped),
		"cpra_flap_starts_total":             float64(s.FlapStarts),
		"cpra_queue_full_total":              float64(s.QueueFull),
		"cpra_remediations_total":            float64(s.Remediations),
		"cpra_remediations_failed_total":     float64(s.RemediationsFailed),
		"cpra_remediations_denied_total":     float64(s.RemediationsDenied),
		"cpra_remediations_dry_run_total":    float64(s.RemediationsDryRun),
		"cpra_alerts_sent_total":             float64(s.AlertsSent),
		"cpra_alerts_failed_total":           float64(s.AlertsFailed),
		"cpra_alerts_grouped_total":          float64(s.AlertsGrouped),
		"cpra_alerts_raised_total":           float64(s.AlertsRaised),
		"cpra_alerts_collapsed_total":        float64(s.AlertsCollapsed),
		"cpra_alerts_queued":                 float64(s.AlertsQueued),
		"cpra_alerts_kept_total":             float64(s.AlertsKept),
		"cpra_store_failures_total":          float64(s.StoreFailures),
		"cpra_store_states_dropped_total":    float64(s.StatesDropped),
		"cpra_cluster_shards_owned":          float64(s.ShardsOwned),
		"cpra_cluster_shards_acquired_total": float64(s.ShardsAcquired),
		"cpra_cluster_shards_released_total": float64(s.ShardsReleased),
		"cpra_alerts_fenced_total":           float64(s.AlertsFenced),
		"cpra_remediations_fenced_total":     float64(s.RemediationsFenced),
		"cpra_calls_abandoned_total":         float64(s.CallsAbandoned),
		"cpra_plugins_running":               float64(s.PlugInsRunning),
		"cpra_offheap_bytes":                 float64(s.OffHeapBytes),
		"cpra_schedule_lag_p50_seconds":      s.Lag.P50.Seconds(),
		"cpra_schedule_lag_p99_seconds":      s.Lag.P99.Seconds(),
		"cpra_schedule_lag_max_seconds":      s.Lag.Max.Seconds(),
		"cpra_schedule_lag_samples":          float64(s.Lag.Samples),
		"cpra_checks_late":                   float64(s.ChecksLate),
		"cpra_checks_late_oldest_seconds":    s.LateOldest.Seconds(),
	}
	for name, p := range map[string]cpra.PipelineStats{"pulse": s.Pulse, "intervention": s.Intervention, "alert": s.Alert} {
		l := `{pipeline="` + name + `"}`
		w["cpra_pipeline_workers"+l] = float64(p.Workers)
		w["cpra_pipeline_idle_workers"+l] = float64(p.Idle)
		w["cpra_pipeline_queued"+l] = float64(p.Queued)
		w["cpra_pipeline_target_workers"+l] = float64(p.Sizing.Target)
		w["cpra_pipeline_ceiling_workers"+l] = float64(p.Sizing.Ceiling)
		w["cpra_pipeline_arrival_rate"+l] = p.Sizing.Lambda
		w["cpra_pipeline_arrival_scv"+l] = p.Sizing.CA2
		w["cpra_pipeline_mean_service_seconds"+l] = p.Sizing.MeanService.Seconds()
		w["cpra_pipeline_service_scv"+l] = p.Sizing.CS2
		w["cpra_pipeline_offered_load"+l] = p.Sizing.Load
		w["cpra_pipeline_predicted_wait_seconds"+l] = p.Sizing.Wait.Seconds()
		w["cpra_pipeline_slo_met"+l] = map[bool]float64{true: 1}[p.Sizing.Meets]
	}
	for lat, h := range map[string]cpra.LatencyStats{"cpra_check_duration_seconds": s.CheckLatency, "cpra_schedule_lag_seconds": s.LagHistogram} {
		for _, b := range h.Buckets {
			w[lat+`_bucket{le="`+strconv.FormatFloat(b.UpperBound.Seconds(), 'g', -1, 64)+`"}`] = float64(b.Count)
		}
		w[lat+`_bucket{le="+Inf"}`] = float64(h.Count)
		w[lat+"_sum"] = h.Sum.Seconds()
		w[lat+"_count"] = float64(h.Count)
	}
	return w
}

// match reports every series of got that differs from, is missing from or
// is not in want.
func match(t *testing.T, when string, got, want map[string]float64) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: %s missing, want %v", when, k, want[k])
		} else if g != want[k] {
			t.Errorf("%s: %s = %v, want %v", when, k, g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s = %v: a series no Stats field explains", when, k, got[k])
		}
	}
}

// fixture is an engine with a monitor that passes, one that fails and whose
// failing remediation is then held back by its limit, and one whose
// remediation is a dry run; every alert goes to a notifier that accepts it.
type fixture struct {
	e    *cpra.Engine
	okUp atomic.Bool // whether the monitor "ok" passes
}

func newFixture(t *testing.T, opts ...cpra.Option) *fixture {
	t.Helper()
	f := &fixture{}
	f.okUp.Store(true)
	notify := alert.NotifierFunc(func(context.Context, alert.Alert) error { return nil })
	e, err := cpra.New(append([]cpra.Option{cpra.WithNotifier(notify)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	refused := errors.New("connection refused")
	failing := pulse.CheckerFunc(func(context.Context) error { return refused })
	restart := intervene.RemediatorFunc(func(context.Context, intervene.Incident) error { return errors.New("restart failed") })
	for _, m := range []cpra.Monitor{
		{Name: "ok", Check: pulse.CheckerFunc(func(context.Context) error {
			if f.okUp.Load() {
				return nil
			}
			return refused
		})},
		{Name: "broken", Check: failing, Remediate: restart,
			Policy: intervene.Policy{MaxAttempts: 100, Backoff: time.Second, MaxBackoff: time.Second, Limit: 1, Window: time.Hour}},
		{Name: "dry", Check: failing, Remediate: restart, Policy: intervene.Policy{DryRun: true}},
	} {
		m.Interval = time.Second
		if _, err := e.Add(m); err != nil {
			t.Fatal(err)
		}
	}
	f.e = e
	return f
}

func shutdown(t *testing.T, e *cpra.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSeriesFollowEngine runs a real engine on a fake clock and checks, at
// each step, that a scrape holds exactly what Stats says and what the
// monitors did.
func TestSeriesFollowEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		h := metrics.Handler(f.e)
		step := func(what string) (cpra.Stats, map[string]float64) {
			t.Helper()
			synctest.Wait()
			s := f.e.Stats()
			got := scrape(t, h).series
			match(t, what, got, want(s))
			return s, got
		}

		_, before := step("before start")
		for name, v := range map[string]float64{"cpra_monitors": 3, "cpra_monitors_up": 0, "cpra_monitors_down": 0, "cpra_checks_total": 0} {
			if before[name] != v {
				t.Errorf("before start: %s = %v, want %v", name, before[name], v)
			}
		}

		f.e.Start(context.Background())
		time.Sleep(30 * time.Second)
		_, running := step("after 30s")
		for _, c := range []struct {
			name     string
			min, max float64
		}{
			{"cpra_monitors_up", 1, 1},
			{"cpra_monitors_down", 2, 2},
			{"cpra_checks_total", 80, 93},        // three monitors, one check a second each
			{"cpra_checks_failed_total", 54, 62}, // two of them failing
			{"cpra_remediations_total", 1, 1},    // broken's one attempt, then its limit
			{"cpra_remediations_failed_total", 1, 1},
			{"cpra_remediations_denied_total", 1, 30},
			{"cpra_remediations_dry_run_total", 1, 1},
			{"cpra_alerts_sent_total", 2, 10},
			{"cpra_alerts_failed_total", 0, 0},
			{`cpra_pipeline_workers{pipeline="pulse"}`, 1, 1e6},
			{"cpra_check_duration_seconds_count", 80, 93},
		} {
			if v := running[c.name]; v < c.min || v > c.max {
				t.Errorf("after 30s: %s = %v, want %v to %v", c.name, v, c.min, c.max)
			}
		}

		f.okUp.Store(false)
		time.Sleep(10 * time.Second)
		_, later := step("after ok fails")
		if later["cpra_monitors_up"] != 0 || later["cpra_monitors_down"] != 3 {
			t.Errorf("after ok fails: up %v, down %v, want 0 and 3", later["cpra_monitors_up"], later["cpra_monitors_down"])
		}
		if d := later["cpra_checks_total"] - running["cpra_checks_total"]; d < 27 || d > 33 {
			t.Errorf("checks in 10s: %v, want about 30", d)
		}
		if later["cpra_alerts_sent_total"] <= running["cpra_alerts_sent_total"] {
			t.Errorf("alerts sent stayed at %v after ok went down", later["cpra_alerts_sent_total"])
		}
		shutdown(t, f.e)
		step("after shutdown")
	})
}

// TestHandler scrapes a running engine over loopback HTTP, as Prometheus
// does, while checks run on real time.
func TestHandler(t *testing.T) {
	e, err := cpra.New(cpra.WithWorkers(2, 8))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_, err := e.Add(cpra.Monitor{
			Name:     fmt.Sprintf("m%d", i),
			Interval: 10 * time.Millisecond,
			Check: pulse.CheckerFunc(func(context.Context) error {
				if i == 0 {
					return errors.New("down")
				}
				return nil
			}),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(metrics.Handler(e))
	defer srv.Close()
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	get := func() (*http.Response, exposition) {
		t.Helper()
		res, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		return res, parse(t, res.Body)
	}

	// While running: the output parses, and counts go up between scrapes.
	res, first := get()
	if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, metrics.ContentType) {
		t.Errorf("Content-Type %q, want it to begin with %q", got, metrics.ContentType)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, x := get()
		if x.series["cpra_checks_total"] > first.series["cpra_checks_total"] && x.series["cpra_checks_failed_total"] >= 3 && x.series["cpra_monitors_up"] == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("in 20s: checks %v (first scrape %v), failed %v, up %v", x.series["cpra_checks_total"],
				first.series["cpra_checks_total"], x.series["cpra_checks_failed_total"], x.series["cpra_monitors_up"])
		}
		time.Sleep(10 * time.Millisecond)
	}
	shutdown(t, e)

	// After shutdown the counters are still, so values can be compared.
	s := e.Stats()
	_, x := get()
	match(t, "after shutdown", x.series, want(s))
	if s.Up != 4 || s.Down != 1 {
		t.Errorf("Stats: up %d, down %d, want 4 and 1", s.Up, s.Down)
	}
}

func TestHandlerMethods(t *testing.T) {
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	h := metrics.Handler(e)
	for _, tc := range []struct {
		method string
		want   int
	}{{"GET", 200}, {"HEAD", 200}, {"POST", 405}, {"PUT", 405}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/metrics", nil))
		if rec.Code != tc.want {
			t.Errorf("%s: got %d, want %d", tc.method, rec.Code, tc.want)
		}
	}
}

// TestHandlerNegotiates: a scraper that asks for the protocol buffer
// format gets it, and gzip when it accepts it.
func TestHandlerNegotiates(t *testing.T) {
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	h := metrics.Handler(e)
	for _, tc := range []struct{ accept, encoding, wantType, wantEncoding string }{
		{"", "", metrics.ContentType, ""},
		{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "", "application/vnd.google.protobuf", ""},
		{"text/plain;version=0.0.4", "gzip", metrics.ContentType, "gzip"},
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Accept", tc.accept)
		req.Header.Set("Accept-Encoding", tc.encoding)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, tc.wantType) {
			t.Errorf("Accept %q: Content-Type %q, want %q", tc.accept, got, tc.wantType)
		}
		if got := rec.Header().Get("Content-Encoding"); got != tc.wantEncoding {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tc.encoding, got, tc.wantEncoding)
		}
	}
}

// TestCollectorInAppRegistry registers two engines' collectors, told apart
// by a constant label, in one registry with the application's own metrics.
func TestCollectorInAppRegistry(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	requests := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_requests_total", Help: "Requests served."})
	requests.Add(3)
	reg.MustRegister(requests)
	engines := map[string]*cpra.Engine{}
	for i, name := range []string{"edge", "core"} {
		e, err := cpra.New()
		if err != nil {
			t.Fatal(err)
		}
		for j := range i + 1 {
			e.Add(cpra.Monitor{Name: fmt.Sprint("m", j), Check: pulse.CheckerFunc(func(context.Context) error { return nil })})
		}
		engines[name] = e
		if err := reg.Register(metrics.NewCollector(e, metrics.WithConstLabels(prometheus.Labels{"engine": name}))); err != nil {
			t.Fatalf("register %s: %v", name, err)
		}
	}
	x := scrape(t, promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}))
	for _, tc := range []struct {
		series string
		want   float64
	}{
		{"app_requests_total", 3},
		{`cpra_monitors{engine="edge"}`, 1},
		{`cpra_monitors{engine="core"}`, 2},
		{`cpra_pipeline_workers{engine="core",pipeline="alert"}`, 0},
		{`cpra_check_duration_seconds_count{engine="edge"}`, 0},
	} {
		if got, ok := x.series[tc.series]; !ok || got != tc.want {
			t.Errorf("%s = %v (present %v), want %v", tc.series, got, ok, tc.want)
		}
	}

	// The same engine twice without a label to tell them apart, and a
	// label the series use themselves, are refused.
	var already prometheus.AlreadyRegisteredError
	if err := reg.Register(metrics.NewCollector(engines["edge"], metrics.WithConstLabels(prometheus.Labels{"engine": "edge"}))); !errors.As(err, &already) {
		t.Errorf("second collector with the same labels: err = %v, want AlreadyRegisteredError", err)
	}
	err := prometheus.NewRegistry().Register(metrics.NewCollector(engines["edge"], metrics.WithConstLabels(prometheus.Labels{"pipeline": "x"})))
	if err == nil || !strings.Contains(err.Error(), "pipeline") {
		t.Errorf("const label pipeline: err = %v, want an error naming the label", err)
	}
}

// ran returns an engine stopped after every monitor of newFixture has done
// its part, so that every series has a value worth linting.
func ran(t *testing.T) *cpra.Engine {
	t.Helper()
	var e *cpra.Engine
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		f.e.Start(context.Background())
		time.Sleep(20 * time.Second)
		shutdown(t, f.e)
		e = f.e
	})
	s := e.Stats()
	if s.Remediations == 0 || s.RemediationsDenied == 0 || s.RemediationsDryRun == 0 || s.CheckLatency.Count == 0 {
		t.Fatalf("engine did too little to lint its series: %+v", s)
	}
	return e
}

// TestLint runs client_golang's linter (the one promtool check metrics
// uses) over the collector and over the handler's whole output.
func TestLint(t *testing.T) {
	e := ran(t)
	problems, err := testutil.CollectAndLint(metrics.NewCollector(e))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(metrics.NewCollector(e)); n < 30 {
		t.Errorf("collected %d metrics, want every series of the package doc", n)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewCollector(e, metrics.WithConstLabels(prometheus.Labels{"engine": "a"})))
	problems, err = testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint with a const label: %s: %s", p.Metric, p.Text)
	}
}

// TestPromtool feeds the handler's output to promtool check metrics, when
// promtool is on PATH (Debian's prometheus package has it).
func TestPromtool(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH: install it (Debian: apt-get install prometheus) to run promtool check metrics")
	}
	e := ran(t)
	rec := httptest.NewRecorder()
	metrics.Handler(e).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(rec.Body.Bytes())
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	// The linter is not blind: a gauge with a quantile label, as schedule
	// lag once was, fails it.
	cmd = exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader("# HELP x_seconds Lag.\n# TYPE x_seconds gauge\nx_seconds{quantile=\"0.5\"} 1\n")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("promtool accepted a gauge with a quantile label:\n%s", out)
	}
}

// TestDocListsEverySeries compares the series list of the package doc with
// what a scrape holds: same names, same types.
func TestDocListsEverySeries(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^//\t(cpra_[a-z0-9_]+)(\{[a-z_,]+\})?\s+(counter|gauge|histogram|summary)$`)
	doc := map[string]string{}
	for _, l := range strings.Split(string(src), "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			doc[m[1]] = m[3]
		}
	}
	// A checked monitor that the per-monitor series select, so that they
	// are in the scrape too.
	var got map[string]string
	synctest.Test(t, func(t *testing.T) {
		e, err := cpra.New()
		if err != nil {
			t.Fatal(err)
		}
		e.Add(cpra.Monitor{Name: "web", Interval: time.Second, Labels: map[string]string{"team": "web"},
			Check: pulse.CheckerFunc(func(context.Context) error { return nil })})
		e.Start(context.Background())
		time.Sleep(1500 * time.Millisecond)
		got = scrape(t, metrics.Handler(e, metrics.WithMonitors(map[string]string{"team": "web"}))).types
		shutdown(t, e)
	})
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if doc[name] != got[name] {
			t.Errorf("%s: doc says %q, scrape says %q", name, doc[name], got[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(doc)) {
		if got[name] == "" {
			t.Errorf("%s: in the doc, not in a scrape", name)
		}
	}
}

func TestCheckDurationHistogram(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, err := cpra.New()
		if err != nil {
			t.Fatal(err)
		}
		slow := pulse.CheckerFunc(func(ctx context.Context) error { time.Sleep(3 * time.Millisecond); return nil })
		for i := range 4 {
			e.Add(cpra.Monitor{Name: fmt.Sprint("h", i), Interval: time.Second, Check: slow})
		}
		e.Start(context.Background())
		time.Sleep(10 * time.Second)
		shutdown(t, e)
		x := scrape(t, metrics.Handler(e))
		if x.types["cpra_check_duration_seconds"] != "histogram" {
			t.Fatalf("cpra_check_duration_seconds is a %q, want a histogram", x.types["cpra_check_duration_seconds"])
		}
		count := x.series["cpra_check_duration_seconds_count"]
		if count < 36 || x.series[`cpra_check_duration_seconds_bucket{le="+Inf"}`] != count {
			t.Errorf("count %v, +Inf bucket %v, want 4 checks a second for 10s", count, x.series[`cpra_check_duration_seconds_bucket{le="+Inf"}`])
		}
		if lo, hi := x.series[`cpra_check_duration_seconds_bucket{le="0.0025"}`], x.series[`cpra_check_duration_seconds_bucket{le="0.005"}`]; lo != 0 || hi != count {
			t.Errorf("3ms checks: le=0.0025 holds %v, le=0.005 holds %v; want 0 and %v", lo, hi, count)
		}
		if sum := x.series["cpra_check_duration_seconds_sum"]; math.Abs(sum-0.003*count) > 1e-9 {
			t.Errorf("sum %v, want %v for %v checks of 3ms", sum, 0.003*count, count)
		}
	})
}

// TestScheduleLagHistogram checks that cpra_schedule_lag_seconds is a
// histogram holding every check's lag since the engine started: its count
// is the number of checks run, in the bucket of their lag.
func TestScheduleLagHistogram(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, err := cpra.New()
		if err != nil {
			t.Fatal(err)
		}
		ok := pulse.CheckerFunc(func(context.Context) error { return nil })
		for i := range 5 {
			e.Add(cpra.Monitor{Name: fmt.Sprint("l", i), Interval: time.Second, Check: ok})
		}
		e.Start(context.Background())
		time.Sleep(20 * time.Second)
		shutdown(t, e)
		x := scrape(t, metrics.Handler(e))
		const h = "cpra_schedule_lag_seconds"
		if x.types[h] != "histogram" {
			t.Fatalf("%s is a %q, want a histogram", h, x.types[h])
		}
		checks, count := x.series["cpra_checks_total"], x.series[h+"_count"]
		if count < 90 || count != checks {
			t.Errorf("got %v lags for %v checks, want one per check (5 a second for 20s)", count, checks)
		}
		// On the fake clock every check starts when it is due: each lag is
		// zero, in the first bucket.
		if first, inf := x.series[h+`_bucket{le="0.0001"}`], x.series[h+`_bucket{le="+Inf"}`]; first != count || inf != count {
			t.Errorf("le=0.0001 holds %v, +Inf %v, want both %v", first, inf, count)
		}
		if sum := x.series[h+"_sum"]; sum != 0 {
			t.Errorf("got sum %v, want 0 on the fake clock", sum)
		}
		last := 0.0
		for _, le := range []string{"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "+Inf"} {
			v, ok := x.series[h+`_bucket{le="`+le+`"}`]
			if !ok || v < last {
				t.Errorf("bucket le=%s: %v (present %v), want it, not below %v", le, v, ok, last)
			}
			last = v
		}
	})
}
