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
		f.set(f.hash(name))
		return
	}
	f.build(names)
}

// build makes the filter anew from names, with room for as many again.
func (f *nameFilter) build(names map[string][]byte) {
	f.size(2 * len(names))
	for n := range names {
		f.set(f.hash(n))
	}
}

// fromHashes makes the filter anew from the hashes of names, with room for
// as many again: a store's states are hashed as they are read, and filed
// at once once their number is known.
func (f *nameFilter) fromHashes(hs []uint64) {
	f.size(2 * len(hs))
	for _, h := range hs {
		f.set(h)
	}
}

// size empties the filter, with room for n names.
func (f *nameFilter) size(n int) {
	size := max(64, 1<<bits.Len(uint(max(1, n*filterBits)-1)))
	f.bits, f.mask, f.room, f.n = make([]uint64, size/64), uint64(size/64-1), n, 0
}

// hash returns the hash of name the filter files it by.
func (f *nameFilter) hash(name string) uint64 {
	if f.seed == (maphash.Seed{}) {
		f.seed = maphash.MakeSeed()
	}
	return maphash.String(f.seed, name)
}

// word returns the word of the filter that a name of hash h has its bits
// in, and the bits: both in one word, so that a lookup reads memory once.
func (f *nameFilter) word(h uint64) (*uint64, uint64) {
	return &f.bits[h&f.mask], 1<<(h>>52&63) | 1<<(h>>58)
}

func (f *nameFilter) set(h uint64) {
	w, b := f.word(h)
	*w |= b
	f.n++
}

// may reports whether name may have been filed.
func (f *nameFilter) may(name string) bool {
	if f.bits == nil {
		return false
	}
	w, b := f.word(f.hash(name))
	return *w&b == b
}
