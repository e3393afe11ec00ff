package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // maintenance windows name time zones; the binary carries their rules

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/config"
	"github.com/ziad/cpra/metrics"
	"github.com/ziad/cpra/pulse"
	"github.com/ziad/cpra/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `Usage:
  cpra [flags]                 run the embedded demo fleet
  cpra --yaml FILE [flags]     run the monitors of FILE
  cpra --yaml FILE --validate  check FILE and exit
  cpra --config FILE [flags]   take engine settings from FILE (see below)
  cpra gen --count N [--base-url URL] [--interval D] [--remediate] [--alert-log FILE] [--out FILE]
  cpra mock --count N [--addr HOST:PORT] [--fail-rate P]
  cpra --version               print the version and exit

The --config file is YAML; every key is optional and unknown keys are errors:
  workers: {min: 4, max: 256}   workers per pipeline (pulse, intervention, alert)
  queue_capacity: 65536         checks that may wait for a pulse worker
  slo: 100ms                    target mean response time of each pipeline
  headroom: 0.2                 share of workers added on top of what meets the SLO
  shutdown_timeout: 30s         time allowed to finish work and deliver alerts on exit
  notify: {timeout: 10s, retries: 3, backoff: 200ms, max_elapsed: 10m}
  capacity: 100000              number of monitors to expect (a sizing hint)
  group_by: pool                label whose value groups alerts of monitors sharing a notifier
  group_wait: 30s               how long a group waits for more alerts (default 30s, at most 1h)

A --yaml FILE may hold a defaults block and a maintenance list beside its
monitors; SIGHUP reloads the file, its monitors and its maintenance windows.
A monitor without codes (in the file or its defaults) logs its alerts on
standard output: one line each, readable on a terminal, JSON (the webhook
payload) elsewhere or with --log.format json. A file is refused, in a run as with
--validate, when a depends_on names no monitor of it, a program to run is
missing or not executable, or a log file's directory does not exist.

Flags:
`

// shutdownTimeout bounds how long the engine may take to finish in-flight
// work and deliver queued alerts once a signal arrives.
const shutdownTimeout = 30 * time.Second

// statusEvery is how often a status line is logged.
var statusEvery = 2 * time.Second

// run is the whole program: it parses args, does the work until ctx ends
// and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "gen":
			return runGen(args[1:], stdout, stderr)
		case "mock":
			return runMock(ctx, args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("cpra", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var o options
	fs.StringVar(&o.yaml, "yaml", "", "monitors file (YAML or JSON) to run; without it, the demo runs")
	fs.BoolVar(&o.validate, "validate", false, "with --yaml: check the file, print its problems and exit (1 if any)")
	fs.StringVar(&o.config, "config", "", "engine settings file (YAML): workers, queue_capacity, slo, headroom, shutdown_timeout, notify, capacity, group_by, group_wait")
	fs.BoolVar(&o.debug, "debug", false, "log at debug level")
	fs.BoolVar(&o.pprof, "pprof", false, "serve net/http/pprof on --pprof.addr (off by default: it exposes internals)")
	fs.StringVar(&o.pprofAddr, "pprof.addr", "localhost:6060", "address of the pprof server")
	fs.StringVar(&o.metricsAddr, "metrics.addr", "", "address to serve Prometheus /metrics on (empty: off)")
	fs.DurationVar(&o.demoDuration, "demo.duration", 0, "stop the demo after this long (0: run until interrupted)")
	fs.StringVar(&o.state, "state", "", "with --yaml: the file the engine keeps its state in across restarts (default: the --yaml file's path with .state added; \"\" for none)")
	fs.BoolVar(&o.stateReset, "state.reset", false, "move a damaged or newer state file aside and start with no state")
	o.cluster.register(fs)
	o.web.flags(fs)
	fs.Func("log.format", "log `format`, text or json: log lines (standard error) and the alerts of monitors without codes (standard output) as text, or as one JSON object each (default: text, but those alerts as JSON lines when standard output is not a terminal)", func(s string) (err error) {
		o.logFormat, err = parseLogFormat(s)
		return err
	})
	mem := memoryLimit{auto: true}
	fs.Var(&mem, "memory.limit", "soft memory `limit` of the heap and the engine's arrays outside it, near which the Go runtime collects more often: auto (90% of the memory limit of the cgroup the command runs in, if it has one and GOMEMLIMIT is not set), off, or a size such as 300MiB")
	version := fs.Bool("version", false, "print the version and exit")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if *version {
		fmt.Fprintln(stdout, versionText())
		return 0
	}
	memLimit, memFrom, restoreMem := mem.apply(os.Getenv, processCgroupLimit)
	defer restoreMem()
	if memLimit > 0 && memFrom != "GOMEMLIMIT" {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		defer followOffHeap(memLimit, tick.C, cpra.OffHeapBytes)()
	}
	fs.Visit(func(f *flag.Flag) { o.stateSet = o.stateSet || f.Name == "state" })
	if err := o.web.check(); err != nil {
		fmt.Fprintln(stderr, "cpra:", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cpra: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if o.config != "" {
		s, err := loadSettings(o.config)
		if err != nil {
			printSettingsErrors(stderr, err)
			return 2
		}
		o.settings = s
	}
	if o.validate {
		if o.yaml == "" {
			fmt.Fprintln(stderr, "cpra: --validate needs --yaml")
			return 2
		}
		return validate(o.yaml, stdout, stderr)
	}
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	stdout, stderr = o.screen(stdout, stderr)
	log := newLogger(stderr, o.logFormat, level)
	if memLimit > 0 {
		log.Info("memory limit", "bytes", memLimit, "from", memFrom)
	}
	defer pulse.CloseIdleConnections()
	if o.yaml == "" {
		return runDemo(ctx, o, stdout, log)
	}
	return runFile(ctx, o, stdout, stderr, log)
}

type options struct {
	yaml         string
	config       string
	settings     settings // from the --config file
	validate     bool
	debug        bool
	pprof        bool
	pprofAddr    string
	metricsAddr  string
	web          web // --http.addr, --metrics.monitors
	demoDuration time.Duration
	state        string // the state file; "" for none (see stateSet)
	stateSet     bool   // --state was given
	stateReset   bool
	cluster      clusterFlags
	logFormat    string // --log.format: formatAuto, formatText or formatJSON
	// con is standard error when it is a terminal: the status line and the
	// load progress are then redrawn in place on its last line.
	con       *console
	stdoutTTY bool // standard output is a terminal
	colour    bool // alert codes written to standard output are coloured
}

// engineOptions returns the command's own engine options followed by those
// of the --config file, which therefore take precedence.
func (o options) engineOptions(own ...cpra.Option) []cpra.Option {
	return append(append(own, o.web.engineOptions()...), o.settings.opts...)
}

// printSettingsErrors writes the problems of a --config file one per line.
func printSettingsErrors(w io.Writer, err error) {
	var errs interface{ Unwrap() []error }
	if errors.As(err, &errs) {
		for _, e := range errs.Unwrap() {
			fmt.Fprintln(w, "cpra: --config", e)
		}
		return
	}
	fmt.Fprintln(w, "cpra: --config", err)
}

// fileOptions are the options the command loads a monitors file with, in a
// run and in a validation alike: the file is the only source of monitors,
// so a dependency on a monitor it does not hold is an error, and what would
// fail only once the monitors run (a missing program, a log file in a
// missing directory) is found at once.
func fileOptions(more ...config.Option) []config.Option {
	return append([]config.Option{config.WithFileChecks(), config.WithStrictDependencies()}, more...)
}

// validate loads path without creating any file and reports what is wrong
// with it, and where the alerts of its monitors go. The file is read as a
// stream: its monitors are looked at one by one, not kept.
func validate(path string, stdout, stderr io.Writer) int {
	var nowhere, noRed, byDefault nameList
	monitors := 0
	f, err := config.StreamFile(path, func(s *config.Streamed) {
		monitors++
		m := &s.Monitor
		r, isRoute := m.Notify.(alert.Route)
		switch {
		case m.Notify == nil:
			byDefault.add(m.Name)
		case isRoute && len(r) == 0:
			nowhere.add(m.Name)
		case isRoute && r[alert.Red] == nil:
			noRed.add(m.Name)
		}
	}, fileOptions(
		config.WithOpenLog(func(string) (io.Writer, error) { return io.Discard, nil }),
		config.WithStdout(io.Discard))...)
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	defer f.Close()
	for _, w := range f.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if nowhere.n > 0 {
		fmt.Fprintf(stderr, "warning: %s %s nowhere: every code of the codes says dispatch: false\n",
			nowhere, nowhere.verb("alerts", "alert"))
	}
	if noRed.n > 0 {
		fmt.Fprintf(stderr, "warning: %s %s no red alert when down: the codes have no red\n",
			noRed, noRed.verb("sends", "send"))
	}
	fmt.Fprintf(stdout, "ok: %d monitors", monitors)
	if n := len(f.Disabled); n > 0 {
		fmt.Fprintf(stdout, " (%d disabled)", n)
	}
	switch n := len(f.Maintenance); n {
	case 0:
	case 1:
		fmt.Fprint(stdout, ", 1 maintenance selector")
	default:
		fmt.Fprintf(stdout, ", %d maintenance selectors", n)
	}
	fmt.Fprintln(stdout)
	if byDefault.n > 0 {
		fmt.Fprintf(stdout, "%s %s no codes: the alerts are logged on standard output\n",
			byDefault, byDefault.verb("has", "have"))
	}
	return 0
}

// nameList counts monitors for a message and keeps the first names.
type nameList struct {
	names []string
	n     int
}

// listed is how many names a message shows.
const listed = 10

func (l *nameList) add(name string) {
	if l.n++; len(l.names) < listed {
		l.names = append(l.names, name)
	}
}

// String names the monitors: "1 monitor (a)", "3 monitors (a, b, c)", the
// first ten of a longer list.
func (l nameList) String() string {
	list := strings.Join(l.names, ", ")
	if l.n > len(l.names) {
		list += fmt.Sprintf(" and %d more", l.n-len(l.names))
	}
	if l.n == 1 {
		return fmt.Sprintf("1 monitor (%s)", list)
	}
	return fmt.Sprintf("%d monitors (%s)", l.n, list)
}

// verb returns one for a single name, many for more.
func (l nameList) verb(one, many string) string {
	if l.n == 1 {
		return one
	}
	return many
}

// runFile loads the monitors file and runs it until ctx ends.
func runFile(ctx context.Context, o options, stdout, stderr io.Writer, log *slog.Logger) int {
	// SIGHUP is caught before anything else so that an early one does not
	// end the program.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, reloadSignals...)
	defer signal.Stop(hup)

	start := time.Now()
	progress := config.WithProgress(func(p config.Progress) {
		el := time.Since(start)
		rate := float64(p.Monitors) / max(el.Seconds(), 1e-9)
		state := "loading"
		if p.Done {
			state = "loaded"
		}
		if o.con != nil {
			o.con.setStatus(fmt.Sprintf("%s %s: %d monitors, %d errors, %.0f monitors/s",
				state, o.yaml, p.Monitors, p.Errors, rate))
			if p.Done {
				o.con.finish()
			}
			return
		}
		if o.logFormat == formatJSON {
			log.Info(state, "file", o.yaml, "monitors", p.Monitors, "errors", p.Errors, "monitors_per_s", roundRate(rate))
			return
		}
		fmt.Fprintf(stderr, "%s %s: %d monitors, %d errors, %.0f monitors/s\n",
			state, o.yaml, p.Monitors, p.Errors, rate)
	})
	// A monitor without codes logs its alerts on standard output, as a
	// log notifier without a file does (see alertLines for the format).
	opts := []cpra.Option{cpra.WithLogger(log),
		cpra.WithNotifier(alertLines(stdout, o.logFormat, o.stdoutTTY, o.colour, false))}
	join, _, leave, err := o.cluster.join(log)
	if err != nil {
		fmt.Fprintln(stderr, "cpra:", err)
		return 1
	}
	if join != nil {
		defer leave() // after the engine has shut down
		opts = append(opts, join)
		if o.stateSet && o.state != "" {
			fmt.Fprintln(stderr, "cpra: --state and --cluster.etcd: a member of a cluster keeps its state in etcd")
			return 1
		}
		o.state, o.stateSet = "", true
	}
	st, stateNew, err := openState(o, log)
	if err != nil {
		fmt.Fprintln(stderr, "cpra:", err)
		return 1
	}
	if st != nil {
		defer st.Close() // after the engine has shut down
		opts = append(opts, cpra.WithStore(st, 0))
	}
	e, err := cpra.New(o.engineOptions(opts...)...)
	if err != nil {
		log.Error("engine", "err", err)
		return 1
	}
	// The file is read as a stream straight into the engine, which is not
	// started yet: no monitor runs before the whole file has loaded (a
	// file refused at its end leaves nothing behind) and its maintenances
	// are in place. The syncer keeps the maintenances' IDs and the
	// monitors' for reloads.
	r := newReloader(o.yaml, e, stdout, log)
	defer r.close() // after the engine has shut down: deferred first, runs last
	done := loadGC()
	f, ch, err := r.sync.SyncFile(o.yaml, fileOptions(config.WithStdout(stdout), progress)...)
	done()
	if f == nil {
		// Refused: a state file made for this run goes again.
		e.Shutdown(context.Background())
		if st != nil && stateNew {
			st.Close()
			os.Remove(st.Path())
		}
		printErrors(stderr, err)
		return 1
	}
	if st != nil {
		log.Info("state", "file", st.Path())
	}
	for _, w := range f.Warnings {
		log.Warn("config", "warning", w.Error())
	}
	if err != nil {
		e.Shutdown(context.Background())
		log.Error("adding monitors", "err", err)
		return 1
	}
	log.Info("monitors added", "monitors", ch.Added, "disabled", len(f.Disabled), "maintenance", ch.Maintenance)
	return serve(ctx, o, e, log, func(ctx context.Context) {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.reload()
			}
		}
	})
}

// loadGC makes the garbage collector keep the heap closer to what is live
// while a file loads, and returns what ends that. Reading a file makes
// short-lived garbage (its text, parse trees, validation) while the
// engine's monitors accumulate: at the default GOGC the heap would grow
// to twice the fleet before each collection, and the process keep that
// peak. Once loaded, the default comes back and the load's garbage is
// returned to the system. A GOGC or GOMEMLIMIT of the environment is left
// alone.
func loadGC() (done func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	prev := debug.SetGCPercent(loadGOGC)
	return func() {
		debug.SetGCPercent(prev)
		debug.FreeOSMemory()
	}
}

// loadGOGC is the GOGC of a load (see loadGC). At 1M monitors of the
// file gen writes, 30 loaded in 5.1-5.2 s with a peak of 310-325 MB, 50 in
// 4.5-4.7 s with 332-338 MB and the default 100 in 4.3 s with 390-407 MB.
// Once the engine kept most of its plain arrays outside the heap, the
// smaller heap made a collection at 50 come more often: 75 loads in
// 4.79-5.17 s with a peak of 289-319 MB, against 5.11-5.28 s and 270-274
// MB at 50 (four alternated pairs, no state file).
const loadGOGC = 75

// openState opens the state file of a --yaml run: --state, or the file's
// path with ".state" added; none for --state "". A damaged file, or one of
// a newer version, is refused unless --state.reset moves it aside. A file
// more than three times the size of its records is compacted first: the
// records a run rewrites at random leave the pages they split half full,
// so a file in use is about twice the size of its records (2.2 times at a
// million monitors with 190k failing), and compacting it at each start
// was undone by the first minutes of the run. created says whether the
// file was made by this call.
func openState(o options, log *slog.Logger) (st *store.File, created bool, err error) {
	path := o.state
	if !o.stateSet {
		path = o.yaml + ".state"
	}
	if path == "" {
		return nil, false, nil
	}
	_, serr := os.Stat(path)
	created = errors.Is(serr, fs.ErrNotExist)
	var sopts []store.Option
	if o.stateReset {
		sopts = append(sopts, store.Fresh())
	}
	st, err = store.Open(path, sopts...)
	if err != nil {
		var ce *store.CorruptError
		if errors.As(err, &ce) || errors.Is(err, store.ErrNewerVersion) {
			return nil, false, fmt.Errorf("%w\n(--state.reset moves it aside and starts with no state; --state \"\" runs without one)", err)
		}
		return nil, false, err
	}
	if aside, cause := st.MovedAside(); aside != "" {
		log.Warn("state file moved aside; starting with no state", "file", aside, "cause", cause)
	}
	if fst, err := st.Stats(); err == nil && fst.Size > 1<<20 && fst.Size > 3*fst.Data {
		start := time.Now()
		if err := st.Compact(); err != nil {
			log.Warn("compacting the state file", "file", path, "err", err)
		} else {
			log.Info("state file compacted", "file", path, "records", fst.Records, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	return st, created, nil
}

// printErrors writes the problems of a monitors file one per line.
func printErrors(w io.Writer, err error) {
	var es config.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Fprintln(w, e)
		}
		return
	}
	fmt.Fprintln(w, err)
}

// metricsHandler serves e's series with the Go runtime's (go_*) and the
// process's (process_*), as a standalone daemon's /metrics is expected to.
func metricsHandler(e *cpra.Engine, opts ...metrics.Option) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		metrics.NewCollector(e, opts...),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// serve runs e with the optional metrics and pprof servers and the status
// line until ctx ends, then shuts everything down.
//
// background, when not nil, runs on its own goroutine while the engine runs;
// it must return when its context ends, and it has returned before the
// engine shuts down.
func serve(ctx context.Context, o options, e *cpra.Engine, log *slog.Logger, background func(context.Context)) int {
	var wg sync.WaitGroup
	var servers []*http.Server
	defer func() {
		for _, s := range servers {
			s.Close()
		}
		wg.Wait()
	}()
	listen := func(what, addr, path string, h http.Handler) bool {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Error("listen", "server", what, "err", err)
			return false
		}
		s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, s)
		wg.Go(func() { s.Serve(ln) })
		log.Info("serving", "server", what, "url", "http://"+ln.Addr().String()+path)
		return true
	}
	if o.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metricsHandler(e, o.web.metricsOptions()...))
		if !listen("metrics", o.metricsAddr, "/metrics", mux) {
			e.Shutdown(context.Background())
			return 1
		}
	}
	if o.web.addr != "" {
		if !listen("status page", o.web.addr, "/", o.web.handler(e)) {
			e.Shutdown(context.Background())
			return 1
		}
	}
	if o.pprof {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		if !listen("pprof", o.pprofAddr, "/debug/pprof/", mux) {
			e.Shutdown(context.Background())
			return 1
		}
	}
	log.Debug("starting engine", "metrics.addr", o.metricsAddr, "pprof", o.pprof)
	if err := e.Start(ctx); err != nil {
		log.Error("start", "err", err)
		return 1
	}
	bgCtx, stopBackground := context.WithCancel(ctx)
	var bg sync.WaitGroup
	bg.Go(func() { statusLoop(bgCtx, e, log, o.con) })
	if background != nil {
		bg.Go(func() { background(bgCtx) })
	}
	<-ctx.Done()
	stopBackground()
	bg.Wait()
	timeout := shutdownTimeout
	if o.settings.shutdownTimeout > 0 {
		timeout = o.settings.shutdownTimeout
	}
	log.Info("shutting down", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := e.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	s := e.Stats()
	log.Info("stopped", "checks", s.ChecksRun, "failed", s.ChecksFailed,
		"remediations", s.Remediations, "alerts_sent", s.AlertsSent, "alerts_failed", s.AlertsFailed)
	return 0
}

// statusLoop reports engine statistics: on a terminal (con not nil) as the
// status line, redrawn every second, elsewhere as a log line every
// statusEvery. See statusText for what it says.
func statusLoop(ctx context.Context, e *cpra.Engine, log *slog.Logger, con *console) {
	every := statusEvery
	if con != nil {
		every = time.Second
		defer con.finish()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var w rateWindow
	s := e.Stats()
	w.add(time.Now(), s.ChecksRun, s.ChecksFailed)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s := e.Stats()
			checks, failed := w.add(now, s.ChecksRun, s.ChecksFailed)
			if con != nil {
				con.setStatus(statusText(s, checks, failed))
			} else {
				logStatus(log, s, checks, failed)
			}
		}
	}
}
