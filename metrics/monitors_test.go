package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/metrics"
	"github.com/ziad/cpra/pulse"
)

// monitorFleet runs web-ok (up), web-down (down), web-flaky (failing, not
// yet down), web-new (never checked) and data-down (down, another team).
func monitorFleet(t *testing.T, fn func(e *cpra.Engine, started time.Time)) {
	synctest.Test(t, func(t *testing.T) {
		e, err := cpra.New()
		if err != nil {
			t.Fatal(err)
		}
		pass := pulse.CheckerFunc(func(context.Context) error { return nil })
		fail := pulse.CheckerFunc(func(context.Context) error { return errors.New("refused") })
		web := map[string]string{"team": "web"}
		for _, m := range []cpra.Monitor{
			{Name: "web-ok", Check: pass, Labels: web},
			{Name: "web-down", Check: fail, Labels: web, FailureThreshold: 2},
			{Name: "web-flaky", Check: fail, Labels: web, FailureThreshold: 50},
			{Name: "web-new", Check: pass, Labels: web, Interval: 24 * time.Hour},
			{Name: "data-down", Check: fail, Labels: map[string]string{"team": "data"}, FailureThreshold: 2},
			{Name: "plain", Check: pass},
		} {
			if m.Interval == 0 {
				m.Interval = time.Second
			}
			if _, err := e.Add(m); err != nil {
				t.Fatal(err)
			}
		}
		started := time.Now()
		e.Start(context.Background())
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		fn(e, started)
		shutdown(t, e)
	})
}

func TestMonitorSeriesOffByDefault(t *testing.T) {
	monitorFleet(t, func(e *cpra.Engine, _ time.Time) {
		for _, opts := range [][]metrics.Option{nil, {metrics.WithMonitors(nil)}, {metrics.WithMonitors(map[string]string{})}} {
			for name := range scrape(t, metrics.Handler(e, opts...)).series {
				if strings.HasPrefix(name, "cpra_monitor_") {
					t.Errorf("with options %v: per-monitor series %s", opts, name)
				}
			}
		}
	})
}

func TestMonitorSeries(t *testing.T) {
	monitorFleet(t, func(e *cpra.Engine, started time.Time) {
		x := scrape(t, metrics.Handler(e, metrics.WithMonitors(map[string]string{"team": "web"})))
		for series, want := range map[string]float64{
			`cpra_monitor_up{monitor="web-ok"}`:         1,
			`cpra_monitor_up{monitor="web-down"}`:       0,
			`cpra_monitor_up{monitor="web-flaky"}`:      1,
			`cpra_monitor_up{monitor="web-new"}`:        0,
			`cpra_monitor_failing{monitor="web-ok"}`:    0,
			`cpra_monitor_failing{monitor="web-down"}`:  1,
			`cpra_monitor_failing{monitor="web-flaky"}`: 1,
			`cpra_monitor_failing{monitor="web-new"}`:   0,
		} {
			if got, ok := x.series[series]; !ok || got != want {
				t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
			}
		}
		var monitorSeries []string
		for name := range x.series {
			if strings.HasPrefix(name, "cpra_monitor_") {
				monitorSeries = append(monitorSeries, name)
			}
			if strings.Contains(name, "data-down") || strings.Contains(name, `"plain"`) {
				t.Errorf("series %s of a monitor the selector does not pick", name)
			}
		}
		if len(monitorSeries) != 11 {
			t.Errorf("%d per-monitor series, want 4 up, 4 failing, 3 last-check (web-new was never checked): %v", len(monitorSeries), monitorSeries)
		}
		for _, m := range []string{"web-ok", "web-down", "web-flaky"} {
			ts := x.series[fmt.Sprintf(`cpra_monitor_last_check_timestamp_seconds{monitor=%q}`, m)]
			at := time.UnixMilli(int64(ts * 1e3))
			if at.Before(started.Add(2*time.Second)) || at.After(time.Now()) {
				t.Errorf("%s last check at %v, want within the last second and a half (started %v, now %v)", m, at, started, time.Now())
			}
		}
	})
}

// TestMonitorSeriesLint lints the per-monitor series with client_golang's
// linter, alone and in a pedantic registry with a const label.
func TestMonitorSeriesLint(t *testing.T) {
	monitorFleet(t, func(e *cpra.Engine, _ time.Time) {
		sel := metrics.WithMonitors(map[string]string{"team": "web"})
		problems, err := testutil.CollectAndLint(metrics.NewCollector(e, sel),
			"cpra_monitor_up", "cpra_monitor_failing", "cpra_monitor_last_check_timestamp_seconds")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
		if n := testutil.CollectAndCount(metrics.NewCollector(e, sel), "cpra_monitor_up"); n != 4 {
			t.Errorf("collected %d cpra_monitor_up, want 4", n)
		}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(metrics.NewCollector(e, sel, metrics.WithConstLabels(prometheus.Labels{"engine": "a"})))
		problems, err = testutil.GatherAndLint(reg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint in a pedantic registry: %s: %s", p.Metric, p.Text)
		}
	})
}
