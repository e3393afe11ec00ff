package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ziad/cpra"
)

// A series is one engine-wide counter or gauge: a name, its help text, its
// type and how to read its value from a Stats snapshot.
type series struct {
	name, help string
	typ        prometheus.ValueType
	value      func(*cpra.Stats) float64
}

const (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
)

// engineSeries are the engine-wide counters and gauges, one line each: a new
// field of cpra.Stats becomes a series by adding its line here (and to the
// list in doc.go).
var engineSeries = [...]series{
	{"cpra_monitors", "Monitors in the engine.", gauge, func(s *cpra.Stats) float64 { return float64(s.Monitors) }},
	{"cpra_monitors_up", "Monitors in the up state.", gauge, func(s *cpra.Stats) float64 { return float64(s.Up) }},
	{"cpra_monitors_down", "Monitors in the down state; those neither up nor down have no result yet.", gauge, func(s *cpra.Stats) float64 { return float64(s.Down) }},
	{"cpra_monitors_failing", "Monitors of the up state that are failing but not yet down.", gauge, func(s *cpra.Stats) float64 { return float64(s.Failing) }},
	{"cpra_checks_total", "Checks run.", counter, func(s *cpra.Stats) float64 { return float64(s.ChecksRun) }},
	{"cpra_checks_failed_total", "Checks that failed.", counter, func(s *cpra.Stats) float64 { return float64(s.ChecksFailed) }},
	{"cpra_checks_abandoned_total", "Checks that ran past their deadline and were left behind.", counter, func(s *cpra.Stats) float64 { return float64(s.ChecksAbandoned) }},
	{"cpra_checks_skipped_total", "Due checks not run because the previous one was still running.", counter, func(s *cpra.Stats) float64 { return float64(s.ChecksSkipped) }},
	{"cpra_flap_starts_total", "Times a monitor began to flap.", counter, func(s *cpra.Stats) float64 { return float64(s.FlapStarts) }},
	{"cpra_checks_late", "Checks that are due and have not started: how far behind the schedule the engine is.", gauge, func(s *cpra.Stats) float64 { return float64(s.ChecksLate) }},
	{"cpra_checks_late_oldest_seconds", "How long ago the oldest check that is due and has not started was due; 0 when none is late.", gauge, func(s *cpra.Stats) float64 { return seconds(s.LateOldest) }},
	{"cpra_queue_full_total", "Times due checks waited for room in the pulse queue.", counter, func(s *cpra.Stats) float64 { return float64(s.QueueFull) }},
	{"cpra_remediations_total", "Remediation attempts finished.", counter, func(s *cpra.Stats) float64 { return float64(s.Remediations) }},
	{"cpra_remediations_failed_total", "Remediation attempts that failed.", counter, func(s *cpra.Stats) float64 { return float64(s.RemediationsFailed) }},
	{"cpra_remediations_denied_total", "Remediation attempts held back by a monitor's limit or a remediation budget.", counter, func(s *cpra.Stats) float64 { return float64(s.RemediationsDenied) }},
	{"cpra_remediations_dry_run_total", "Remediation attempts not run because of dry run.", counter, func(s *cpra.Stats) float64 { return float64(s.RemediationsDryRun) }},
	{"cpra_alerts_sent_total", "Alerts delivered.", counter, func(s *cpra.Stats) float64 { return float64(s.AlertsSent) }},
	{"cpra_alerts_failed_total", "Alerts handed to the dead-letter hook: given up on after their retries, or at the shutdown deadline.", counter, func(s *cpra.Stats) float64 { return float64(s.AlertsFailed) }},
	{"cpra_alerts_raised_total", "Alerts raised for a notifier.", counter, func(s *cpra.Stats) float64 { return float64(s.AlertsRaised) }},
	{"cpra_alerts_collapsed_total", "Alerts folded into others while they waited for a notifier that was behind.", counter, func(s *cpra.Stats) float64 { return float64(s.AlertsCollapsed) }},
	{"cpra_alerts_queued", "Alerts waiting for their notifier.", gauge, func(s *cpra.Stats) float64 { return float64(s.AlertsQueued) }},
	{"cpra_alerts_kept_total", "Alerts on the way at the shutdown deadline, kept in the store for the next start.", counter, func(s *cpra.Stats) float64 { return float64(s.AlertsKept) }},
	{"cpra_store_failures_total", "Writes the store refused (each retried).", counter, func(s *cpra.Stats) float64 { return float64(s.StoreFailures) }},
	{"cpra_store_states_dropped_total", "Kept states of monitors not added again within the grace after a restart.", counter, func(s *cpra.Stats) float64 { return float64(s.StatesDropped) }},
	{"cpra_cluster_shards_owned", "Shards of the cluster this engine runs (0 outside a cluster).", gauge, func(s *cpra.Stats) float64 { return float64(s.ShardsOwned) }},
	{"cpra_cluster_shards_acquired_total", "Shards this engine began to run.", counter, func(s *cpra.Stats) float64 { return float64(s.ShardsAcquired) }},
	{"cpra_cluster_shards_released_total", "Shards this engine stopped running: handed over, or lost with its lease.", counter, func(s *cpra.Stats) float64 { return float64(s.ShardsReleased) }},
	{"cpra_alerts_fenced_total", "Alerts left to the next owner of their shard: this engine no longer held it, or could not tell.", counter, func(s *cpra.Stats) float64 { return float64(s.AlertsFenced) }},
	{"cpra_remediations_fenced_total", "Remediation attempts not started: this engine no longer held the monitor's shard, or could not tell.", counter, func(s *cpra.Stats) float64 { return float64(s.RemediationsFenced) }},
	{"cpra_alerts_grouped_total", "Monitor alerts sent inside grouped alerts.", counter, func(s *cpra.Stats) float64 { return float64(s.AlertsGrouped) }},
	{"cpra_calls_abandoned_total", "Remediation and notify calls left behind at their deadline.", counter, func(s *cpra.Stats) float64 { return float64(s.CallsAbandoned) }},
	{"cpra_plugins_running", "Remediation and notify calls still running, abandoned ones included.", gauge, func(s *cpra.Stats) float64 { return float64(s.PlugInsRunning) }},
	{"cpra_offheap_bytes", "Bytes the process's engines and config Syncers hold in arrays outside the Go heap, which the runtime's memory figures do not count.", gauge, func(s *cpra.Stats) float64 { return float64(s.OffHeapBytes) }},
	{"cpra_schedule_lag_p50_seconds", "Median delay between when a check was due and when it started, over the last 10 seconds.", gauge, func(s *cpra.Stats) float64 { return seconds(s.Lag.P50) }},
	{"cpra_schedule_lag_p99_seconds", "99th percentile of the delay between when a check was due and when it started, over the last 10 seconds.", gauge, func(s *cpra.Stats) float64 { return seconds(s.Lag.P99) }},
	{"cpra_schedule_lag_max_seconds", "Largest delay between when a check was due and when it started, over the last 10 seconds.", gauge, func(s *cpra.Stats) float64 { return seconds(s.Lag.Max) }},
	{"cpra_schedule_lag_samples", "Checks the schedule lag series are taken over: those of the last 10 seconds.", gauge, func(s *cpra.Stats) float64 { return float64(s.Lag.Samples) }},
}

// A pipelineSeries is a gauge with one series per pipeline.
type pipelineSeries struct {
	name, help string
	value      func(*cpra.PipelineStats) float64
}

// pipelineGauges are the per-pipeline gauges, one line each.
var pipelineGauges = [...]pipelineSeries{
	{"cpra_pipeline_workers", "Live workers of the pipeline.", func(p *cpra.PipelineStats) float64 { return float64(p.Workers) }},
	{"cpra_pipeline_idle_workers", "Workers of the pipeline waiting for work.", func(p *cpra.PipelineStats) float64 { return float64(p.Idle) }},
	{"cpra_pipeline_queued", "Jobs waiting for a worker of the pipeline.", func(p *cpra.PipelineStats) float64 { return float64(p.Queued) }},
	{"cpra_pipeline_target_workers", "Worker count chosen by the latest sizing decision.", func(p *cpra.PipelineStats) float64 { return float64(p.Sizing.Target) }},
	{"cpra_pipeline_ceiling_workers", "Cap on the workers while more of them complete no more work (0: none).", func(p *cpra.PipelineStats) float64 { return float64(p.Sizing.Ceiling) }},
	{"cpra_pipeline_arrival_rate", "Jobs arriving per second, over the sizing window.", func(p *cpra.PipelineStats) float64 { return p.Sizing.Lambda }},
	{"cpra_pipeline_arrival_scv", "Squared coefficient of variation of the time between arrivals, over the sizing window.", func(p *cpra.PipelineStats) float64 { return p.Sizing.CA2 }},
	{"cpra_pipeline_mean_service_seconds", "Mean time a worker spends on one job, over the sizing window.", func(p *cpra.PipelineStats) float64 { return seconds(p.Sizing.MeanService) }},
	{"cpra_pipeline_service_scv", "Squared coefficient of variation of service times, over the sizing window.", func(p *cpra.PipelineStats) float64 { return p.Sizing.CS2 }},
	{"cpra_pipeline_offered_load", "Offered load (arrival rate times mean service time): workers busy on average.", func(p *cpra.PipelineStats) float64 { return p.Sizing.Load }},
	{"cpra_pipeline_predicted_wait_seconds", "Mean queueing wait the latest sizing decision predicts at the target worker count.", func(p *cpra.PipelineStats) float64 { return seconds(p.Sizing.Wait) }},
	{"cpra_pipeline_slo_met", "1 when the target worker count meets the wait objective, else 0.", func(p *cpra.PipelineStats) float64 { return boolean(p.Sizing.Meets) }},
}

// pipelines names the engine's pipelines, as the pipeline label gives them.
var pipelines = [...]struct {
	label string
	stats func(*cpra.Stats) *cpra.PipelineStats
}{
	{"pulse", func(s *cpra.Stats) *cpra.PipelineStats { return &s.Pulse }},
	{"intervention", func(s *cpra.Stats) *cpra.PipelineStats { return &s.Intervention }},
	{"alert", func(s *cpra.Stats) *cpra.PipelineStats { return &s.Alert }},
}

// A histogramSeries is a histogram of durations kept by the engine.
type histogramSeries struct {
	name, help string
	value      func(*cpra.Stats) *cpra.LatencyStats
}

// histograms are the engine's duration histograms, one line each.
var histograms = [...]histogramSeries{
	{"cpra_check_duration_seconds", "How long checks took, since the engine started.", func(s *cpra.Stats) *cpra.LatencyStats { return &s.CheckLatency }},
	{"cpra_schedule_lag_seconds", "How late checks started compared with when they were due, since the engine started.", func(s *cpra.Stats) *cpra.LatencyStats { return &s.LagHistogram }},
}

// Option configures a collector made by [NewCollector] or a [Handler].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	constLabels prometheus.Labels
	monitors    map[string]string
}

// WithMonitors adds series of each monitor whose labels include every pair
// of selector, labelled by the monitor's name:
//
//	cpra_monitor_up{monitor}                          1 when up (passing, or failing but not yet down), else 0
//	cpra_monitor_failing{monitor}                     1 while an episode is open (failing or down), else 0
//	cpra_monitor_last_check_timestamp_seconds{monitor} when its last check finished (left out before the first)
//
// A nil or empty selector adds none, which is the default: a series per
// monitor is a cost to the scraper that a fleet of a million must not pay
// by accident. Each scrape lists the selected monitors with
// [cpra.Engine.Statuses], reading the whole fleet a step at a time.
func WithMonitors(selector map[string]string) Option {
	return optionFunc(func(c *config) {
		if len(selector) == 0 {
			c.monitors = nil
			return
		}
		c.monitors = make(map[string]string, len(selector))
		for k, v := range selector {
			c.monitors[k] = v
		}
	})
}

// monitorSeries are the per-monitor series of WithMonitors.
var monitorSeries = [...]struct{ name, help string }{
	{"cpra_monitor_up", "1 when the monitor is up (passing, or failing but not yet down), 0 when it is down or has no result yet."},
	{"cpra_monitor_failing", "1 while the monitor has an open episode (failing or down), else 0."},
	{"cpra_monitor_last_check_timestamp_seconds", "Unix time when the monitor's last check finished."},
}

// WithConstLabels adds labels with fixed values to every series, for
// instance to tell apart two engines registered in one registry:
// WithConstLabels(prometheus.Labels{"engine": "edge"}). A label named
// "pipeline", which the per-pipeline series carry, makes a registry refuse
// the collector.
func WithConstLabels(l prometheus.Labels) Option {
	return optionFunc(func(c *config) {
		if c.constLabels == nil {
			c.constLabels = prometheus.Labels{}
		}
		for k, v := range l {
			c.constLabels[k] = v
		}
	})
}

type collector struct {
	e         *cpra.Engine
	engine    [len(engineSeries)]*prometheus.Desc
	pipeline  [len(pipelineGauges)]*prometheus.Desc
	histogram [len(histograms)]*prometheus.Desc
	monitors  map[string]string                    // nil: no per-monitor series
	monitor   [len(monitorSeries)]*prometheus.Desc // per-monitor series, with monitors
}

// NewCollector returns a [prometheus.Collector] of e's Stats: every counter
// and gauge of [cpra.Stats] under the names the package documentation
// lists. Register it in the application's registry:
//
//	reg.MustRegister(metrics.NewCollector(engine))
//
// Each scrape takes one snapshot of e.Stats, so the values of one scrape
// are consistent with each other as far as Stats is. The collector is safe
// for concurrent use and may be registered before e starts.
func NewCollector(e *cpra.Engine, opts ...Option) prometheus.Collector {
	var cfg config
	for _, o := range opts {
		o.apply(&cfg)
	}
	c := &collector{e: e}
	for i, s := range engineSeries {
		c.engine[i] = prometheus.NewDesc(s.name, s.help, nil, cfg.constLabels)
	}
	for i, s := range pipelineGauges {
		c.pipeline[i] = prometheus.NewDesc(s.name, s.help, []string{"pipeline"}, cfg.constLabels)
	}
	for i, s := range histograms {
		c.histogram[i] = prometheus.NewDesc(s.name, s.help, nil, cfg.constLabels)
	}
	if cfg.monitors != nil {
		c.monitors = cfg.monitors
		for i, s := range monitorSeries {
			c.monitor[i] = prometheus.NewDesc(s.name, s.help, []string{"monitor"}, cfg.constLabels)
		}
	}
	return c
}

// Describe sends the descriptions of every series.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.engine {
		ch <- d
	}
	for _, d := range c.pipeline {
		ch <- d
	}
	for _, d := range c.histogram {
		ch <- d
	}
	if c.monitors != nil {
		for _, d := range c.monitor {
			ch <- d
		}
	}
}

// Collect sends one snapshot of the engine's Stats.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.e.Stats()
	c.collect(&s, ch)
	if c.monitors != nil {
		c.collectMonitors(ch)
	}
}

// collectMonitors sends the series of each selected monitor.
func (c *collector) collectMonitors(ch chan<- prometheus.Metric) {
	for _, st := range c.e.Statuses(cpra.StatusFilter{Labels: c.monitors}) {
		failing := !st.Since.IsZero()
		ch <- prometheus.MustNewConstMetric(c.monitor[0], gauge, boolean(st.State == cpra.StateUp), st.Name)
		ch <- prometheus.MustNewConstMetric(c.monitor[1], gauge, boolean(failing), st.Name)
		if !st.LastCheck.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.monitor[2], gauge, float64(st.LastCheck.UnixMilli())/1e3, st.Name)
		}
	}
}

func (c *collector) collect(s *cpra.Stats, ch chan<- prometheus.Metric) {
	for i, m := range engineSeries {
		ch <- prometheus.MustNewConstMetric(c.engine[i], m.typ, m.value(s))
	}
	for i, m := range pipelineGauges {
		for _, p := range pipelines {
			ch <- prometheus.MustNewConstMetric(c.pipeline[i], prometheus.GaugeValue, m.value(p.stats(s)), p.label)
		}
	}
	for i, m := range histograms {
		h := m.value(s)
		buckets := make(map[float64]uint64, len(h.Buckets))
		for _, b := range h.Buckets {
			buckets[b.UpperBound.Seconds()] = b.Count
		}
		ch <- prometheus.MustNewConstHistogram(c.histogram[i], h.Count, h.Sum.Seconds(), buckets)
	}
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func boolean(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
