package queue

import (
	"context"
	"errors"
	"sync"
	"time"
)

var (
	// ErrFull is returned by the non-blocking puts when there is no room.
	ErrFull = errors.New("queue: full")
	// ErrEmpty is returned by the non-blocking gets when there is no item.
	ErrEmpty = errors.New("queue: empty")
	// ErrClosed is returned by puts after Close, and by gets once the queue
	// is closed and drained.
	ErrClosed = errors.New("queue: closed")
)

// Stats is a snapshot of a queue's counters. The counters are read one by
// one while the queue runs, so they can disagree by the operations in flight.
type Stats struct {
	Len int // items queued now (the depth)
	Cap int // capacity now
	// Enqueued and Dequeued count items put and got since the queue was made.
	Enqueued, Dequeued uint64
	// Full counts puts that found the queue full: rejected non-blocking puts
	// and blocking puts that had to wait.
	Full uint64
	// Wait is the mean time an item spent queued, and MaxWait the longest,
	// measured on a sample of the items (WaitSamples of them).
	Wait, MaxWait time.Duration
	WaitSamples   uint64
	// Grows and Shrinks count capacity changes of an [Adaptive] queue; they
	// stay 0 for the fixed-size queues.
	Grows, Shrinks uint64
}

// Queue is a bounded multi-producer multi-consumer FIFO queue of T values.
// Its non-blocking operations are lock-free; its blocking ones park the
// goroutine (no spinning) until they can go on. Create it with [New]; the
// zero value is not usable.
type Queue[T any] struct {
	lane[T]
	once sync.Once
}

// New returns an empty queue that holds up to capacity items, rounded up to a
// power of two (at least 2).
func New[T any](capacity int) *Queue[T] {
	q := &Queue[T]{}
	q.init(capacity)
	return q
}

// TryPut adds v without blocking. It returns [ErrFull] when the queue has no
// room and [ErrClosed] after Close.

// Put adds v, waiting while the queue is full. It returns [ErrClosed] if the
// queue is or becomes closed before v is added, and ctx.Err() if ctx ends
// first.
func (q *Queue[T]) TryPut(v T) error { return q.tryPut(v) }

// Put adds v, waiting while the queue is full. It returns [ErrClosed] if the
// queue is or becomes closed before v is added, and ctx.Err() if ctx ends
// first.
func (q *Queue[T]) Put(ctx context.Context, v T) error { return q.put(ctx, v) }

// TryGet takes the oldest item without blocking. It returns [ErrEmpty] when
// there is none, and [ErrClosed] when the queue is closed and drained.
func (q *Queue[T]) TryGet() (T, error) {
	v, ok := q.r.get()
	if !ok {
		if !q.closed.Load() {
			return v, ErrEmpty
		}
		// Closed: look once more, an item may have landed since.
		if v, ok = q.r.get(); !ok {
			return v, ErrClosed
		}
	}
	q.notFull.signal()
	return v, nil
}

// Get takes the oldest item, waiting while the queue is empty; a waiting
// goroutine is parked and uses no CPU. It returns [ErrClosed] once the queue
// is closed and drained, and ctx.Err() if ctx ends first.
func (q *Queue[T]) Get(ctx context.Context) (T, error) {
	v, err := q.TryGet()
	if err != ErrEmpty {
		return v, err
	}
	if perr := park(ctx, &q.notEmpty, q.done, func() bool {
		v, err = q.TryGet()
		return err != ErrEmpty
	}); perr != nil {
		return v, perr
	}
	if err == nil && q.r.len() > 0 {
		q.notEmpty.signal() // pass the wake-up on: more items, maybe more waiters
	}
	return v, err
}

// Close stops the queue accepting items and wakes every waiting goroutine.
// Items already queued can still be got; gets return [ErrClosed] once they
// are gone. Close is idempotent.
//
// Close does not wait for puts in progress: a put that runs concurrently with
// Close may add its item after consumers have seen ErrClosed. Stop the
// producers before closing (as with a channel), or collect such stragglers
// with TryGet after the consumers have returned.
func (q *Queue[T]) Close() {
	q.once.Do(func() {
		q.closed.Store(true)
		close(q.done)
	})
}

// Len returns the number of items queued.
func (q *Queue[T]) Len() int { return q.r.len() }

// Cap returns the capacity.
func (q *Queue[T]) Cap() int { return len(q.r.slots) }

// Stats returns the queue's counters.
func (q *Queue[T]) Stats() Stats { return q.r.stats(q.full.Load()) }

func (r *ring[T]) stats(full uint64) Stats {
	s := Stats{
		Len:         r.len(),
		Cap:         len(r.slots),
		Dequeued:    r.head.Load(),
		Enqueued:    r.tail.Load(),
		Full:        full,
		WaitSamples: r.waitN.Load(),
		MaxWait:     time.Duration(r.waitMax.Load()),
	}
	if s.WaitSamples > 0 {
		s.Wait = time.Duration(r.waitSum.Load() / int64(s.WaitSamples))
	}
	return s
}
