package ecs

import (
	"math/bits"

	"github.com/ziad/cpra/internal/offheap"
)

// The wheel has three levels of 8192 slots. A level-0 slot is one tick, a
// level-1 slot one page (4096 ticks, about 4 s), a level-2 slot one superpage
// (4096 pages, about 4.7 h). Each level covers two units of the level above
// it: the current one and the next. While the current unit passes, the next
// unit's slot one level up is moved down ("cascaded") a little at every tick,
// so no tick pays for a whole slot at once.
const (
	pageBits     = 12
	pageTicks    = 1 << pageBits
	superBits    = 2 * pageBits
	superTicks   = 1 << superBits
	levelSlots   = 2 << pageBits
	slotMask     = levelSlots - 1
	chunkLen     = 30 // a chunk is 128 bytes
	smallCascade = 1024
	// MaxHorizon is how far ahead of now an entry may be due.
	MaxHorizon = int64(pageTicks) * superTicks
	// cascadeWake bounds how long the wheel sleeps while a large cascade is
	// unfinished.
	cascadeWake = 16
)

// A chunk holds entries of one slot, and names the slot's next chunk by
// its number. Chunks are kept in blocks of blockChunks, arrays of plain
// values mapped outside the Go heap, so that the collector's doubling does
// not reach them: chunk i is entry i%blockChunks of block i/blockChunks.
// Number 0 is none; block 0's first chunk is never used.
type chunk struct {
	next uint32
	n    int32
	e    [chunkLen]uint32 // entity IDs
}

const blockChunks = 1024 // 128 KiB

type cascade struct {
	unit  int64 // the page (level 1) or superpage (level 2) being moved down
	total int
	moved int
}

// Wheel is a hierarchical timing wheel of entities keyed by due tick.
//
// It stores no due times: when an entry has to move down a level, the wheel
// asks the due function, which reads the entity's [Schedule]. An entry is
// the entity's 4-byte ID; the store's record of generations turns it back
// into the entity. Entries are never removed; an entry whose entity is
// gone is dropped when reached, and one whose due time moved is re-filed,
// so the caller checks each popped entity's due time. An entry left by a
// removed entity whose ID went to a new one stands for the new one: one
// more entry, stale unless it is due.
type Wheel struct {
	now    int64                   // every tick before now has been popped
	lv     [3][levelSlots]uint32   // each slot's first chunk
	bits   [levelSlots / 64]uint64 // non-empty level-0 slots
	c1     cascade
	c2     cascade
	free   uint32                 // the first of the chunks not in use
	blocks []offheap.Array[chunk] // every chunk made
	made   uint32                 // chunks made, with the unused number 0
	size   int
	hs     *handles
	due    func(Entity) (int64, bool)
	// warm, when set, is given the live entities of a chunk before they
	// are popped one by one (see [Store.Warm]).
	warm func([]Entity)
}

// newWheel returns a wheel whose clock starts at tick now. due reports the
// current due tick of an entity, or false when the entity is gone.
func newWheel(now int64, hs *handles, due func(Entity) (int64, bool)) *Wheel {
	w := &Wheel{now: now, hs: hs, due: due, made: 1}
	w.c1 = cascade{unit: now>>pageBits + 1}
	w.c1.total = w.count(1, w.c1.unit&slotMask)
	w.c2 = cascade{unit: now>>superBits + 1}
	w.c2.total = w.count(2, w.c2.unit&slotMask)
	return w
}

// Now returns the first tick not yet popped.
func (w *Wheel) Now() int64 { return w.now }

// len returns the number of entries, stale ones included.
func (w *Wheel) len() int { return w.size }

// Insert files e to be popped at tick due (or at the next tick popped, when
// due is already past). due must be less than MaxHorizon ahead.
func (w *Wheel) Insert(e Entity, due int64) {
	if due < w.now {
		due = w.now
	}
	w.size++
	w.file(e.ID(), due)
}

// dueOf returns the due tick of the entity with ID id, or false when it is
// gone.
func (w *Wheel) dueOf(id uint32) (int64, bool) {
	e, ok := w.hs.entity(id)
	if !ok {
		return 0, false
	}
	return w.due(e)
}

func (w *Wheel) file(e uint32, due int64) {
	page := due >> pageBits
	if page <= w.now>>pageBits+1 {
		i := due & slotMask
		w.push(&w.lv[0][i], e)
		w.bits[i>>6] |= 1 << (i & 63)
		return
	}
	super := due >> superBits
	if super <= w.now>>superBits+1 {
		w.push(&w.lv[1][page&slotMask], e)
		return
	}
	w.push(&w.lv[2][super&slotMask], e)
}

// at returns chunk i, which is not 0. A chunk stays where it is: the
// pointer is good for as long as the wheel.
func (w *Wheel) at(i uint32) *chunk { return &w.blocks[i/blockChunks].S[i%blockChunks] }

func (w *Wheel) push(head *uint32, e uint32) {
	i := *head
	var c *chunk
	if i != 0 {
		c = w.at(i)
	}
	if c == nil || c.n == chunkLen {
		n := w.free
		if n != 0 {
			c = w.at(n)
			w.free = c.next
		} else {
			if int(w.made/blockChunks) == len(w.blocks) {
				w.blocks = append(w.blocks, offheap.Make[chunk](blockChunks))
			}
			n = w.made
			w.made++
			c = w.at(n)
		}
		c.next = i
		c.n = 0
		*head = n
	}
	c.e[c.n] = e
	c.n++
}

// release puts chunk i, which c is, on the list of chunks not in use.
func (w *Wheel) release(i uint32, c *chunk) {
	c.next = w.free
	w.free = i
}

func (w *Wheel) count(level int, i int64) int {
	n := 0
	for c := w.lv[level][i]; c != 0; {
		ch := w.at(c)
		n += int(ch.n)
		c = ch.next
	}
	return n
}

// moveDown re-files up to k entries of a level's slot.
func (w *Wheel) moveDown(level int, i int64, k int) int {
	moved := 0
	head := &w.lv[level][i]
	for moved < k && *head != 0 {
		ci := *head
		c := w.at(ci)
		for c.n > 0 && moved < k {
			c.n--
			e := c.e[c.n]
			moved++
			if d, ok := w.dueOf(e); ok {
				if d < w.now {
					d = w.now
				}
				w.file(e, d)
			} else {
				w.size--
			}
		}
		if c.n == 0 {
			*head = c.next
			w.release(ci, c)
		}
	}
	return moved
}

// step runs the cascades due at tick t (t == w.now).
func (w *Wheel) step(t int64) {
	if p := t>>pageBits + 1; p != w.c1.unit {
		w.finish(1, &w.c1)
		w.c1 = cascade{unit: p, total: w.count(1, p&slotMask)}
	}
	if s := t>>superBits + 1; s != w.c2.unit {
		w.finish(2, &w.c2)
		w.c2 = cascade{unit: s, total: w.count(2, s&slotMask)}
	}
	w.progress(2, &w.c2, t&(superTicks-1), superTicks)
	w.progress(1, &w.c1, t&(pageTicks-1), pageTicks)
}

func (w *Wheel) finish(level int, c *cascade) {
	if c.moved < c.total {
		w.moveDown(level, c.unit&slotMask, c.total-c.moved)
	}
	c.moved = c.total
}

func (w *Wheel) progress(level int, c *cascade, off, span int64) {
	if c.moved >= c.total {
		return
	}
	target := c.total
	if c.total > smallCascade {
		target = int((int64(c.total)*(off+1) + span - 1) / span)
	}
	if target > c.moved {
		c.moved += w.moveDown(level, c.unit&slotMask, target-c.moved)
		if c.moved < target { // the slot held fewer entries than counted
			c.moved = c.total
		}
	}
}

func (w *Wheel) pending() bool { return w.c1.moved < w.c1.total || w.c2.moved < w.c2.total }

// Advance pops every entry due at a tick up to and including to, calling pop
// for each, and moves the clock to to+1. pop may call Insert. It stops early,
// between chunks, once it has popped at least budget entries (budget <= 0:
// no limit), and then reports false: the next call carries on where it
// stopped.
func (w *Wheel) Advance(to int64, budget int, pop func(e Entity, tick int64)) bool {
	popped := 0
	for w.now <= to {
		t := w.now
		w.step(t)
		i := t & slotMask
		if w.bits[i>>6]&(1<<(i&63)) != 0 {
			for w.lv[0][i] != 0 {
				ci := w.lv[0][i]
				w.lv[0][i] = 0
				for ci != 0 {
					c := w.at(ci)
					if budget > 0 && popped >= budget {
						// Put the rest back in front of anything filed meanwhile.
						last := c
						for last.next != 0 {
							last = w.at(last.next)
						}
						last.next = w.lv[0][i]
						w.lv[0][i] = ci
						return false
					}
					var live [chunkLen]Entity
					k := 0
					for _, id := range c.e[:c.n] {
						w.size--
						if e, ok := w.hs.entity(id); ok {
							live[k] = e
							k++
						}
					}
					if w.warm != nil && k > 1 {
						w.warm(live[:k])
					}
					for _, e := range live[:k] {
						if w.hs.alive(e) { // an earlier pop may have removed it
							pop(e, t)
						}
					}
					popped += int(c.n)
					next := c.next
					w.release(ci, c)
					ci = next
				}
			}
			w.bits[i>>6] &^= 1 << (i & 63)
		}
		w.now = w.skip(t+1, to)
	}
	return true
}

// skip returns the next tick after t-1 that needs a visit, at most to+1.
func (w *Wheel) skip(t, to int64) int64 {
	if t > to {
		return t
	}
	limit := (t>>pageBits + 1) << pageBits // the next page boundary
	if to+1 < limit {
		limit = to + 1
	}
	if w.pending() && t+cascadeWake < limit {
		limit = t + cascadeWake
	}
	if n := w.nextSet(t, limit); n >= 0 {
		return n
	}
	return limit
}

// nextSet returns the first tick in [from, limit) whose level-0 slot is
// non-empty, or -1. limit-from must not exceed levelSlots.
func (w *Wheel) nextSet(from, limit int64) int64 {
	for t := from; t < limit; {
		i := t & slotMask
		word := w.bits[i>>6] >> (i & 63)
		if word != 0 {
			n := t + int64(bits.TrailingZeros64(word))
			if n < limit {
				return n
			}
			return -1
		}
		t += 64 - (i & 63)
	}
	return -1
}

// NextDue returns the next tick at which Advance has work to do, or -1 when
// the wheel is empty. Work is a due entry or part of a cascade.
func (w *Wheel) NextDue() int64 {
	if w.size == 0 {
		return -1
	}
	end := (w.now>>pageBits + 2) << pageBits // the end of level 0's range
	limit := end
	if w.pending() {
		limit = w.now + cascadeWake
	}
	if n := w.nextSet(w.now, limit); n >= 0 {
		return n
	}
	if w.pending() {
		return limit
	}
	// Nothing in level 0: wake at the next page, whose cascade may bring work.
	return (w.now>>pageBits + 1) << pageBits
}

// Late counts the entries due at a tick up to and including to that have
// not been popped, and returns the earliest tick at which a live entry is
// due (-1 when there is none). It tells how far behind a caller that
// cannot keep up is. The count reads no due times, so it is cheap at a
// million entries, and includes the few stale entries of entities removed
// or rescheduled since they were filed. It looks at entries due within
// about 4.7 hours of the clock.
func (w *Wheel) Late(to int64) (n int, first int64) {
	first = -1
	if to < w.now || w.size == 0 {
		return 0, -1
	}
	// The earliest live entry is in the first slots visited; once found,
	// the rest are only counted.
	look := func(head uint32) {
		for ci := head; ci != 0 && first < 0; {
			c := w.at(ci)
			ci = c.next
			for _, id := range c.e[:c.n] {
				if d, ok := w.dueOf(id); ok && d <= to && (first < 0 || d < first) {
					first = d
				}
			}
		}
	}
	count := func(head uint32) {
		for ci := head; ci != 0; {
			c := w.at(ci)
			n += int(c.n)
			ci = c.next
		}
	}
	// Level 0 holds the current page and the next one.
	end := min(to+1, (w.now>>pageBits+2)<<pageBits)
	for t := w.now; t < end; {
		t = w.nextSet(t, end)
		if t < 0 {
			break
		}
		head := w.lv[0][t&slotMask]
		if first < 0 {
			look(head)
		}
		count(head)
		t++
	}
	// Level 1: the pages not yet (or not wholly) cascaded down. Of the
	// last page, only what is due by to counts.
	lastSuper := w.now>>superBits + 1
	for p := w.now>>pageBits + 1; p <= to>>pageBits && p>>pageBits <= lastSuper; p++ {
		head := w.lv[1][p&slotMask]
		if first < 0 {
			look(head)
		}
		if (p+1)<<pageBits-1 <= to {
			count(head)
			continue
		}
		for ci := head; ci != 0; {
			c := w.at(ci)
			ci = c.next
			for _, id := range c.e[:c.n] {
				if d, ok := w.dueOf(id); ok && d <= to {
					n++
				}
			}
		}
	}
	return n, first
}
