package main

import (
	"flag"
	"fmt"
	"net/http"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/metrics"
	"github.com/ziad/cpra/statuspage"
)

// web holds the flags of the status page and of the per-monitor series.
type web struct {
	addr     string            // --http.addr: the status page and /metrics
	selector string            // --metrics.monitors, as given
	monitors map[string]string // parsed; nil: no per-monitor series
	alerts   *statuspage.AlertLog
}

// flags registers the web flags on fs.
func (w *web) flags(fs *flag.FlagSet) {
	fs.StringVar(&w.addr, "http.addr", "", "address to serve the status page on, with /metrics beside it (empty: off)")
	fs.StringVar(&w.selector, "metrics.monitors", "", "label selector (key=value,...) of the monitors that get series of their own in /metrics: cpra_monitor_up, _failing, _last_check_timestamp_seconds (empty: none)")
}

// check reads the flags once they are parsed.
func (w *web) check() error {
	sel, err := cpra.ParseSelector(w.selector)
	if err != nil {
		return fmt.Errorf("--metrics.monitors: %w", err)
	}
	w.monitors = sel
	if w.addr != "" {
		w.alerts = statuspage.NewAlertLog(200)
	}
	return nil
}

// engineOptions feeds the status page's log of recent alerts, when there
// is a status page.
func (w *web) engineOptions() []cpra.Option {
	if w.alerts == nil {
		return nil
	}
	return []cpra.Option{cpra.WithAlertHook(w.alerts.Record)}
}

// metricsOptions are the options of the command's collector.
func (w *web) metricsOptions() []metrics.Option {
	return []metrics.Option{metrics.WithMonitors(w.monitors)}
}

// handler serves the status page at / and the metrics at /metrics.
func (w *web) handler(e *cpra.Engine) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(e, w.metricsOptions()...))
	mux.Handle("/", statuspage.New(e, statuspage.WithAlertLog(w.alerts), statuspage.WithTitle("cpra")))
	return mux
}
