package config

import (
	"io"
	"os"
	"runtime"
)

// Option configures Load and LoadFile.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	openLog   func(path string) (io.Writer, error)
	stdout    io.Writer
	lookupEnv func(string) (string, bool)
	workers   int
	maxErrors int
	progress  func(Progress)
	limits    Limits
	// fileChecks and strictDeps: see WithFileChecks and
	// WithStrictDependencies.
	fileChecks bool
	strictDeps bool
	// libraryOnly parses every monitor with the YAML library, never the
	// fast path (for tests that compare the two).
	libraryOnly bool
}

func newOptions(opts []Option) *options {
	o := &options{
		stdout:    os.Stdout,
		lookupEnv: os.LookupEnv,
		workers:   min(runtime.GOMAXPROCS(0), 8),
		maxErrors: 1000,
		limits:    defaultLimits,
	}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(o)
		}
	}
	return o
}

// WithOpenLog replaces how the files of log notifiers (notify: log with a
// file) are opened. open is called once per distinct path; if what it returns
// is an io.Closer, File.Close closes it. The default opens the file for
// appending with alert.LogFile. Tests and validation runs use this to keep
// files from being created.
func WithOpenLog(open func(path string) (io.Writer, error)) Option {
	return optionFunc(func(o *options) { o.openLog = open })
}

// WithStdout sets where log notifiers without a file write (default
// os.Stdout).
func WithStdout(w io.Writer) Option {
	return optionFunc(func(o *options) { o.stdout = w })
}

// WithLookupEnv replaces os.LookupEnv for the values written as ${NAME} and
// for CPRA_PAGERDUTY_ROUTING_KEY.
func WithLookupEnv(lookup func(name string) (string, bool)) Option {
	return optionFunc(func(o *options) { o.lookupEnv = lookup })
}

// WithWorkers sets how many goroutines turn parsed items into monitors
// (default GOMAXPROCS, at most 8). 1 loads on the calling goroutine's pace
// with a single helper.
func WithWorkers(n int) Option {
	return optionFunc(func(o *options) { o.workers = max(1, n) })
}

// WithMaxErrors sets how many errors Load reports before it stops keeping
// them (default 1000); the last entry then counts those left out. It keeps
// reading the file, so the count is complete.
func WithMaxErrors(n int) Option {
	return optionFunc(func(o *options) { o.maxErrors = max(1, n) })
}

// Progress is what a progress callback is told while a file loads.
type Progress struct {
	Monitors int  // monitors read so far, valid or not
	Errors   int  // errors found so far
	Done     bool // the last call, once the whole file is read
}

// WithProgress makes Load call fn from its own goroutine every 10,000
// monitors and once at the end, for a progress display on large files.
func WithProgress(fn func(Progress)) Option {
	return optionFunc(func(o *options) { o.progress = fn })
}
