package alerts

import (
	"unsafe"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
)

// item is one unit of work waiting in a sink's queue. Most often it is a
// monitor's alert itself, kept here in 56 bytes until it is sent: the
// monitor's only alert on the way, with no lane, or the head of its lane.
// Otherwise it stands for a collapsed lane, whose head is next, or for a
// formed group, and only v is set.
type item struct {
	// v is the alert's error (nil for none), or the *lane or *group the
	// item stands for. No error can have those types: they are this
	// package's own and are not errors.
	v     any
	start int64 // as in Pending
	at    int64
	en    ecs.Entity
	sink  uint32 // its sink's index in Path.sinkList
	rep   uint16
	att   uint16
	fails uint16
	skip  uint16
	seq   uint16
	code  uint8 // alert.Code, with endsBit when it ends its episode
	flap  alert.Flap
}

// endsBit marks, in item.code, an alert that ends its episode.
const endsBit = 0x80

// itemSize is what an item takes in a chunk.
const itemSize = unsafe.Sizeof(item{})

// newItem is the item of a monitor's alert waiting alone in sink s.
func newItem(en ecs.Entity, s *sink, a *Pending) item {
	it := item{
		start: a.Start, at: a.At, en: en, sink: s.idx,
		rep: a.Repeat, att: a.Attempt, fails: a.Fails, skip: a.Skipped, seq: a.Seq,
		code: uint8(a.Code), flap: a.Flap,
	}
	if a.Err != nil {
		it.v = a.Err
	}
	if a.Ends {
		it.code |= endsBit
	}
	return it
}

// pending is the alert an item of a monitor's alert holds.
func (it *item) pending() Pending {
	err, _ := it.v.(error)
	return Pending{
		Err: err, Start: it.start, At: it.at,
		Code: alert.Code(it.code &^ endsBit), Flap: it.flap,
		Repeat: it.rep, Attempt: it.att, Fails: it.fails, Skipped: it.skip, Seq: it.seq,
		Ends: it.code&endsBit != 0,
	}
}

// maxChunk is the most items a chunk holds: 8 KiB of them, one size
// class of the allocator with nothing lost to rounding.
const maxChunk = int(8192 / itemSize)

// chunk is a piece of a fifo. Items do not move while they wait, so
// Path.single can point at them.
type chunk struct {
	next  *chunk
	items []item
}

// fifo is a sink's queue of items: a list of chunks, each as large as the
// queue was when it was added (up to maxChunk), so that a queue of one
// item costs one item and a long one wastes little.
type fifo struct {
	head, tail *chunk
	r, w       int // next item to take in head, next free place in tail
	n          int
}

func (f *fifo) len() int { return f.n }

// push adds an item and returns where it waits.
func (f *fifo) push(it item) *item {
	if f.tail == nil || f.w == len(f.tail.items) {
		c := &chunk{items: make([]item, min(max(f.n, 1), maxChunk))}
		if f.tail == nil {
			f.head, f.r = c, 0
		} else {
			f.tail.next = c
		}
		f.tail, f.w = c, 0
	}
	p := &f.tail.items[f.w]
	*p = it
	f.w++
	f.n++
	return p
}

// pop takes the oldest item; the fifo must not be empty. Its place
// keeps all but its references until it is used again, so that Path.single
// can still find it by its monitor.
func (f *fifo) pop() item {
	p := &f.head.items[f.r]
	it := *p
	p.v = nil
	f.r++
	f.n--
	switch {
	case f.n == 0:
		f.r, f.w = 0, 0 // head is tail: kept for the next items
	case f.r == len(f.head.items):
		f.head, f.r = f.head.next, 0
	}
	return it
}
