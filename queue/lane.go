package queue

import (
	"context"
	"sync/atomic"
)

// lane is a bounded ring with its closed flag, its full counter and the
// waiter lists of the producers (notFull) and consumers (notEmpty) parked
// on it. Queue is one lane; Priority is a lane plus an urgent heap whose
// consumers park on the same notEmpty.
type lane[T any] struct {
	r        ring[T]
	closed   atomic.Bool
	full     atomic.Uint64
	notEmpty waiters
	notFull  waiters
	done     chan struct{}
}

func (l *lane[T]) init(capacity int) {
	l.notEmpty, l.notFull, l.done = newWaiters(), newWaiters(), make(chan struct{})
	l.r.init(capacity)
}

// tryPut adds v without blocking: ErrFull when there is no room, ErrClosed
// after Close.
func (l *lane[T]) tryPut(v T) error {
	if l.closed.Load() {
		return ErrClosed
	}
	if !l.r.put(v) {
		l.full.Add(1)
		return ErrFull
	}
	l.notEmpty.signal()
	return nil
}

// put adds v, parking while the lane is full: ErrClosed if the lane is or
// becomes closed first, ctx.Err() if ctx ends first.
func (l *lane[T]) put(ctx context.Context, v T) error {
	err := l.tryPut(v)
	if err != ErrFull {
		return err
	}
	// The failed TryPut has counted this put as full once.
	if perr := park(ctx, &l.notFull, l.done, func() bool {
		if l.closed.Load() {
			err = ErrClosed
			return true
		}
		if l.r.put(v) {
			err = nil
			return true
		}
		return false
	}); perr != nil {
		return perr
	}
	if err == nil {
		l.notEmpty.signal()
		if l.r.len() < len(l.r.slots) {
			l.notFull.signal() // pass the wake-up on: room for more waiters
		}
	}
	return err
}
