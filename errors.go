package cpra

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors returned by the engine.
var (
	// ErrClosed is returned by every method of an engine that was shut down.
	ErrClosed = errors.New("cpra: engine closed")
	// ErrRunning is returned by Start on an engine that is already running.
	ErrRunning = errors.New("cpra: engine already running")
	// ErrNotFound is returned for an ID that names no monitor (never added,
	// or removed).
	ErrNotFound = errors.New("cpra: no such monitor")
	// ErrInvalidMonitor is wrapped by every [MonitorError].
	ErrInvalidMonitor = errors.New("cpra: invalid monitor")
	// ErrDuplicateName is wrapped by the [MonitorError] for a name already
	// in use.
	ErrDuplicateName = errors.New("name already in use")
	// ErrDryRun is wrapped by the error of the red alert of a monitor whose
	// remediation was not run because of dry run.
	ErrDryRun = errors.New("dry run: remediation not run")
	// ErrBudget is wrapped by the error of the red alert of a monitor whose
	// remediation the fleet-wide budget held back.
	ErrBudget = errors.New("remediation budget exhausted")
)

// MonitorError reports a monitor that [Engine.Add] refused, naming the
// monitor and the offending field.
type MonitorError struct {
	Monitor string // the monitor's name, possibly empty
	Field   string // the Monitor field at fault, e.g. "Interval"
	Err     error  // what is wrong with it
}

func (e *MonitorError) Error() string {
	return fmt.Sprintf("cpra: monitor %q: %s: %v", e.Monitor, e.Field, e.Err)
}

// Unwrap returns the cause.
func (e *MonitorError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInvalidMonitor) true for every MonitorError.
func (e *MonitorError) Is(target error) bool { return target == ErrInvalidMonitor }

// TimeoutError is the failure of a plug-in call that did not finish within
// its deadline. It matches context.DeadlineExceeded with errors.Is.
type TimeoutError struct {
	Op      string // "check", "remediation" or "notify"
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s timeout after %v", e.Op, e.Timeout)
}

// Is makes errors.Is(err, context.DeadlineExceeded) true.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// QuorumError is the failure of a check of a monitor with a quorum (see
// [Monitor].Quorum): the locations that saw the monitor fail, at least
// Quorum of them, and the error of this engine's own check (nil when its
// own location saw the monitor up). It reads "down in 2 locations (east,
// west; quorum 2): ...".
type QuorumError struct {
	Locations []string
	Quorum    int
	Err       error
}

func (e *QuorumError) Error() string {
	s := fmt.Sprintf("down in %d locations (%s; quorum %d)", len(e.Locations), strings.Join(e.Locations, ", "), e.Quorum)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the error of the engine's own check.
func (e *QuorumError) Unwrap() error { return e.Err }

// PanicError is the failure of a plug-in call that panicked. The engine
// recovers the panic and carries on. Its text is one line ("check
// panicked: boom"), so that it reads well in an alert; the stack is in
// Stack, and in the engine's log at debug level.
type PanicError struct {
	Op    string // "check", "remediation" or "notify"
	Value any    // the value passed to panic
	Stack []byte // the goroutine's stack where it panicked
}

func (e *PanicError) Error() string {
	v := fmt.Sprint(e.Value)
	if i := strings.IndexAny(v, "\r\n"); i >= 0 {
		v = v[:i] + " ..."
	}
	return e.Op + " panicked: " + v
}

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
