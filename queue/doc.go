// Package queue provides bounded, generic multi-producer multi-consumer
// queues for handing work to worker pools: [Queue], a lock-free FIFO ring;
// [Priority], a ring for normal work plus a deadline-ordered heap for urgent
// work; and [Adaptive], whose capacity grows and shrinks within bounds.
//
// # Overview
//
// Every queue has non-blocking TryPut and TryGet, which return [ErrFull] or
// [ErrEmpty] at once, and blocking Put and Get, which wait until they can go
// on, the context ends or the queue is closed. A waiting goroutine is parked
// on a channel and burns no CPU; it is woken by the operation that makes
// room or adds an item. Nothing is dropped: a full queue rejects (TryPut) or
// delays (Put) the producer, and counts it in [Stats].Full.
//
// [Queue] is a bounded array ring in the style of Dmitry Vyukov's MPMC queue:
// a put or a get claims a position with one compare-and-swap and hands the
// slot over through a per-slot sequence number, so neither takes a lock and
// items are stored unboxed. Its capacity is rounded up to a power of two.
//
// # Lifecycle
//
// Close stops a queue accepting items and wakes all waiters; the items left
// can still be got, and gets return [ErrClosed] once they are gone. As with a
// channel, stop the producers before closing: a put that races with Close may
// land after the consumers have seen ErrClosed.
//
// # Statistics
//
// Stats reports the depth (Len), capacity, items enqueued and dequeued, puts
// that found the queue full, and the time items spend queued (mean and
// maximum), measured on one item in 64 so that the clock is read rarely.
// The counters of [Queue] are its ring positions and cost nothing extra.
//
// # Concurrency
//
// All methods are safe for concurrent use by any number of goroutines.
package queue
