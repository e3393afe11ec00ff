package pulse

import (
	"context"
	"fmt"
	"time"
)

// Retry returns a Checker that calls c up to attempts times, waiting wait
// between calls, and passes as soon as one call passes. It suits targets
// that drop the odd request, where a single lost packet should not count as
// a failed check. All attempts share the one context, so its deadline
// bounds them together; the error of the last attempt is returned, with the
// number of attempts made.
//
// attempts below 1 count as 1.
func Retry(c Checker, attempts int, wait time.Duration) Checker {
	attempts = max(attempts, 1)
	return CheckerFunc(func(ctx context.Context) error {
		var err error
		for i := 1; ; i++ {
			if err = c.Check(ctx); err == nil {
				return nil
			}
			if i == attempts || ctx.Err() != nil {
				if i == 1 {
					return err
				}
				return fmt.Errorf("%d attempts, last: %w", i, err)
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%d attempts, last: %w", i, err)
			case <-t.C:
			}
		}
	})
}
