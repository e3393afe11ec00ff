package pulse

import "context"

// Checker performs one health check of one target.
//
// Contract:
//   - Check is called from the engine's worker goroutines; one Checker value
//     may run concurrently with itself only if it is shared between monitors,
//     so a Checker shared that way must be safe for concurrent use.
//   - Check must honour ctx: it carries the monitor's Timeout as a deadline and
//     is cancelled when the engine shuts down. A Check that ignores ctx is
//     reported as a timeout failure once its deadline passes, and the engine
//     moves on without it (the abandoned call is counted in Stats).
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
