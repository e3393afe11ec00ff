package cpra

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/internal/loop"
)

// Option configures an [Engine]. Options are applied in order by [New]; a
// later option overrides an earlier one of the same kind.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	loop.Config
	shutdownTimeout time.Duration
	err             error
}

func defaultConfig() config {
	return config{
		Config: loop.Config{
			Logger:            slog.New(slog.DiscardHandler),
			MinWorkers:        runtime.GOMAXPROCS(0),
			MaxWorkers:        1024,
			QueueCapacity:     1 << 16,
			NotifyTimeout:     10 * time.Second,
			NotifyRetries:     3,
			NotifyBackoff:     200 * time.Millisecond,
			NotifyMaxElapsed:  10 * time.Minute,
			NotifyConcurrency: 128,
			NotifyMaxInFlight: 4096,
			BacklogPerMonitor: 32,
			BacklogMemory:     64 << 20,
			SLO:               100 * time.Millisecond,
			Headroom:          0.2,
		},
		shutdownTimeout: 30 * time.Second,
	}
}

// ErrInvalidOption is wrapped by the error [New] returns for a bad option.
var ErrInvalidOption = errors.New("cpra: invalid option")

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: %s", ErrInvalidOption, fmt.Sprintf(format, args...))
	}
}

// WithLogger sets the logger for engine events: warnings about abandoned
// plug-in calls and failed deliveries, and debug detail. The default
// discards everything.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			c.fail("WithLogger: nil logger")
			return
		}
		c.Logger = l
	})
}

// WithWorkers bounds the number of workers of each pipeline (pulse,
// intervention, alert). Within the bounds, each pipeline is sized every
// second by queueing theory to meet the SLO (see [WithSLO]), and grows at
// once while work waits with no worker idle. Defaults: min = GOMAXPROCS,
// max = 1024.
func WithWorkers(min, max int) Option {
	return optionFunc(func(c *config) {
		if min < 1 || max < min {
			c.fail("WithWorkers(%d, %d): want 1 <= min <= max", min, max)
			return
		}
		c.MinWorkers, c.MaxWorkers = min, max
	})
}

// WithQueueCapacity bounds how many checks may wait in the pulse queue for a
// worker (default 65536). When it is full, due checks wait in the scheduler
// and run late; each such delay is counted in [Stats].QueueFull. Nothing is
// dropped.
func WithQueueCapacity(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 {
			c.fail("WithQueueCapacity(%d): want at least 1", n)
			return
		}
		c.QueueCapacity = n
	})
}

// WithNotifier sets the notifier for monitors whose Notify is nil. Without
// it, such monitors raise codes (visible in [Engine.Status]) but send no
// alerts.
func WithNotifier(n alert.Notifier) Option {
	return optionFunc(func(c *config) { c.Notifier = n })
}

// WithGrouping groups alerts as Alertmanager's group_by and group_wait
// do: alerts with the same code raised for monitors with the same value of
// label, within wait of the first, reach the notifier as one alert whose
// Group lists them (see [alert.Alert]). A group of one is sent as a plain
// alert. Grouping applies to monitors that have the label; a group goes to
// one notifier, so monitors share groups only when they share a notifier:
// the engine's (see [WithNotifier]) or the same value of their own (an
// alert.Route, say, given to many monitors). Each
// alert of a group waits up to wait longer than it would alone; alerts of
// one monitor stay in order. Groups are timers in the engine's loop, not
// goroutines. Shutdown sends open groups at once.
func WithGrouping(label string, wait time.Duration) Option {
	return optionFunc(func(c *config) {
		switch {
		case label == "":
			c.fail("WithGrouping: empty label")
		case wait <= 0 || wait > time.Hour:
			c.fail("WithGrouping(%q, %v): want a wait above 0, at most 1h", label, wait)
		default:
			c.GroupBy, c.GroupWait = label, wait
		}
	})
}

// WithShutdownTimeout sets how long [Engine.Run] gives [Engine.Shutdown] to
// finish in-flight work and deliver queued alerts (default 30s).
func WithShutdownTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.fail("WithShutdownTimeout(%v): want a positive duration", d)
			return
		}
		c.shutdownTimeout = d
	})
}

// WithNotifyTimeout sets the deadline of each Notify call (default 10s).
// Alerts have their own timeout rather than the monitor's check timeout:
// a check may be allowed 100ms, a paging service is not that quick.
func WithNotifyTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.fail("WithNotifyTimeout(%v): want a positive duration", d)
			return
		}
		c.NotifyTimeout = d
	})
}

// WithNotifyRetries sets how many times a failed Notify call is retried
// (default 3), and the first wait between tries (default 200ms), which
// doubles after each try (at most a minute) with up to 20% jitter, or is as
// long as the receiver asked in a Retry-After (at most five minutes). Only
// errors that [alert.Retryable] accepts are retried; a rejected request
// (an HTTP 400, say) is not sent again. An alert still undelivered is
// counted in [Stats].AlertsFailed, logged, and given to the
// [WithUndelivered] hook. See also [WithNotifyMaxElapsed].
func WithNotifyRetries(retries int, backoff time.Duration) Option {
	return optionFunc(func(c *config) {
		if retries < 0 || backoff <= 0 {
			c.fail("WithNotifyRetries(%d, %v): want retries >= 0 and a positive backoff", retries, backoff)
			return
		}
		c.NotifyRetries, c.NotifyBackoff = retries, backoff
	})
}

// WithCapacity tells the engine how many monitors to expect, so its name
// index and its record of monitors are sized once instead of growing. It
// is only a hint.
func WithCapacity(n int) Option {
	return optionFunc(func(c *config) {
		if n < 0 {
			c.fail("WithCapacity(%d): want at least 0", n)
			return
		}
		c.Capacity = n
	})
}

// WithSLO sets the target mean response time of each pipeline: the time a
// job (a check, a remediation, a notification) waits for a worker plus the
// time it runs (default 100ms). Every second each pipeline measures its
// arrival rate and service times over the last 10 seconds and picks the
// least worker count whose predicted response (Allen–Cunneen G/G/c) meets
// the target, plus headroom (see [WithHeadroom]). When jobs alone take
// longer than the target, the pool is sized to keep waiting under a tenth
// of the service time, and [SizingStats].Meets is false.
func WithSLO(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.fail("WithSLO(%v): want a positive duration", d)
			return
		}
		c.SLO = d
	})
}

// WithHeadroom sets the share of workers added on top of the least count
// that meets the SLO: 0.2 (the default) runs 12 workers where 10 would do.
func WithHeadroom(h float64) Option {
	return optionFunc(func(c *config) {
		if !(h >= 0 && h <= 10) {
			c.fail("WithHeadroom(%v): want a share from 0 to 10", h)
			return
		}
		c.Headroom = h
	})
}

// WithUndelivered sets a dead-letter hook: it receives every alert the
// engine gave up delivering, with the last error, so that it can be stored
// or sent another way. It is called on an alert worker, one call per
// alert; it should return quickly. Alerts of one monitor reach it in order.
func WithUndelivered(fn func(a alert.Alert, err error)) Option {
	return optionFunc(func(c *config) { c.Undelivered = fn })
}

// WithAlertHook sets a hook that sees every alert raised for a notifier,
// as it is raised: before grouping, before a backlog folds it, whatever
// its delivery becomes; an alert sent again after a retry or a restart is
// seen once per raise, with the same [alert.Alert.Key]. It is called on the
// engine's loop goroutine, so it must return at once and must not call the
// engine; recording the alert (as a status page's log of recent alerts
// does) is what it is for.
func WithAlertHook(fn func(a alert.Alert)) Option {
	return optionFunc(func(c *config) { c.Raised = fn })
}

// WithNotifyMaxElapsed bounds the time spent on one alert across all its
// tries and waits (default 10 minutes): a retry that would start later is
// not made, and the alert goes to the [WithUndelivered] hook.
func WithNotifyMaxElapsed(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.fail("WithNotifyMaxElapsed(%v): want a positive duration", d)
			return
		}
		c.NotifyMaxElapsed = d
	})
}

// WithGroupRemediationBudget limits remediation per group of monitors: at
// most share of the monitors with each value of label (0.1 is 10%, and at
// least one) get an attempt within window. It applies beside the fleet
// budget of [WithRemediationBudget], so that one team's or one zone's
// outage cannot use all of it. An attempt over it is handled as one over
// the fleet budget: not run, its monitor red with the reason (wrapping
// [ErrBudget]), counted in [Stats].RemediationsDenied.
func WithGroupRemediationBudget(label string, share float64, window time.Duration) Option {
	return optionFunc(func(c *config) {
		if label == "" || !(share > 0 && share <= 1) || window <= 0 {
			c.fail("WithGroupRemediationBudget(%q, %v, %v): want a label, a share in (0, 1] and a positive window", label, share, window)
			return
		}
		c.GroupFixLabel, c.GroupFixShare, c.GroupFixWindow = label, share, window
	})
}

// WithDryRun makes every remediation a dry run: the engine logs and reports
// what it would run (a red alert whose error wraps [ErrDryRun]) and runs
// nothing. intervene.Policy.DryRun does the same for one monitor.
func WithDryRun(on bool) Option {
	return optionFunc(func(c *config) { c.DryRun = on })
}

// WithRemediationBudget sets the fleet-wide limits on remediation, so that
// repairs cannot turn an overload into an outage: at most maxConcurrent
// attempts run at once (0: no limit), and at most share of the monitors
// (0.01 is 1%) get an attempt within window (share 0: no limit). An attempt
// over the budget is not run; its monitor is reported red with the reason
// (wrapping [ErrBudget]), counted in [Stats].RemediationsDenied, and tried
// again by a later failing check once the budget allows.
func WithRemediationBudget(maxConcurrent int, share float64, window time.Duration) Option {
	return optionFunc(func(c *config) {
		if maxConcurrent < 0 || !(share >= 0 && share <= 1) || (share > 0 && window <= 0) {
			c.fail("WithRemediationBudget(%d, %v, %v): want maxConcurrent >= 0, share in [0, 1] and a positive window with a share", maxConcurrent, share, window)
			return
		}
		c.FixConcurrent, c.FixShare, c.FixWindow = maxConcurrent, share, window
	})
}

// WithNotifyConcurrency bounds the deliveries in flight: at most
// perNotifier to one notifier (default 128) and at most total in all
// (default 4096). Monitors share a notifier when they use the engine's
// (see [WithNotifier]) or the same value of their own. Each delivery runs
// on a goroutine of its own, so a notifier that hangs holds at most
// perNotifier of them and delays only the monitors that use it; the others
// go on. Alerts waiting for their notifier's turn go red and yellow first.
func WithNotifyConcurrency(perNotifier, total int) Option {
	return optionFunc(func(c *config) {
		if perNotifier < 1 || total < perNotifier {
			c.fail("WithNotifyConcurrency(%d, %d): want 1 <= perNotifier <= total", perNotifier, total)
			return
		}
		c.NotifyConcurrency, c.NotifyMaxInFlight = perNotifier, total
	})
}

// WithAlertBacklog bounds the alerts waiting for a notifier that is behind:
// at most perMonitor per monitor (default 32) and at most memory bytes of
// them in all (default 64 MiB, about 700,000 waiting alerts). Each waiting
// alert is counted as 96 bytes, about what one takes on the heap: 77 bytes
// when it is its monitor's only one and 95 each for a red and its green
// waiting together, the common cases of a notifier that is behind; one
// waiting alone behind an alert of its monitor already sent takes 141. A
// monitor
// over its bound has its waiting alerts collapsed, keeping its latest
// state: reminders and cyans that a later one makes moot are dropped, and
// whole episodes that wait from their first alert to their green become
// one summary episode, a red (or the first alert) and a green carrying the
// first episode's Since, with [alert.Alert].Skipped counting the episodes
// folded in. Collapsed alerts are counted in [Stats].AlertsCollapsed. When
// the memory bound is reached and nothing can be collapsed, a new alert is
// handed to the [WithUndelivered] hook at once (counted in
// [Stats].AlertsFailed), never dropped silently.
func WithAlertBacklog(perMonitor int, memory int64) Option {
	return optionFunc(func(c *config) {
		if perMonitor < 4 || memory < 1<<20 {
			c.fail("WithAlertBacklog(%d, %d): want perMonitor >= 4 and memory >= 1 MiB", perMonitor, memory)
			return
		}
		c.BacklogPerMonitor, c.BacklogMemory = perMonitor, memory
	})
}
