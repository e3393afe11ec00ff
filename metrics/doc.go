// Package metrics exports the counters and gauges of a [cpra.Engine] to
// Prometheus, through the Prometheus Go client library.
//
// # Overview
//
// An application that has a registry of its own registers a collector of
// the engine there, next to its other metrics:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.NewCollector(engine))
//
// One that has none serves [Handler], which keeps a registry of its own
// holding only the engine's collector:
//
//	http.Handle("/metrics", metrics.Handler(engine))
//
// Every scrape reads [cpra.Engine.Stats] once. The core package cpra does
// not import the Prometheus client: a program that never imports this
// package does not link it.
//
// Counters end in _total and count since the engine started; per-pipeline
// gauges carry a pipeline label ("pulse", "intervention" or "alert");
// durations are in seconds. [WithConstLabels] adds fixed labels to every
// series, to tell apart two engines in one registry.
//
// # Series
//
//	cpra_monitors                                   gauge
//	cpra_monitors_up                                gauge
//	cpra_monitors_down                              gauge
//	cpra_checks_total                               counter
//	cpra_checks_failed_total                        counter
//	cpra_checks_abandoned_total                     counter
//	cpra_checks_skipped_total                       counter
//	cpra_flap_starts_total                          counter
//	cpra_checks_late                                gauge
//	cpra_checks_late_oldest_seconds                 gauge
//	cpra_queue_full_total                           counter
//	cpra_remediations_total                         counter
//	cpra_remediations_failed_total                  counter
//	cpra_remediations_denied_total                  counter
//	cpra_remediations_dry_run_total                 counter
//	cpra_alerts_sent_total                          counter
//	cpra_alerts_failed_total                        counter
//	cpra_alerts_grouped_total                       counter
//	cpra_alerts_raised_total                        counter
//	cpra_alerts_collapsed_total                     counter
//	cpra_alerts_queued                              gauge
//	cpra_alerts_kept_total                          counter
//	cpra_store_failures_total                       counter
//	cpra_store_states_dropped_total                 counter
//	cpra_calls_abandoned_total                      counter
//	cpra_plugins_running                            gauge
//	cpra_schedule_lag_p50_seconds                   gauge
//	cpra_schedule_lag_p99_seconds                   gauge
//	cpra_schedule_lag_max_seconds                   gauge
//	cpra_schedule_lag_samples                       gauge
//	cpra_pipeline_workers{pipeline}                 gauge
//	cpra_pipeline_idle_workers{pipeline}            gauge
//	cpra_pipeline_queued{pipeline}                  gauge
//	cpra_pipeline_target_workers{pipeline}          gauge
//	cpra_pipeline_arrival_rate{pipeline}            gauge
//	cpra_pipeline_arrival_scv{pipeline}             gauge
//	cpra_pipeline_mean_service_seconds{pipeline}    gauge
//	cpra_pipeline_service_scv{pipeline}             gauge
//	cpra_pipeline_offered_load{pipeline}            gauge
//	cpra_pipeline_predicted_wait_seconds{pipeline}  gauge
//	cpra_pipeline_slo_met{pipeline}                 gauge
//	cpra_check_duration_seconds                     histogram
//
// Monitors that are neither up nor down have no result yet. The check
// duration histogram counts every check since the engine started, in
// buckets from 0.5ms to 10s.
//
// The pipeline gauges after cpra_pipeline_queued describe the latest
// sizing decision and the measurements over its window (the last 10
// seconds) that it was made from: arrivals per second, the squared
// coefficients of variation (scv) of the times between arrivals and of the
// service times, the mean service time, the offered load (workers busy on
// average), the mean queueing wait predicted at the target worker count and
// whether that wait meets the objective (1) or not (0).
//
// # Schedule lag
//
// Schedule lag is how late checks started compared with when they were
// due. The engine keeps it over a sliding window of the last 10 seconds
// only, and the series give its median, 99th percentile and maximum there,
// and the number of checks they were taken over. They are gauges: a
// Prometheus summary or histogram would also need the count and sum of all
// lags since the engine started, which the engine does not keep, and a
// count or sum over a window would make rate() of them meaningless. Alert
// on the p99 or the maximum directly, for instance
// cpra_schedule_lag_p99_seconds > 1.
//
// # Concurrency
//
// The collector and the handler are safe for concurrent use; each scrape
// takes one snapshot of the engine's Stats, so the values of one scrape are
// consistent with each other as far as Stats is.
package metrics
