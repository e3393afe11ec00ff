package queue

import (
	"context"
	"sync/atomic"
)

// waiters parks goroutines that wait for a condition (an item to get, room to
// put) without spinning. A waiter registers, re-checks the condition, and
// only then blocks on the channel; a goroutine that makes the condition true
// calls signal after doing so. Sequentially consistent atomics guarantee that
// either the waiter's re-check sees the change or signal sees the waiter, so
// no wake-up is lost. Tokens do not queue up: one buffered token wakes one
// waiter, which passes the wake-up on when it finds more work (see passOn in
// the queues), so a burst still wakes as many waiters as it needs.
type waiters struct {
	n  atomic.Int32
	ch chan struct{}
}

func newWaiters() waiters { return waiters{ch: make(chan struct{}, 1)} }

// signal wakes one parked waiter, if any. Its fast path is one atomic load of
// a word that only changes when someone parks.
func (w *waiters) signal() {
	if w.n.Load() > 0 {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

// park blocks until try reports that it finished, or ctx ends. try must
// finish once closed is closed (typically with ErrClosed), or park would
// loop.
func park(ctx context.Context, w *waiters, closed <-chan struct{}, try func() bool) error {
	for {
		w.n.Add(1)
		if try() {
			w.n.Add(-1)
			return nil
		}
		select {
		case <-w.ch:
		case <-closed:
		case <-ctx.Done():
			w.n.Add(-1)
			return ctx.Err()
		}
		w.n.Add(-1)
	}
}
