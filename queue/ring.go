package queue

import (
	"sync/atomic"
	"time"
)

// sampleMask selects the positions whose time in the queue is measured: one
// item in 64, so that reading the clock costs well under a nanosecond per item
// on average.
const sampleMask = 63

// slot is one cell of a ring. seq says whose turn the slot is: seq == pos
// means free for the producer of position pos, seq == pos+1 means it holds
// the item of position pos for its consumer.
type slot[T any] struct {
	seq atomic.Uint64
	at  int64 // enqueue time, for sampled positions only
	val T
}

// ring is a bounded multi-producer multi-consumer array queue after Dmitry
// Vyukov's design: producers and consumers each claim a position with one
// compare-and-swap on their own counter, then hand the slot over through its
// sequence number. It never blocks; callers park elsewhere.
type ring[T any] struct {
	_     [64]byte
	tail  atomic.Uint64 // next position to put
	_     [56]byte
	head  atomic.Uint64 // next position to get
	_     [56]byte
	mask  uint64
	slots []slot[T]
	epoch time.Time

	waitSum atomic.Int64 // ns, over sampled items
	waitN   atomic.Uint64
	waitMax atomic.Int64
}

// ringSize rounds n up to a power of two, at least 2.
func ringSize(n int) int {
	size := 2
	for size < n {
		size <<= 1
	}
	return size
}

func (r *ring[T]) init(capacity int) {
	size := ringSize(capacity)
	r.slots = make([]slot[T], size)
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	r.mask = uint64(size - 1)
	r.epoch = time.Now()
}

func (r *ring[T]) now() int64 { return int64(time.Since(r.epoch)) }

// put adds v unless the ring is full. A put racing with another for the same
// position retries; it reports full only when the slot of its position still
// holds an item from the previous lap.
func (r *ring[T]) put(v T) bool {
	pos := r.tail.Load()
	for {
		s := &r.slots[pos&r.mask]
		switch dif := int64(s.seq.Load() - pos); {
		case dif == 0:
			if r.tail.CompareAndSwap(pos, pos+1) {
				if pos&sampleMask == 0 {
					s.at = r.now()
				}
				s.val = v
				s.seq.Store(pos + 1)
				return true
			}
		case dif < 0:
			return false
		}
		pos = r.tail.Load()
	}
}

// get takes the oldest item unless the ring is empty, or its oldest position
// has been claimed by a producer that has not yet stored the item.
func (r *ring[T]) get() (T, bool) {
	pos := r.head.Load()
	for {
		s := &r.slots[pos&r.mask]
		switch dif := int64(s.seq.Load() - (pos + 1)); {
		case dif == 0:
			if r.head.CompareAndSwap(pos, pos+1) {
				v := s.val
				var zero T
				s.val = zero
				if pos&sampleMask == 0 {
					r.sample(r.now() - s.at)
				}
				s.seq.Store(pos + r.mask + 1)
				return v, true
			}
		case dif < 0:
			var zero T
			return zero, false
		}
		pos = r.head.Load()
	}
}

func (r *ring[T]) sample(w int64) {
	r.waitSum.Add(w)
	r.waitN.Add(1)
	for m := r.waitMax.Load(); w > m && !r.waitMax.CompareAndSwap(m, w); m = r.waitMax.Load() {
	}
}

// len is the number of claimed positions not yet taken, clamped to the
// capacity (the two counters are read at different instants).
func (r *ring[T]) len() int {
	head := r.head.Load()
	n := int64(r.tail.Load() - head)
	return int(max(0, min(n, int64(len(r.slots)))))
}
