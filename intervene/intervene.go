package intervene

import (
	"context"
	"time"
)

// Incident describes the outage a [Remediator] is asked to repair.
type Incident struct {
	// Monitor is the name of the monitor that is down.
	Monitor string
	// Attempt counts remediation attempts in this incident, starting at 1.
	Attempt int
	// Err is the error of the check that failed most recently.
	Err error
	// Since is when the episode began: the first failed check.
	Since time.Time
	// Failures is the number of consecutive failed checks so far.
	Failures int
	// Labels are the monitor's labels. Treat the map as read-only.
	Labels map[string]string
}

// Remediator tries to repair the target of a monitor that is down.
//
// Contract:
//   - Remediate is called from the engine's intervention workers, never
//     twice at once for the same monitor; different monitors' incidents are
//     repaired in parallel, so a Remediator shared between monitors must be
//     safe for concurrent use.
//   - Remediate must honour ctx, which carries the monitor's Timeout. A call
//     that ignores ctx is abandoned at its deadline and counted as failed.
//   - A nil error means the repair action was carried out; the engine then
//     verifies it with fresh checks before it reports the monitor green.
//   - Remediate may be called again for the same incident (next attempt), so
//     it should be safe to repeat.
//   - A panic inside Remediate is recovered and counted as a failed attempt.
type Remediator interface {
	Remediate(ctx context.Context, inc Incident) error
}

// RemediatorFunc adapts an ordinary function to the [Remediator] interface.
type RemediatorFunc func(ctx context.Context, inc Incident) error

// Remediate calls f(ctx, inc).
func (f RemediatorFunc) Remediate(ctx context.Context, inc Incident) error { return f(ctx, inc) }

var _ Remediator = RemediatorFunc(nil)
