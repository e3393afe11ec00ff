// Command cpra runs CPRA monitors from a file, or a demo fleet.
//
// # Usage
//
//	cpra [flags]                 run the embedded demo fleet
//	cpra --yaml FILE [flags]     run the monitors of FILE
//	cpra --yaml FILE --validate  check FILE and exit
//	cpra --config FILE [flags]   take engine settings from FILE
//	cpra gen --count N [--base-url URL] [--interval D] [--remediate] [--alert-log FILE] [--out FILE]
//	cpra mock --count N [--addr HOST:PORT] [--fail-rate P]
//	cpra --version
//	cpra --help
//
// Without --yaml, cpra serves a few hundred simulated HTTP services on
// 127.0.0.1, some of which fail (some beyond repair for a while) and recover,
// monitors them with an HTTP "restart" remediation and prints every alert:
// yellow, cyan, red and green within seconds. --demo.duration stops it after
// a while.
//
// With --yaml, cpra loads the monitors file (see package config for the
// schema), printing progress on standard error, runs it and logs a status
// line every two seconds (monitors, checks and failures per second,
// remediations, alerts sent, workers per pipeline, schedule lag p99).
// SIGINT or SIGTERM stops scheduling, waits up to 30 seconds for work in
// flight and queued alerts, and exits 0. SIGHUP reloads the file: monitors
// that are gone or disabled are removed, monitors whose settings changed are
// replaced (their state starts afresh), new ones are added, and unchanged
// ones keep running with their state; the file's top-level maintenance list
// replaces the previous one (the new windows are added before the old ones
// are removed, so that a monitor inside a window both hold stays in it); a
// file that does not load is logged and changes nothing (the reload is
// config.Syncer's). Log notifiers without a file write to standard output
// (one JSON line per alert), and so does every monitor without codes, in
// the file or in its defaults block (see Output for the form). Log lines go
// to standard error.
//
// A file is refused, in a run, a reload and with --validate alike, for any
// problem package config finds, and for what would fail only once the
// monitors run: a depends_on naming no monitor of the file, a program (exec
// check, script intervention) that is missing or not executable, a log
// file whose directory does not exist.
//
// --validate loads the file without creating any alert log, prints each
// problem on its own line on standard error and exits 1, or prints
// "ok: N monitors" (with the count of disabled monitors and of top-level
// maintenance selectors, when there are any) and exits 0. It then names the
// monitors without codes (logged on standard output) and warns of those
// that alert nowhere (every code dispatch: false) or send no red, and of
// the file's warnings (a timeout longer than the interval, say).
//
// --metrics.addr serves the engine's statistics for Prometheus at /metrics
// (see package metrics for the series), with the Go runtime's (go_*) and
// the process's (process_*). --pprof serves net/http/pprof at
// --pprof.addr (default localhost:6060); it is off by default because
// profiling endpoints reveal the program's internals to whoever can reach
// them. --debug logs at debug level.
//
// --config reads engine settings from a YAML file; every key is optional:
//
//	workers: {min: 4, max: 256}  # per pipeline
//	queue_capacity: 65536
//	slo: 100ms
//	headroom: 0.2
//	shutdown_timeout: 30s
//	notify: {timeout: 10s, retries: 3, backoff: 200ms, max_elapsed: 10m}
//	capacity: 100000
//	group_by: pool     # cpra.WithGrouping: the label whose value groups alerts
//	group_wait: 30s    # how long a group gathers alerts; default 30s, at most 1h
//
// Grouping applies to monitors that share a notifier: the demo's, whose
// services carry a pool label (0 to 9), and in a --yaml file the monitors
// whose codes blocks are the same (the file shares one notifier between
// them).
//
// An unknown key, a value of the wrong kind or settings the engine refuses
// are reported on standard error, each naming the field and its line, and
// cpra exits 2.
//
// "cpra gen" writes a monitors file whose monitor i checks BASE/svc/i (the
// settings they share written once, in its defaults block), and
// "cpra mock" serves such a fleet on one listener: GET /svc/i answers 200,
// or 503 while the service is failing; POST /svc/i/restart heals it, except
// for the one failure in four that is wedged (the restart answers 500 and the
// service recovers by itself later). It prints its base URL.
//
// # Output
//
// When standard error is a terminal, the load progress and then the status
// line are drawn on its last line, redrawn in place (the status every
// second) and cut to the terminal's width (its size, else $COLUMNS, else
// 80 columns). Log lines, and alert lines when standard output is the
// terminal too, are written above it: the status line is erased, the line
// written and the status line drawn again, so that the two never share a
// line. Elsewhere the progress is a line of its own ("loaded FILE: N
// monitors, ..."; a "loaded" log event with --log.format json) and the
// status a log line every two seconds.
//
// The status says: monitors, up (of them, failing but not yet down), down;
// checks and failed checks per second; remediation attempts and failed
// ones; alerts sent; the schedule lag p99; the workers per pipeline. The
// rates are over a sliding window: the shortest that holds 100 checks, or
// the last ten minutes, so that a fast fleet's rate follows changes within
// a second and a slow fleet's is its true rate rather than 0 between its
// checks.
//
// The engine's warning for each failed remediation attempt is logged at
// debug level: the red alert that follows when the attempts are spent
// carries the error, and the status counts the failed attempts, so that a
// failed repair is told once.
//
// --log.format text (the default) writes log lines in slog's key=value
// form and alerts as one readable line each:
//
//	15:04:05.000 red    checkout attempt 2 status 500 from the restart URL
//
// (time of day, code, monitor, flap-start or flap-end, reminder n,
// attempt n, error; the full date and time when standard output is not a
// terminal). The code is coloured when standard output is a terminal,
// unless $NO_COLOR is set to anything or $TERM is "dumb"; never otherwise.
// Without --log.format, the alerts of monitors without codes are written
// as JSON lines when standard output is not a terminal, as with json (the
// demo's stay text).
//
// --log.format json writes one JSON object per line and per event, with
// names that do not change: log events on standard error, each with
// "time", "level" and "msg" and the event's own fields (the "status"
// event: "monitors", "up", "failing", "down", "checks_per_s",
// "failed_per_s", "remediations", "remediations_failed", "alerts_sent",
// "workers", "lag_p99" in nanoseconds; "loaded": "file", "monitors",
// "errors", "monitors_per_s"), and alerts on standard output in the schema
// of alert.Payload ("version", "id", "key", "monitor", "code", "flap",
// "time", "since", "error", "failures", "attempt", "labels", "members").
// No status line is drawn and nothing is coloured.
//
// --version prints the module version, the revision the binary was built
// from (stamped by the go command, or set with -ldflags
// "-X main.revision=..." as the Dockerfile does) with "(modified)" for a
// work tree with changes, the Go release and the platform. --help (or -h)
// prints the usage on standard output and exits 0, for gen and mock too.
//
// # Container
//
// The Dockerfile at the repository's root builds a static binary
// (CGO_ENABLED=0, -trimpath) into an image FROM scratch that holds only it
// and the root certificates; it runs as user 65532 in /app, which that user
// owns, so that the state file beside a mounted monitors file can be
// written:
//
//	docker build -t cpra .
//	docker run --rm -v "$PWD/monitors.yaml:/app/monitors.yaml:ro" cpra --yaml /app/monitors.yaml
//
// # Exit codes
//
// 0 on success or a clean shutdown, 1 when the file is invalid or the engine
// fails, 2 for a usage error or an invalid --config file.
package main
