// Package config loads CPRA monitors from a YAML or JSON file.
//
// # Overview
//
// [LoadFile] (or [Load] for any reader) reads a monitors file and builds a
// [cpra.Monitor] for each entry, with the built-in checkers of package pulse,
// remediators of package intervene and notifiers of package alert; the result
// is a [File], whose [File.AddTo] adds them, and the file's maintenance
// windows, to an engine:
//
//	f, err := config.LoadFile("monitors.yaml")
//	if err != nil {
//		log.Fatal(err) // every problem of the file, one per line
//	}
//	defer f.Close() // after the engine has shut down
//	ids, err := f.AddTo(engine)
//
// # Errors
//
// A file loads whole or not at all. Load reports every problem it finds at
// once, as [Errors] sorted by line; each [*Error] names the monitor, the field
// and the line:
//
//	monitors[42] "api": pulse_check.interval: "3x" is not a duration (line 310)
//
// Unknown fields are errors (with a suggestion when one is near), as are
// values of the wrong kind, duplicate monitor names (naming both lines) and
// dependency cycles. The values of a monitor (an interval below 10ms, a
// negative threshold, a retry interval longer than the interval, a
// maintenance window of no duration...) are judged by
// [cpra.Monitor.Validate], the rules [cpra.Engine.Add] applies, and each
// field it refuses is reported at the key and line of the file that set it
// (such an Err unwraps to the [*cpra.MonitorError]). A problem outside any
// monitor, in the top-level maintenance list or the defaults block, reads
//
//	maintenance[0].windows[1].weekdays: "funday" is not a weekday (...) (line 12)
//	defaults.pulse_check.interval: 5ms is below the minimum 10ms (line 3)
//
// Problems that do not stop the file from loading are in [File.Warnings]:
// a timeout longer than the interval, a depends_on naming no monitor of the
// file (an error with [WithStrictDependencies]). [WithFileChecks] also
// refuses what would fail only once the monitors run: a missing or
// non-executable program, a log file in a missing directory.
//
// Input beyond the [Limits] (the size of the file and of one monitor, the
// values in one monitor, the length of a name) is refused with [ErrLimit]
// at its line; the defaults are far above real files. Loading takes time
// linear in the size of the file, however the values nest.
//
// # Schema
//
// The document is a mapping with the key monitors, a list, and optionally
// maintenance, a list (see Maintenance below), and defaults (see Defaults
// below), which comes before the monitors. monitors: null, or no monitors
// key, is refused (monitors: [] is an empty file). JSON files have the
// same shape. Durations are Go durations ("30s", "1m30s", "250ms").
// A value written ${NAME} is read from the environment variable NAME in every
// string of a code's config and in the url and headers of an http
// intervention, so that secrets need not be in the file.
//
//	monitors:
//	  - name: checkout-api           # required, unique in the file
//	    enabled: true                # default true; false: checked, then left out of File.Monitors (see File.Disabled)
//	    labels: {team: payments}     # Monitor.Labels; passed on in alerts and incidents
//	    depends_on: [postgres]       # Monitor.DependsOn: a monitor name or a list of names
//	    repeat_interval: 1h          # Monitor.RepeatInterval: re-send red while down; default 0, off
//	    flap: {high: 50, low: 25}    # Monitor.Flap, percent; low default high/2; default off
//	    maintenance: [...]           # Monitor.Maintenance: windows, below
//	    quorum: 2                    # Monitor.Quorum: locations that must see it fail (cluster); default 0, the owner alone
//	    pulse_check:                 # required
//	      type: http                 # http, tcp, icmp, dns, tls, exec, grpc
//	      interval: 30s              # Monitor.Interval; default 30s, 10ms to 31 days
//	      timeout: 5s                # Monitor.Timeout; default 10s or the interval if shorter
//	      retry_interval: 5s         # Monitor.RetryInterval: interval while failing, not yet down; default the interval
//	      max_failures: 3            # Monitor.FailureThreshold, default 3; alias unhealthy_threshold
//	      failure_window: 10         # Monitor.FailureWindow: down on max_failures in the last N checks; default 0, in a row
//	      healthy_threshold: 2       # Monitor.SuccessThreshold, default 2
//	      config: {...}              # by type, below
//	    intervention:                # optional: Monitor.Remediate
//	      type: script               # script (alias exec), http (alias webhook), docker_restart, docker_update, docker_scale; alias action
//	      max_attempts: 1            # Monitor.MaxRemediations, default 1
//	      policy:                    # optional: Monitor.Policy (intervene.Policy), each key optional
//	        backoff: 30s             # wait after a failed attempt, doubling (default the interval)
//	        max_backoff: 1h          # at most this (default 1h)
//	        jitter: 0.2              # a share from 0 to 1, or a percentage: 20%
//	        verify: 2                # passing checks after an attempt (default healthy_threshold)
//	        cooldown: 5m             # no new attempt within this of the last one
//	        limit: 3                 # at most limit attempts within window
//	        window: 1h
//	        dry_run: false           # report what would run, run nothing
//	        timeout: 1m              # bounds each attempt (default the monitor's timeout); also config.timeout
//	      config: {...}              # by type, below
//	    codes:                       # optional: Monitor.Notify, an alert.Route
//	      red:                       # yellow, red, green, cyan, gray
//	        dispatch: true           # default true; false: this code is not sent
//	        notify: pagerduty        # log, webhook, slack, pagerduty, email, sms
//	        config: {...}            # by notifier, below
//
// A code may also hold a list of such blocks, all of which are notified
// (alert.Multi). Without codes (or with codes: null) a monitor takes those
// of the defaults block, or else uses the engine's default notifier
// (cpra.WithNotifier); with codes that all say dispatch: false it sends
// nothing.
//
// pulse_check.config, by type. Every type takes retries (extra attempts
// within one check, default 0: pulse.Retry), retry_wait (between attempts,
// default 0) and max_latency (pulse.WithMaxLatency). http, tls and grpc also
// take insecure_skip_verify (bool) and server_name.
//
//	http   url (required); method (GET); headers (mapping); body; expected_status
//	       (alias status: a code or a list, default any 2xx); body_contains;
//	       body_regex (alias body_match); json_field with json_value
//	       (pulse.WithJSONField); follow_redirects (default true)
//	tcp    address "host:port", or host and port; send; expect (reply contains);
//	       expect_prefix (reply starts with)
//	icmp   host (required); count (echo requests per check, default 1)
//	dns    name (required); server ("host:port" or host); record_type (A);
//	       rcode (pulse.WithRcode); contains (an answer contains)
//	tls    address, or host and port (default 443); min_validity (a duration)
//	exec   path (alias command, required); args (list); env (mapping, or list of
//	       KEY=value); dir
//	grpc   address, or host and port; service; tls (bool)
//
// intervention.config, by type. Every type takes timeout, which bounds each
// attempt in place of the monitor's timeout (Monitor.Policy.Timeout, also
// written policy.timeout).
//
//	script          script (aliases path, command; required); args; env (mapping);
//	                inherit_env (names to copy from this process); dir
//	http            url (required); method (POST); headers; expected_status
//	docker_restart  container (required; a leading "/" as docker inspect prints it is fine);
//	                socket; stop_timeout; api_version (default: negotiated with the daemon)
//	docker_update   container (required); cpus (1.5); memory, memory_reservation and
//	                memory_swap (memory plus swap; -1 or unlimited), in bytes or with a unit
//	                (512m, 2g); at least one of these; socket; api_version
//	docker_scale    service (required: a swarm service); replicas (set the count), or add
//	                with max_replicas (add that many, up to the ceiling); socket; api_version
//
// Other packages add intervention types with [RegisterIntervention]: package
// github.com/ziad/cpra/intervene/k8s (a module of its own, so that the core
// does not carry a Kubernetes client) adds k8s_rollout_restart and k8s_scale
// when a program calls its Register, as the cpra command does. A registered
// type's fields are checked as the built-in ones are, with errors at the
// field and line.
//
// codes.<code>.config, by notifier:
//
//	log        file (alias path; absent, "-" or "stdout": standard output, see WithStdout)
//	webhook    url (required); secret (HMAC signature); headers; template
//	slack      webhook_url (alias url; required)
//	pagerduty  routing_key (absent: the environment's CPRA_PAGERDUTY_ROUTING_KEY);
//	           url (alias endpoint; default the Events API v2); source; yellow_warning (bool)
//	email      smtp (alias addr; "host:port", required); from (required); to (one
//	           address or a list, required); username and password (AUTH PLAIN);
//	           require_tls (bool); hello
//	sms        account_sid, auth_token, from, to (one number or a list), all
//	           required; base_url
//
// # Retries, dependencies, flapping
//
// retry_interval is from 10ms to the interval; failure_window is 0 or from
// max_failures to 64; repeat_interval is 0 or from 10ms to 31 days.
// depends_on names monitors of the file (or that the program adds
// otherwise: a name the file does not hold, or holds disabled, is a
// warning; one it does not hold is an error with WithStrictDependencies). A monitor may not depend on itself, and dependencies between
// the file's monitors may not form a cycle: Load reports the cycle at the
// monitor whose addition would close it. flap takes high (above 0, up to
// 100) and low (below high); a percentage may be written 25 or "25%".
//
// # Defaults
//
// The top-level defaults block gives every monitor the settings it does not
// set itself, so that a large file need not repeat them:
//
//	defaults:
//	  pulse_check:             # interval, timeout, retry_interval, max_failures (or
//	    interval: 1m           # unhealthy_threshold), healthy_threshold, failure_window
//	    max_failures: 2
//	  intervention:            # for monitors with an intervention: max_attempts, and
//	    max_attempts: 2        # policy, whose keys are taken one by one
//	    policy: {backoff: 30s}
//	  codes:                   # for monitors without codes
//	    red: {notify: slack, config: {webhook_url: "${SLACK_URL}"}}
//	  repeat_interval: 1h
//	  flap: {high: 50}
//
// It must come before the monitors list (which is read as a stream). A
// monitor's digest covers the defaults it takes. A problem in the block is
// reported once, as defaults.<key> at its line.
//
// # Maintenance
//
// A window silences monitors for a while, once or again and again (see
// [cpra.MaintenanceWindow]). A monitor's own windows are its maintenance
// list; the top-level maintenance list holds windows over the monitors whose
// labels include every pair of a selector ([cpra.Maintenance]), which
// [File.AddTo] adds with [cpra.Engine.AddMaintenance]:
//
//	maintenance:
//	  - selector: {team: payments}   # required, not empty: the labels to match
//	    windows:                     # required, not empty
//	      - start: "2025-06-07 22:00"   # required: RFC 3339, or a local "YYYY-MM-DD HH:MM[:SS]" in time_zone
//	        duration: 4h                # required: above 0, at most 31 days
//	        repeat: weekly              # once (the default), daily, weekly
//	        weekdays: [sat, sun]        # weekly only: mon..sun or full names, any case; default start's weekday
//	        time_zone: Europe/Berlin    # IANA name; default UTC; the days and time of day of a recurrence
//	        until: 2025-12-31T00:00:00Z # optional: no occurrence starts later; same formats as start
//
// A monitor's maintenance list holds windows of the same form. A selector
// that matches no monitor of the file is a warning.
//
// # Reloading
//
// A [Syncer] keeps an engine running a file that changes: each
// [Syncer.Sync] adds the monitors new in the file, removes those gone from
// it, replaces those whose digest changed and leaves the others running
// with their state; the file's maintenances replace the previous ones.
//
// # Large files
//
// [Stream] reads a file like Load but hands each monitor to a function as
// soon as it is built instead of keeping them, and [Syncer.SyncFile] uses
// it to read a file straight into an engine: into an engine not started
// yet the monitors go in as they are read (and leave again if the file is
// refused at its end), and on a reload of a running engine only the
// monitors that change wait for the end of the file. A million monitors
// then cost the engine's memory plus the batches being read and the names
// seen so far (to find duplicates), instead of the engine plus a File of
// them all:
//
//	s := config.NewSyncer(engine)
//	defer s.Close() // after the engine has shut down
//	f, _, err := s.SyncFile("monitors.yaml")
//	if f == nil {
//		log.Fatal(err) // the file is refused: every problem, one per line
//	}
//	if err != nil {
//		log.Print(err) // what the engine refused
//	}
//	engine.Start(ctx)
//
// # Sharing
//
// Monitors that say the same thing share one value: each log file is opened
// once, notifiers with the same settings are one notifier, identical codes
// blocks are one alert.Route, identical intervention blocks one remediator and
// identical labels one map. A million monitors logging to one file hold one
// file and one notifier. Checkers are per monitor (each has its target).
//
// # Performance
//
// Load reads the file as a stream: block-style YAML is cut into monitors by
// indentation, each monitor is parsed on its own (a fast parser for the usual
// subset, the YAML library for the rest of a monitor that needs it: both
// read it alike, or refuse it at the same line) and built on a pool of
// workers, in file order; the top-level maintenance list, before or after
// the monitors, and the defaults block are read on their own. Memory grows
// with the monitors kept, never with a document tree. A YAML document whose
// aliases reach an anchor outside their monitor, or with a flow-style top
// level, is read whole by the YAML library instead (this needs a seekable
// input). Monitors carry a digest of their settings ([File.Digests]) for
// reloads.
//
// [Generate] writes a test fleet of HTTP monitors in this format.
package config
