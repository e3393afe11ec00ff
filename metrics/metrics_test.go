package metrics_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/metrics"
	"github.com/ziad/cpra/pulse"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	nameRE  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// family is what a parsed exposition says about one metric name.
type family struct {
	typ, help string
	samples   map[string]float64 // by label set as written, "" for none
}

// parse reads the text format strictly: every line is a HELP, a TYPE or a
// sample; a sample's family has a TYPE line before it; names and labels are
// well-formed; values are floats; no series appears twice; families are
// not split.
func parse(t *testing.T, r io.Reader) map[string]*family {
	t.Helper()
	fams := map[string]*family{}
	seen := map[string]bool{} // series: name + labels
	var last string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fail := func(format string, args ...any) {
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
			f := fams[name]
			if f == nil {
				f = &family{samples: map[string]float64{}}
				fams[name] = f
			} else if last != name {
				fail("family %s split", name)
			}
			last = name
			switch kind {
			case "HELP":
				if f.help != "" {
					fail("second HELP")
				}
				f.help = text
			case "TYPE":
				if f.typ != "" || len(f.samples) > 0 {
					fail("TYPE repeated or after samples")
				}
				switch text {
				case "counter", "gauge", "untyped", "summary", "histogram":
				default:
					fail("unknown type %q", text)
				}
				f.typ = text
			default:
				fail("unknown comment kind %q", kind)
			}
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			fail("no value")
		}
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			fail("value: %v", err)
		}
		v, _ := strconv.ParseFloat(value, 64)
		name, labels := series, ""
		if i := strings.IndexByte(series, '{'); i >= 0 {
			name, labels = series[:i], series[i:]
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
		f := fams[name]
		fam := name
		if f == nil {
			// A histogram's series carry suffixes on the family's name.
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suf); ok && fams[base] != nil && fams[base].typ == "histogram" {
					f, fam = fams[base], base
				}
			}
		}
		if f == nil || f.typ == "" || last != fam {
			fail("sample without its TYPE line just before")
		}
		if f.typ == "histogram" {
			labels = strings.TrimPrefix(name, fam) + labels
		}
		if f.typ == "counter" && !strings.HasSuffix(name, "_total") {
			fail("counter without _total")
		}
		if seen[series] {
			fail("duplicate series")
		}
		seen[series] = true
		f.samples[labels] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return fams
}

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

	// While running: the output parses.
	scrape := func() (*http.Response, map[string]*family) {
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res, parse(t, res.Body)
	}
	res, _ := scrape()
	if got := res.Header.Get("Content-Type"); got != metrics.ContentType {
		t.Errorf("Content-Type %q, want %q", got, metrics.ContentType)
	}

	deadline := time.Now().Add(10 * time.Second)
	for e.Stats().ChecksFailed < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// After shutdown the counters are still, so values can be compared.
	s := e.Stats()
	if s.ChecksFailed == 0 {
		t.Fatal("no failed checks in 10s")
	}
	_, fams := scrape()
	want := map[string]float64{
		"cpra_monitors":                  float64(s.Monitors),
		"cpra_checks_total":              float64(s.ChecksRun),
		"cpra_checks_failed_total":       float64(s.ChecksFailed),
		"cpra_checks_abandoned_total":    float64(s.ChecksAbandoned),
		"cpra_checks_skipped_total":      float64(s.ChecksSkipped),
		"cpra_queue_full_total":          float64(s.QueueFull),
		"cpra_remediations_total":        float64(s.Remediations),
		"cpra_remediations_failed_total": float64(s.RemediationsFailed),
		"cpra_alerts_sent_total":         float64(s.AlertsSent),
		"cpra_alerts_failed_total":       float64(s.AlertsFailed),
		"cpra_alerts_grouped_total":      float64(s.AlertsGrouped),
		"cpra_flap_starts_total":         float64(s.FlapStarts),
		"cpra_calls_abandoned_total":     float64(s.CallsAbandoned),
		"cpra_plugins_running":           float64(s.PlugInsRunning),
	}
	for name, v := range want {
		f := fams[name]
		if f == nil {
			t.Errorf("%s missing", name)
			continue
		}
		if got := f.samples[""]; got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	if got := fams["cpra_monitors"].samples[""]; got != 5 {
		t.Errorf("cpra_monitors = %v, want 5", got)
	}
	pipes := map[string]cpra.PipelineStats{"pulse": s.Pulse, "intervention": s.Intervention, "alert": s.Alert}
	for p, ps := range pipes {
		l := `{pipeline="` + p + `"}`
		for name, v := range map[string]float64{
			"cpra_pipeline_workers":        float64(ps.Workers),
			"cpra_pipeline_idle_workers":   float64(ps.Idle),
			"cpra_pipeline_queued":         float64(ps.Queued),
			"cpra_pipeline_target_workers": float64(ps.Sizing.Target),
			"cpra_pipeline_arrival_rate":   ps.Sizing.Lambda,
		} {
			got, ok := fams[name].samples[l]
			if !ok || got != v {
				t.Errorf("%s%s = %v (present %v), want %v", name, l, got, ok, v)
			}
		}
	}
	lag := fams["cpra_schedule_lag_seconds"]
	for q, d := range map[string]time.Duration{"0.5": s.Lag.P50, "0.99": s.Lag.P99, "1": s.Lag.Max} {
		l := `{quantile="` + q + `"}`
		if got, ok := lag.samples[l]; !ok || got != d.Seconds() {
			t.Errorf("lag%s = %v (present %v), want %v", l, got, ok, d.Seconds())
		}
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
	}{{"GET", 200}, {"HEAD", 200}, {"POST", 405}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/metrics", nil))
		if rec.Code != tc.want {
			t.Errorf("%s: got %d, want %d", tc.method, rec.Code, tc.want)
		}
	}
}

func TestCheckDurationHistogram(t *testing.T) {
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	slow := pulse.CheckerFunc(func(ctx context.Context) error { time.Sleep(3 * time.Millisecond); return nil })
	for i := range 4 {
		e.Add(cpra.Monitor{Name: fmt.Sprint("h", i), Interval: 20 * time.Millisecond, Check: slow})
	}
	e.Start(context.Background())
	for e.Stats().CheckLatency.Count < 20 {
		time.Sleep(10 * time.Millisecond)
	}
	e.Shutdown(context.Background())
	srv := httptest.NewServer(metrics.Handler(e))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	f := parse(t, resp.Body)["cpra_check_duration_seconds"]
	if f == nil || f.typ != "histogram" {
		t.Fatalf("no histogram family: %+v", f)
	}
	st := e.Stats().CheckLatency
	count := f.samples["_count"]
	if count != float64(st.Count) || f.samples[`_bucket{le="+Inf"}`] != count {
		t.Errorf("count %v, +Inf bucket %v, want %d", count, f.samples[`_bucket{le="+Inf"}`], st.Count)
	}
	if f.samples[`_bucket{le="0.0025"}`] != 0 || f.samples[`_bucket{le="0.005"}`] == 0 {
		t.Errorf("3ms checks: le=0.0025 holds %v, le=0.005 holds %v; want 0 and all", f.samples[`_bucket{le="0.0025"}`], f.samples[`_bucket{le="0.005"}`])
	}
	if sum := f.samples["_sum"]; sum < 0.003*count {
		t.Errorf("sum %v for %v checks of 3ms", sum, count)
	}
}
