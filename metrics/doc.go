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
//	cpra_monitors_failing                           gauge
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
//	cpra_cluster_shards_owned                       gauge
//	cpra_cluster_shards_acquired_total              counter
//	cpra_cluster_shards_released_total              counter
//	cpra_alerts_fenced_total                        counter
//	cpra_remediations_fenced_total                  counter
//	cpra_calls_abandoned_total                      counter
//	cpra_plugins_running                            gauge
//	cpra_offheap_bytes                              gauge
//	cpra_schedule_lag_p50_seconds                   gauge
//	cpra_schedule_lag_p99_seconds                   gauge
//	cpra_schedule_lag_max_seconds                   gauge
//	cpra_schedule_lag_samples                       gauge
//	cpra_pipeline_workers{pipeline}                 gauge
//	cpra_pipeline_idle_workers{pipeline}            gauge
//	cpra_pipeline_queued{pipeline}                  gauge
//	cpra_pipeline_target_workers{pipeline}          gauge
//	cpra_pipeline_ceiling_workers{pipeline}         gauge
//	cpra_pipeline_arrival_rate{pipeline}            gauge
//	cpra_pipeline_arrival_scv{pipeline}             gauge
//	cpra_pipeline_mean_service_seconds{pipeline}    gauge
//	cpra_pipeline_service_scv{pipeline}             gauge
//	cpra_pipeline_offered_load{pipeline}            gauge
//	cpra_pipeline_predicted_wait_seconds{pipeline}  gauge
//	cpra_pipeline_slo_met{pipeline}                 gauge
//	cpra_check_duration_seconds                     histogram
//	cpra_schedule_lag_seconds                       histogram
//
// With [WithMonitors], and only then, each monitor that the option's label
// selector picks has series of its own, labelled by its name:
//
//	cpra_monitor_up{monitor}                        gauge
//	cpra_monitor_failing{monitor}                   gauge
//	cpra_monitor_last_check_timestamp_seconds{monitor}  gauge
//
// cpra_monitor_up is 1 while the monitor is up (passing, or failing but
// not yet down) and 0 when it is down or has no result yet, as a blackbox
// exporter's probe_success is per target; cpra_monitor_failing is 1 while
// an episode is open. They are off by default: a million monitors would
// make a million series of each.
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
// due. cpra_schedule_lag_seconds is a histogram of every check's lag since
// the engine started, in buckets from 0.1ms to 60s, with its count and sum:
// aggregate it over engines and time as any histogram, for instance
//
//	histogram_quantile(0.99, sum by (le) (rate(cpra_schedule_lag_seconds_bucket[5m])))
//
// Its buckets bound a quantile to the bucket it falls in. The engine also
// keeps the last 10 seconds' lags at a finer grain (within 12.5%), and the
// gauges cpra_schedule_lag_p50_seconds, _p99_seconds and _max_seconds give
// their median, 99th percentile and maximum, with the number of checks they
// were taken over in cpra_schedule_lag_samples: a window's percentiles
// cannot be added up across engines or over time, so alert on them per
// engine, for instance cpra_schedule_lag_p99_seconds > 1.
//
// # Concurrency
//
// The collector and the handler are safe for concurrent use; each scrape
// takes one snapshot of the engine's Stats, so the values of one scrape are
// consistent with each other as far as Stats is.
package metrics
