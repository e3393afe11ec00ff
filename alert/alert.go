package alert

import (
	"context"
	"fmt"
	"time"
)

// Code is the colour of an alert: what happened to a monitor.
type Code uint8

// The codes, in the order an episode usually goes through them.
const (
	// Yellow: the first failure of an episode; degraded, not yet down.
	Yellow Code = iota + 1
	// Red: the monitor is down and no remediation is going to fix it.
	Red
	// Green: the episode is over; the monitor is healthy again.
	Green
	// Cyan: a remediation attempt succeeded; fresh checks will verify it.
	Cyan
	// Gray: the monitor is paused or in a maintenance window.
	Gray
)

var codeNames = [...]string{"", "yellow", "red", "green", "cyan", "gray"}

// String returns the lower-case name of the code ("yellow", "red", ...).
func (c Code) String() string {
	if int(c) < len(codeNames) && c != 0 {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", uint8(c))
}

// Alert is one notification about one monitor.
type Alert struct {
	// Monitor is the monitor's name.
	Monitor string
	// Code says what happened.
	Code Code
	// Err is the most recent check error (yellow, red) or remediation
	// outcome; nil for green and for a successful remediation (cyan).
	Err error
	// At is when the event happened.
	At time.Time
	// Since is when the episode began: the first failed check.
	Since time.Time
	// Failures is the number of consecutive failed checks when the alert
	// was raised.
	Failures int
	// Attempt is the remediation attempt the alert is about (cyan, and red
	// after remediation gave up); 0 when no remediation is involved.
	Attempt int
	// Repeat is 0 for an alert raised by a change, and n for the nth
	// reminder of a red that stays red (see the monitor's RepeatInterval).
	Repeat int
	// Labels are the monitor's labels. Treat the map as read-only.
	Labels map[string]string
	// Flap is FlapStart or FlapEnd on the two alerts that open and close a
	// spell of flapping, and 0 on every other alert. While a monitor flaps
	// no other alert is sent for it. A FlapStart alert has Code Yellow; a
	// FlapEnd alert has the code of the monitor's state when the spell
	// ends: Green when it is up, Red when it is down, Yellow when it is
	// failing but not yet down.
	Flap Flap
	// Key identifies the alert, stably: the monitor, its episode (the
	// start, in Unix milliseconds; outside an episode, the alert's time)
	// and its number in the episode, as "name/1733212800000/2". An alert
	// sent again, after a retry or a restart of an engine that keeps its
	// state, has the same Key, so a receiver can drop the copy. It is empty
	// on a grouped alert.
	Key string
	// Skipped is set when the notifier fell behind and the engine folded
	// whole episodes of this monitor that were still waiting into one: this
	// alert stands for its own episode and Skipped more, all of which ended
	// before it was sent (see the engine's alert backlog). The pair sent
	// for them, the first red (or first alert) and the green, both carry
	// the first episode's Since.
	Skipped int
	// Group is set when this one alert stands for several: the alerts with
	// the same Code that monitors sharing a label value raised within the
	// engine's group wait. Each element is one monitor's alert (with Group
	// nil). Monitor is then "label=value", Labels holds that one pair, At
	// is when the group was sent, and Since, Err, Failures and Attempt are
	// those of the first member. Group is nil on an alert about one monitor.
	Group []Alert
}

// Flap marks the alerts that open and close a spell of flapping.
type Flap uint8

// Flap values.
const (
	FlapStart Flap = iota + 1 // the monitor began to flap
	FlapEnd                   // it stopped flapping
)

// String returns "flap-start", "flap-end", or "" for 0.
func (f Flap) String() string {
	switch f {
	case FlapStart:
		return "flap-start"
	case FlapEnd:
		return "flap-end"
	case 0:
		return ""
	}
	return fmt.Sprintf("flap(%d)", uint8(f))
}

// Notifier delivers alerts to people or systems.
//
// Contract:
//   - Notify is called from the engine's alert workers. Alerts of one
//     monitor are delivered one at a time and in order; alerts of different
//     monitors are delivered in parallel, so a Notifier shared between
//     monitors must be safe for concurrent use.
//   - Notify must honour ctx, which carries the delivery timeout. The call's
//     own result wins over the deadline: nil is a delivery whenever it comes.
//     A call that ignores ctx is waited for, holding its monitor's later
//     alerts, until twice the timeout has passed; then it is left behind
//     (its goroutine runs on until Notify returns), counted as abandoned,
//     and the alert is tried again, so only then can two calls for one
//     monitor overlap.
//   - A non-nil error means the alert was not delivered; the engine retries
//     it with backoff a bounded number of times, and may send it again after
//     a restart. Notify should therefore be idempotent where the receiver
//     allows it: [Alert.Key] is the same on every copy.
//   - A panic inside Notify is recovered and counted as a failed delivery.
type Notifier interface {
	Notify(ctx context.Context, a Alert) error
}

// NotifierFunc adapts an ordinary function to the [Notifier] interface.
type NotifierFunc func(ctx context.Context, a Alert) error

// Notify calls f(ctx, a).
func (f NotifierFunc) Notify(ctx context.Context, a Alert) error { return f(ctx, a) }

// Route is a [Notifier] that dispatches each alert by its code. Codes with no
// entry (or a nil entry) are dropped without error.
type Route map[Code]Notifier

// Notify sends a to the notifier registered for a.Code.
func (r Route) Notify(ctx context.Context, a Alert) error {
	if n := r[a.Code]; n != nil {
		return n.Notify(ctx, a)
	}
	return nil
}

var (
	_ Notifier = NotifierFunc(nil)
	_ Notifier = Route(nil)
)
