package metrics

import (
	"bufio"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/ziad/cpra"
)

// ContentType is the media type of the text exposition format the handler
// writes.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler returns a handler that serves e's Stats in the Prometheus text
// format. It answers GET and HEAD; other methods get 405.
func Handler(e *cpra.Engine) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		if r.Method == http.MethodHead {
			return
		}
		bw := bufio.NewWriter(w)
		write(bw, e.Stats())
		bw.Flush()
	})
}

type writer struct{ *bufio.Writer }

func (w writer) header(name, typ, help string) {
	w.WriteString("# HELP ")
	w.WriteString(name)
	w.WriteByte(' ')
	w.WriteString(help)
	w.WriteString("\n# TYPE ")
	w.WriteString(name)
	w.WriteByte(' ')
	w.WriteString(typ)
	w.WriteByte('\n')
}

// sample writes one line; label values are fixed strings of this package
// that need no escaping.
func (w writer) sample(name, label, value string, v float64) {
	w.WriteString(name)
	if label != "" {
		w.WriteByte('{')
		w.WriteString(label)
		w.WriteString(`="`)
		w.WriteString(value)
		w.WriteString(`"}`)
	}
	w.WriteByte(' ')
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		w.WriteString(strconv.FormatInt(int64(v), 10))
	} else {
		w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	}
	w.WriteByte('\n')
}

func (w writer) counter(name, help string, v uint64) {
	w.header(name, "counter", help)
	w.sample(name, "", "", float64(v))
}

func (w writer) gauge(name, help string, v float64) {
	w.header(name, "gauge", help)
	w.sample(name, "", "", v)
}

type pipeline struct {
	name  string
	stats cpra.PipelineStats
}

func write(bw *bufio.Writer, s cpra.Stats) {
	w := writer{bw}
	w.gauge("cpra_monitors", "Monitors in the engine.", float64(s.Monitors))
	w.counter("cpra_checks_total", "Checks run.", s.ChecksRun)
	w.counter("cpra_checks_failed_total", "Checks that failed.", s.ChecksFailed)
	w.counter("cpra_checks_abandoned_total", "Checks that ran past their deadline and were left behind.", s.ChecksAbandoned)
	w.counter("cpra_checks_skipped_total", "Due checks not run because the previous one was still running.", s.ChecksSkipped)
	w.counter("cpra_queue_full_total", "Times due checks waited for room in the pulse queue.", s.QueueFull)
	w.counter("cpra_remediations_total", "Remediation attempts finished.", s.Remediations)
	w.counter("cpra_remediations_failed_total", "Remediation attempts that failed.", s.RemediationsFailed)
	w.counter("cpra_alerts_sent_total", "Alerts delivered.", s.AlertsSent)
	w.counter("cpra_alerts_failed_total", "Alerts given up on after all retries.", s.AlertsFailed)
	w.counter("cpra_alerts_grouped_total", "Monitor alerts sent inside grouped alerts.", s.AlertsGrouped)
	w.counter("cpra_flap_starts_total", "Times a monitor began to flap.", s.FlapStarts)
	w.counter("cpra_calls_abandoned_total", "Remediation and notify calls left behind at their deadline.", s.CallsAbandoned)
	w.gauge("cpra_plugins_running", "Remediation and notify calls still running, abandoned ones included.", float64(s.PlugInsRunning))

	ps := [...]pipeline{{"pulse", s.Pulse}, {"intervention", s.Intervention}, {"alert", s.Alert}}
	perPipeline := func(name, help string, v func(cpra.PipelineStats) float64) {
		w.header(name, "gauge", help)
		for _, p := range ps {
			w.sample(name, "pipeline", p.name, v(p.stats))
		}
	}
	perPipeline("cpra_pipeline_workers", "Live workers of the pipeline.", func(p cpra.PipelineStats) float64 { return float64(p.Workers) })
	perPipeline("cpra_pipeline_idle_workers", "Workers of the pipeline waiting for work.", func(p cpra.PipelineStats) float64 { return float64(p.Idle) })
	perPipeline("cpra_pipeline_queued", "Jobs waiting for a worker of the pipeline.", func(p cpra.PipelineStats) float64 { return float64(p.Queued) })
	perPipeline("cpra_pipeline_target_workers", "Worker count chosen by the latest sizing decision.", func(p cpra.PipelineStats) float64 { return float64(p.Sizing.Target) })
	perPipeline("cpra_pipeline_arrival_rate", "Jobs arriving per second, over the sizing window.", func(p cpra.PipelineStats) float64 { return p.Sizing.Lambda })

	const lag = "cpra_schedule_lag_seconds"
	w.header(lag, "gauge", "How late checks started compared with when they were due, over the last few seconds (quantile 1 is the maximum).")
	w.sample(lag, "quantile", "0.5", seconds(s.Lag.P50))
	w.sample(lag, "quantile", "0.99", seconds(s.Lag.P99))
	w.sample(lag, "quantile", "1", seconds(s.Lag.Max))

	const lat = "cpra_check_duration_seconds"
	w.header(lat, "histogram", "How long checks took, since the engine started.")
	for _, b := range s.CheckLatency.Buckets {
		w.sample(lat+"_bucket", "le", strconv.FormatFloat(b.UpperBound.Seconds(), 'g', -1, 64), float64(b.Count))
	}
	w.sample(lat+"_bucket", "le", "+Inf", float64(s.CheckLatency.Count))
	w.sample(lat+"_sum", "", "", s.CheckLatency.Sum.Seconds())
	w.sample(lat+"_count", "", "", float64(s.CheckLatency.Count))
}

func seconds(d time.Duration) float64 { return d.Seconds() }
