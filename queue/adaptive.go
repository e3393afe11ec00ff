package queue

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

type entry[T any] struct {
	val T
	at  int64 // 1 + enqueue time for sampled items, else 0
}

// Adaptive is a bounded multi-producer multi-consumer FIFO queue whose
// capacity follows its load within [min, max]: it doubles when a put finds it
// full, and halves once gets have left it at most a quarter full capacity/2
// times in a row. The factor of two between the grow and the shrink
// threshold keeps it from resizing back and forth around one size, the run of
// low gets keeps a queue that fills and drains in bursts from shrinking
// between them, and both make resizing cost O(1) per item amortised.
// Memory held is proportional to the current capacity, so a queue sized for
// bursts gives its memory back when they pass.
//
// Operations take a mutex (a short critical section); blocking ones park like
// [Queue]'s. Create it with [NewAdaptive].
type Adaptive[T any] struct {
	mu       sync.Mutex
	buf      []entry[T] // len(buf) is the current capacity
	head, n  int
	min, max int
	in, out  uint64
	full     uint64
	grows    uint64
	shrinks  uint64
	low      int // consecutive gets that left the queue at most a quarter full
	waitSum  int64
	waitMax  int64
	waitN    uint64
	epoch    time.Time

	closed   atomic.Bool
	notEmpty waiters
	notFull  waiters
	done     chan struct{}
	once     sync.Once
}

// NewAdaptive returns an empty Adaptive queue with capacity lo that may grow
// up to hi. lo is raised to 1, and hi to lo, when smaller.
func NewAdaptive[T any](lo, hi int) *Adaptive[T] {
	lo = max(lo, 1)
	hi = max(hi, lo)
	return &Adaptive[T]{
		buf:      make([]entry[T], lo),
		min:      lo,
		max:      hi,
		epoch:    time.Now(),
		notEmpty: newWaiters(),
		notFull:  newWaiters(),
		done:     make(chan struct{}),
	}
}

// resize moves the items to a buffer of the given capacity (≥ n). Called
// with mu held.
func (q *Adaptive[T]) resize(capacity int) {
	buf := make([]entry[T], capacity)
	k := copy(buf, q.buf[q.head:min(q.head+q.n, len(q.buf))])
	copy(buf[k:q.n], q.buf[:q.n-k])
	q.buf, q.head = buf, 0
}

// tryPut adds v unless the queue is full at its maximum; count says whether
// that is counted in the stats (once per put, not per retry).
func (q *Adaptive[T]) tryPut(v T, count bool) error {
	q.mu.Lock()
	if q.n == len(q.buf) {
		if len(q.buf) == q.max {
			if count {
				q.full++
			}
			q.mu.Unlock()
			return ErrFull
		}
		q.resize(min(2*len(q.buf), q.max))
		q.grows++
	}
	e := entry[T]{val: v}
	if q.in&sampleMask == 0 {
		e.at = 1 + int64(time.Since(q.epoch))
	}
	i := q.head + q.n
	if i >= len(q.buf) {
		i -= len(q.buf)
	}
	q.buf[i] = e
	q.n++
	q.in++
	q.mu.Unlock()
	return nil
}

// TryPut adds v without blocking, growing the queue when it is full and below
// its maximum. It returns [ErrFull] when the queue is full at its maximum
// capacity and [ErrClosed] after Close.
func (q *Adaptive[T]) TryPut(v T) error {
	if q.closed.Load() {
		return ErrClosed
	}
	if err := q.tryPut(v, true); err != nil {
		return err
	}
	q.notEmpty.signal()
	return nil
}

// Put adds v, waiting while the queue is full at its maximum capacity; see
// [Queue.Put].
func (q *Adaptive[T]) Put(ctx context.Context, v T) error {
	err := q.TryPut(v)
	if err != ErrFull {
		return err
	}
	if perr := park(ctx, &q.notFull, q.done, func() bool {
		if q.closed.Load() {
			err = ErrClosed
			return true
		}
		err = q.tryPut(v, false)
		return err == nil
	}); perr != nil {
		return perr
	}
	if err == nil {
		q.notEmpty.signal()
		if q.Len() < q.max {
			q.notFull.signal()
		}
	}
	return err
}

func (q *Adaptive[T]) tryGet() (T, bool) {
	var zero T
	q.mu.Lock()
	if q.n == 0 {
		q.maybeShrink()
		q.mu.Unlock()
		return zero, false
	}
	e := q.buf[q.head]
	q.buf[q.head] = entry[T]{}
	q.head++
	if q.head == len(q.buf) {
		q.head = 0
	}
	q.n--
	q.out++
	if e.at != 0 {
		w := int64(time.Since(q.epoch)) - (e.at - 1)
		q.waitSum += w
		q.waitN++
		q.waitMax = max(q.waitMax, w)
	}
	q.maybeShrink()
	q.mu.Unlock()
	return e.val, true
}

// maybeShrink halves the capacity after capacity/2 gets in a row (empty ones
// included) that left the queue at most a quarter full. Called with mu held.
func (q *Adaptive[T]) maybeShrink() {
	c := len(q.buf)
	if c <= q.min || q.n > c/4 {
		q.low = 0
		return
	}
	if q.low++; q.low >= c/2 {
		q.resize(max(c/2, q.min))
		q.shrinks++
		q.low = 0
	}
}

// TryGet takes the oldest item without blocking, shrinking the queue when it
// is left at most a quarter full; see [Queue.TryGet].
func (q *Adaptive[T]) TryGet() (T, error) {
	v, ok := q.tryGet()
	if !ok {
		if !q.closed.Load() {
			return v, ErrEmpty
		}
		if v, ok = q.tryGet(); !ok {
			return v, ErrClosed
		}
	}
	q.notFull.signal()
	return v, nil
}

// Get takes the oldest item, waiting (parked) while the queue is empty; see
// [Queue.Get].
func (q *Adaptive[T]) Get(ctx context.Context) (T, error) {
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
	if err == nil && q.Len() > 0 {
		q.notEmpty.signal()
	}
	return v, err
}

// Close stops the queue accepting items and wakes every waiting goroutine;
// see [Queue.Close].
func (q *Adaptive[T]) Close() {
	q.once.Do(func() {
		q.closed.Store(true)
		close(q.done)
	})
}

// Len returns the number of items queued.
func (q *Adaptive[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Cap returns the current capacity, in [min, max].
func (q *Adaptive[T]) Cap() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.buf)
}

// Stats returns the queue's counters, including Grows and Shrinks.
func (q *Adaptive[T]) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := Stats{
		Len: q.n, Cap: len(q.buf),
		Enqueued: q.in, Dequeued: q.out, Full: q.full,
		WaitSamples: q.waitN, MaxWait: time.Duration(q.waitMax),
		Grows: q.grows, Shrinks: q.shrinks,
	}
	if q.waitN > 0 {
		s.Wait = time.Duration(q.waitSum / int64(q.waitN))
	}
	return s
}
