package cpra

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/ziad/cpra/alert"
)

// Option configures an [Engine]. Options are applied in order by [New]; a
// later option overrides an earlier one of the same kind.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	logger          *slog.Logger
	minWorkers      int
	maxWorkers      int
	queueCapacity   int
	notifier        alert.Notifier
	shutdownTimeout time.Duration
	notifyTimeout   time.Duration
	notifyRetries   int
	notifyBackoff   time.Duration
	capacity        int
	err             error
}

func defaultConfig() config {
	return config{
		logger:          slog.New(slog.DiscardHandler),
		minWorkers:      runtime.GOMAXPROCS(0),
		maxWorkers:      1024,
		queueCapacity:   1 << 16,
		shutdownTimeout: 30 * time.Second,
		notifyTimeout:   10 * time.Second,
		notifyRetries:   3,
		notifyBackoff:   200 * time.Millisecond,
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
		c.logger = l
	})
}

// WithWorkers bounds the number of workers of each pipeline (pulse,
// intervention, alert). A pipeline starts min workers and adds more, up to
// max, while work waits in its queue with no worker idle; workers above min
// leave after a period without work. Defaults: min = GOMAXPROCS, max = 1024.
func WithWorkers(min, max int) Option {
	return optionFunc(func(c *config) {
		if min < 1 || max < min {
			c.fail("WithWorkers(%d, %d): want 1 <= min <= max", min, max)
			return
		}
		c.minWorkers, c.maxWorkers = min, max
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
		c.queueCapacity = n
	})
}

// WithNotifier sets the notifier for monitors whose Notify is nil. Without
// it, such monitors raise codes (visible in [Engine.Status]) but send no
// alerts.
func WithNotifier(n alert.Notifier) Option {
	return optionFunc(func(c *config) { c.notifier = n })
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
		c.notifyTimeout = d
	})
}

// WithNotifyRetries sets how many times a failed Notify call is retried
// (default 3), and the first wait between tries (default 200ms), which
// doubles after each try with up to 20% jitter. An alert still undelivered
// after the last try is counted in [Stats].AlertsFailed and logged.
func WithNotifyRetries(retries int, backoff time.Duration) Option {
	return optionFunc(func(c *config) {
		if retries < 0 || backoff <= 0 {
			c.fail("WithNotifyRetries(%d, %v): want retries >= 0 and a positive backoff", retries, backoff)
			return
		}
		c.notifyRetries, c.notifyBackoff = retries, backoff
	})
}

// WithCapacity tells the engine how many monitors to expect, so its name
// index is sized once instead of growing. It is only a hint.
func WithCapacity(n int) Option {
	return optionFunc(func(c *config) {
		if n < 0 {
			c.fail("WithCapacity(%d): want at least 0", n)
			return
		}
		c.capacity = n
	})
}
