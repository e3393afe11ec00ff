package loop

import (
	"hash/maphash"
	"math/bits"
)

// nameFilter says of a name whether it may be among the names of the kept
// states (a Bloom filter of two bits a name, both in one word): no means
// no, yes means to look in the map. Each monitor added looks its name up
// there. At a million monitors, most of them without a kept state, the
// map's lookups missed the caches and took a tenth of the time of the
// goroutine that adds a file's monitors; the filter takes 16 bits a name,
// a fortieth of the map, and one read of memory a lookup.
//
// Names deleted from the map stay in the filter; a name added past the
// filter's room makes it anew from the map.
type nameFilter struct {
	bits []uint64
	mask uint64 // len(bits) - 1
	room int    // names it holds before it is made anew
	n    int
	seed maphash.Seed
}

// filterBits is the filter's size in bits a name: about one yes in a
// hundred for a name not filed.
const filterBits = 16

// reset empties the filter and lets its memory go.
func (f *nameFilter) reset() { f.bits, f.room, f.n = nil, 0, 0 }

// file adds name, one of names; the filter is made anew from names when
// it is full.
func (f *nameFilter) file(name string, names map[string][]byte) {
	if f.n < f.room {
		f.set(name)
		return
	}
	f.build(names)
}

// build makes the filter anew from names, with room for as many again.
func (f *nameFilter) build(names map[string][]byte) {
	size := max(64, 1<<bits.Len(uint(max(1, 2*len(names)*filterBits)-1)))
	f.bits, f.mask, f.room, f.n = make([]uint64, size/64), uint64(size/64-1), 2*len(names), 0
	if f.seed == (maphash.Seed{}) {
		f.seed = maphash.MakeSeed()
	}
	for n := range names {
		f.set(n)
	}
}

// word returns the word of the filter that name's bits are in, and the
// bits: both in one word, so that a lookup reads memory once.
func (f *nameFilter) word(name string) (*uint64, uint64) {
	h := maphash.String(f.seed, name)
	return &f.bits[h&f.mask], 1<<(h>>52&63) | 1<<(h>>58)
}

func (f *nameFilter) set(name string) {
	w, b := f.word(name)
	*w |= b
	f.n++
}

// may reports whether name may have been filed.
func (f *nameFilter) may(name string) bool {
	if f.bits == nil {
		return false
	}
	w, b := f.word(name)
	return *w&b == b
}
