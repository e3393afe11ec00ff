package pulse

import "context"

// Checker performs one health check of one target.
//
// Contract:
//   - Check is called from the engine's worker goroutines. A Checker shared
//     between monitors runs concurrently with itself and must be safe for
//     concurrent use.
//   - Check must honour ctx: it carries the monitor's Timeout as a deadline and
//     is cancelled when the engine shuts down.
//   - The engine does not wait for a Check that overruns its deadline: a
//     moment after it, the engine reports a timeout failure, counts the call
//     as abandoned in Stats and stops waiting, but the call's goroutine runs
//     on until Check returns. Meanwhile the monitor is checked again on
//     schedule, so a Checker may be called for the same monitor while an
//     abandoned call still runs: it must tolerate that, or honour ctx so
//     that it never happens.
//   - ctx is valid only until Check returns; do not keep it for later use.
//   - A nil error means healthy; any error means the check failed, and its
//     text is what users see in alerts, so make it say what went wrong.
//   - A panic inside Check is recovered and reported as a failure carrying
//     the panic value and stack.
type Checker interface {
	Check(ctx context.Context) error
}

// CheckerFunc adapts an ordinary function to the [Checker] interface.
type CheckerFunc func(ctx context.Context) error

// Check calls f(ctx).
func (f CheckerFunc) Check(ctx context.Context) error { return f(ctx) }

var _ Checker = CheckerFunc(nil)
