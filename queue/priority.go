package queue

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// urgentItem is an entry of the deadline heap.
type urgentItem[T any] struct {
	deadline int64  // UnixNano
	seq      uint64 // insertion order, to keep equal deadlines FIFO
	at       int64  // enqueue time on the ring's clock
	val      T
}

// Priority is a bounded queue with two lanes: a lock-free FIFO ring for
// normal work and a min-heap ordered by deadline for urgent work (re-checks
// during an incident, verifications, red alerts). Gets serve urgent items
// first, earliest deadline first (equal deadlines in arrival order), and
// normal items only when no urgent one is waiting. Each lane has its own
// capacity. Create it with [NewPriority].
type Priority[T any] struct {
	lane[T]              // the normal lane; its notEmpty also wakes for urgent work
	nUrgent atomic.Int64 // len(heap), readable without the lock

	mu       sync.Mutex
	heap     []urgentItem[T]
	urgCap   int
	seq      uint64
	uIn      uint64
	uOut     uint64
	uFull    uint64
	uWaitSum int64
	uWaitMax int64

	urgentRoom waiters // urgent lane
	once       sync.Once
}

// NewPriority returns an empty Priority queue whose normal lane holds up to
// capacity items (rounded up to a power of two, at least 2) and whose urgent
// lane holds up to urgentCapacity items (at least 1).
func NewPriority[T any](capacity, urgentCapacity int) *Priority[T] {
	p := &Priority[T]{urgCap: max(urgentCapacity, 1), urgentRoom: newWaiters()}
	p.init(capacity)
	p.heap = make([]urgentItem[T], 0, p.urgCap)
	return p
}

// TryPut adds v to the normal lane without blocking; see [Queue.TryPut].
func (p *Priority[T]) TryPut(v T) error { return p.tryPut(v) }

// Put adds v to the normal lane, waiting while it is full; see [Queue.Put].
func (p *Priority[T]) Put(ctx context.Context, v T) error { return p.put(ctx, v) }

// TryPutUrgent adds v to the urgent lane, ordered by deadline, without
// blocking. It returns [ErrFull] when the urgent lane has no room and
// [ErrClosed] after Close.
func (p *Priority[T]) TryPutUrgent(v T, deadline time.Time) error {
	if p.closed.Load() {
		return ErrClosed
	}
	err := p.pushUrgent(v, deadline, true)
	if err == nil {
		p.notEmpty.signal()
	}
	return err
}

// PutUrgent adds v to the urgent lane, waiting while it is full. It returns
// [ErrClosed] if the queue is or becomes closed first, and ctx.Err() if ctx
// ends first.
func (p *Priority[T]) PutUrgent(ctx context.Context, v T, deadline time.Time) error {
	err := p.TryPutUrgent(v, deadline)
	if err != ErrFull {
		return err
	}
	if perr := park(ctx, &p.urgentRoom, p.done, func() bool {
		if p.closed.Load() {
			err = ErrClosed
			return true
		}
		err = p.pushUrgent(v, deadline, false)
		return err == nil
	}); perr != nil {
		return perr
	}
	if err == nil {
		p.notEmpty.signal()
		if p.UrgentLen() < p.urgCap {
			p.urgentRoom.signal()
		}
	}
	return err
}

// pushUrgent adds to the heap unless it is full; count says whether a full
// heap is counted in the stats (once per put, not per retry).
func (p *Priority[T]) pushUrgent(v T, deadline time.Time, count bool) error {
	now := p.r.now()
	p.mu.Lock()
	if len(p.heap) >= p.urgCap {
		if count {
			p.uFull++
		}
		p.mu.Unlock()
		return ErrFull
	}
	p.seq++
	p.heap = append(p.heap, urgentItem[T]{deadline: deadline.UnixNano(), seq: p.seq, at: now, val: v})
	p.up(len(p.heap) - 1)
	p.uIn++
	p.nUrgent.Store(int64(len(p.heap)))
	p.mu.Unlock()
	return nil
}

func (p *Priority[T]) popUrgent() (T, bool) {
	var zero T
	p.mu.Lock()
	n := len(p.heap)
	if n == 0 {
		p.mu.Unlock()
		return zero, false
	}
	it := p.heap[0]
	p.heap[0] = p.heap[n-1]
	p.heap[n-1] = urgentItem[T]{}
	p.heap = p.heap[:n-1]
	if n > 1 {
		p.down(0)
	}
	p.uOut++
	p.nUrgent.Store(int64(n - 1))
	w := p.r.now() - it.at
	p.uWaitSum += w
	p.uWaitMax = max(p.uWaitMax, w)
	p.mu.Unlock()
	return it.val, true
}

func (p *Priority[T]) less(i, j int) bool {
	a, b := &p.heap[i], &p.heap[j]
	return a.deadline < b.deadline || a.deadline == b.deadline && a.seq < b.seq
}

func (p *Priority[T]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !p.less(i, parent) {
			return
		}
		p.heap[i], p.heap[parent] = p.heap[parent], p.heap[i]
		i = parent
	}
}

func (p *Priority[T]) down(i int) {
	n := len(p.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && p.less(r, l) {
			m = r
		}
		if !p.less(m, i) {
			return
		}
		p.heap[i], p.heap[m] = p.heap[m], p.heap[i]
		i = m
	}
}

// TryGet takes the most urgent item without blocking: the urgent item with
// the earliest deadline, else the oldest normal item. It returns [ErrEmpty]
// when there is none, and [ErrClosed] when the queue is closed and drained.
func (p *Priority[T]) TryGet() (T, error) {
	if p.nUrgent.Load() > 0 {
		if v, ok := p.popUrgent(); ok {
			p.urgentRoom.signal()
			return v, nil
		}
	}
	v, ok := p.r.get()
	if !ok {
		if !p.closed.Load() {
			return v, ErrEmpty
		}
		if p.nUrgent.Load() > 0 { // closed: look once more at both lanes
			if v, ok = p.popUrgent(); ok {
				p.urgentRoom.signal()
				return v, nil
			}
		}
		if v, ok = p.r.get(); !ok {
			return v, ErrClosed
		}
	}
	p.notFull.signal()
	return v, nil
}

// Get takes the most urgent item, waiting (parked) while there is none; see
// [Priority.TryGet] and [Queue.Get].
func (p *Priority[T]) Get(ctx context.Context) (T, error) {
	v, err := p.TryGet()
	if err != ErrEmpty {
		return v, err
	}
	if perr := park(ctx, &p.notEmpty, p.done, func() bool {
		v, err = p.TryGet()
		return err != ErrEmpty
	}); perr != nil {
		return v, perr
	}
	if err == nil && p.Len() > 0 {
		p.notEmpty.signal()
	}
	return v, err
}

// Close stops the queue accepting items and wakes every waiting goroutine;
// see [Queue.Close].
func (p *Priority[T]) Close() {
	p.once.Do(func() {
		p.closed.Store(true)
		close(p.done)
	})
}

// Len returns the number of items queued in both lanes.
func (p *Priority[T]) Len() int { return p.r.len() + int(p.nUrgent.Load()) }

// UrgentLen returns the number of items in the urgent lane.
func (p *Priority[T]) UrgentLen() int { return int(p.nUrgent.Load()) }

// Cap returns the capacity of the normal lane.
func (p *Priority[T]) Cap() int { return len(p.r.slots) }

// UrgentCap returns the capacity of the urgent lane.
func (p *Priority[T]) UrgentCap() int { return p.urgCap }

// Stats returns the counters of the normal and of the urgent lane. Urgent
// wait times are measured on every item.
func (p *Priority[T]) Stats() (normal, urgent Stats) {
	normal = p.r.stats(p.full.Load())
	p.mu.Lock()
	urgent = Stats{
		Len:         len(p.heap),
		Cap:         p.urgCap,
		Enqueued:    p.uIn,
		Dequeued:    p.uOut,
		Full:        p.uFull,
		WaitSamples: p.uOut,
		MaxWait:     time.Duration(p.uWaitMax),
	}
	if p.uOut > 0 {
		urgent.Wait = time.Duration(p.uWaitSum / int64(p.uOut))
	}
	p.mu.Unlock()
	return normal, urgent
}
