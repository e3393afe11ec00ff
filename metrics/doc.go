// Package metrics exposes the counters and gauges of a [cpra.Engine] in the
// Prometheus text exposition format (version 0.0.4).
//
// # Overview
//
// [Handler] returns an [net/http.Handler] that reads [cpra.Engine.Stats] on
// every request and writes it as text, with no dependency on the Prometheus
// client library:
//
//	http.Handle("/metrics", metrics.Handler(engine))
//
// Counters end in _total; per-pipeline values carry a pipeline label
// ("pulse", "intervention", "alert"); durations are in seconds.
//
// # Series
//
//	cpra_monitors                              gauge
//	cpra_checks_total                          counter
//	cpra_checks_failed_total                   counter
//	cpra_checks_abandoned_total                counter
//	cpra_checks_skipped_total                  counter
//	cpra_queue_full_total                      counter
//	cpra_remediations_total                    counter
//	cpra_remediations_failed_total             counter
//	cpra_alerts_sent_total                     counter
//	cpra_alerts_failed_total                   counter
//	cpra_calls_abandoned_total                 counter
//	cpra_plugins_running                       gauge
//	cpra_pipeline_workers{pipeline}            gauge
//	cpra_pipeline_idle_workers{pipeline}       gauge
//	cpra_pipeline_queued{pipeline}             gauge
//	cpra_pipeline_target_workers{pipeline}     gauge
//	cpra_pipeline_arrival_rate{pipeline}       gauge (λ, jobs per second)
//	cpra_schedule_lag_seconds{quantile}        gauge (0.5, 0.99 and 1 for the maximum)
//	cpra_check_duration_seconds                histogram (0.5ms to 10s buckets)
//
// # Concurrency
//
// The handler is safe for concurrent use; each request takes one snapshot of
// the engine's Stats, so the values of one scrape are consistent with each
// other as far as Stats is.
package metrics
