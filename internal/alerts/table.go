package alerts

import (
	"math/bits"

	"github.com/ziad/cpra/ecs"
)

// keyed is a pointer to a value that knows its monitor: a *lane or an
// *item.
type keyed[T any] interface {
	*T
	monitor() ecs.Entity
}

func (l *lane) monitor() ecs.Entity  { return l.en }
func (it *item) monitor() ecs.Entity { return it.en }

// table finds the lanes (or the items waiting alone) of monitors. It is
// an open-addressing hash table of pointers, whose keys are read from the
// values: 8 bytes a slot, between an eighth and three quarters full,
// where a Go map of the same takes 16 bytes a slot and never gives its
// memory back. A backlog of a million monitors costs about 11 MB in it
// while it waits, and next to nothing once it has drained.
type table[T any, P keyed[T]] struct {
	slots []P
	n     int
	shift uint8 // 64 - log2(len(slots))
}

// minSlots is the smallest table that holds anything.
const minSlots = 16

func (t *table[T, P]) len() int { return t.n }

// home is the slot where a search for en begins.
func (t *table[T, P]) home(en ecs.Entity) int {
	h := (uint64(en.ID())<<32 | uint64(en.Gen())) * 0x9e3779b97f4a7c15
	return int(h >> t.shift)
}

// get returns the value of en, or nil.
func (t *table[T, P]) get(en ecs.Entity) P {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(en); ; i = (i + 1) & mask {
		v := t.slots[i]
		if v == nil || v.monitor() == en {
			return v
		}
	}
}

// put adds v, whose monitor must have no value in the table.
func (t *table[T, P]) put(v P) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.resize(max(minSlots, 2*len(t.slots)))
	}
	t.place(v)
	t.n++
}

func (t *table[T, P]) place(v P) {
	mask := len(t.slots) - 1
	i := t.home(v.monitor())
	for t.slots[i] != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = v
}

// del removes the value of en, if there is one.
func (t *table[T, P]) del(en ecs.Entity) {
	if t.n == 0 {
		return
	}
	mask := len(t.slots) - 1
	i := t.home(en)
	for {
		v := t.slots[i]
		if v == nil {
			return
		}
		if v.monitor() == en {
			break
		}
		i = (i + 1) & mask
	}
	// Move back each later value of the run whose search passes the
	// hole, so that no search stops short of its value.
	for j := (i + 1) & mask; t.slots[j] != nil; j = (j + 1) & mask {
		if h := t.home(t.slots[j].monitor()); (j-h)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = nil
	t.n--
	switch {
	case t.n == 0:
		t.slots = nil
	case len(t.slots) > minSlots && t.n*8 < len(t.slots):
		t.resize(len(t.slots) / 2)
	}
}

// resize moves the values to a table of n slots, a power of two.
func (t *table[T, P]) resize(n int) {
	old := t.slots
	t.slots, t.shift = make([]P, n), uint8(64-bits.TrailingZeros(uint(n)))
	for _, v := range old {
		if v != nil {
			t.place(v)
		}
	}
}

// all calls f with each value; f must not add or remove any.
func (t *table[T, P]) all(f func(P) bool) {
	for _, v := range t.slots {
		if v != nil && !f(v) {
			return
		}
	}
}

// clear empties the table and lets its memory go.
func (t *table[T, P]) clear() { *t = table[T, P]{} }
