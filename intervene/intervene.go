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
//   - Remediate is called from the engine's intervention workers, one
//     attempt at a time per monitor (but see abandoned calls below);
//     different monitors' incidents are repaired in parallel, so a
//     Remediator shared between monitors must be safe for concurrent use.
//   - Remediate must honour ctx, which carries the monitor's Timeout.
//   - The engine does not wait for a call that overruns its deadline: a
//     moment after it, the engine counts the attempt as failed with a
//     timeout error, counts the call as abandoned in its Stats and stops
//     waiting, but the call's goroutine runs on until Remediate returns. The
//     next attempt for the same monitor may then start while the abandoned
//     call still runs: a Remediator must tolerate that, or honour ctx so
//     that it never happens.
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

// Policy bounds how the engine repairs one monitor. The zero value is the
// safe default: one attempt per incident, a backoff from the monitor's
// interval doubling to an hour, verification by the monitor's success
// threshold, no cooldown and no rate limit.
type Policy struct {
	// MaxAttempts is the number of attempts per incident before the monitor
	// is reported red (0: the monitor's MaxRemediations, whose default is 1).
	MaxAttempts int
	// Backoff is the wait after a failed attempt before the next one (0: the
	// monitor's interval). It doubles after each failed attempt, up to
	// MaxBackoff (0: one hour), with up to Jitter (a share, 0 to 1) added at
	// random so a fleet does not retry in lockstep.
	Backoff    time.Duration
	MaxBackoff time.Duration
	Jitter     float64
	// Verify is the number of checks that must pass after a successful
	// attempt before the monitor is green (0: the monitor's
	// SuccessThreshold). A failed verification counts as a failed attempt.
	Verify int
	// Cooldown is the time after an attempt starts during which no new
	// attempt on the same monitor starts, across incidents (0: none).
	Cooldown time.Duration
	// Limit and Window cap attempts on the monitor: at most Limit attempts
	// start within any Window (0: no cap). Beyond it the engine stops
	// repairing, reports red with the reason ("remediation limit: 3 in
	// 10m0s") and resumes once the window allows.
	Limit  int
	Window time.Duration
	// DryRun logs and reports what would run and runs nothing: the monitor
	// is reported red with an error saying the remediation was not run.
	DryRun bool
	// Timeout bounds each attempt (0: the monitor's Timeout). A restart
	// that takes 30 seconds needs no 30-second health-check timeout.
	Timeout time.Duration
}
