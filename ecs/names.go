package ecs

import (
	"math/bits"

	"github.com/ziad/cpra/internal/offheap"
)

// nameIndex maps monitor names to entity IDs. It is an open-addressed
// table with linear probing whose slots are 4 bytes: the ID (below
// 1<<idBits) and one tag byte of the name's hash, so that a probe compares
// names only when the tags match. That is 5 bytes per monitor at 1M,
// against 35 to 40 for a Go map keyed by name or hash. The names
// themselves live in the monitors' components; name(id) reads them back.
//
// The slots are outside the Go heap once large (see internal/offheap).
type nameIndex struct {
	slots offheap.Array[uint32] // 0: empty; else the ID<<8 | the tag, never 0
	n     int
	name  func(id uint32) string

	pending    int // the slot reserve found
	pendingTag uint32
}

// idBits is the width of the IDs the index holds.
const idBits = 24

const maxLoadNum, maxLoadDen = 4, 5

// mix spreads a name hash over all 64 bits (a splitmix64 finaliser): the
// slot comes from the high bits and the tag from the low byte, which FNV-1a
// alone leaves correlated for names that differ in a few characters.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

func keyOf(name string) uint64 { return mix(HashName(name)) }

func newNameIndex(capacity int, name func(id uint32) string) *nameIndex {
	x := &nameIndex{name: name}
	x.resize(max(16, capacity*maxLoadDen/maxLoadNum+1))
	return x
}

func tagOf(h uint64) uint32 {
	if t := uint32(uint8(h)); t != 0 {
		return t
	}
	return 1
}

// home maps a hash onto [0, len(slots)) without a power-of-two size.
func (x *nameIndex) home(h uint64) int {
	hi, _ := bits.Mul64(h, uint64(len(x.slots.S)))
	return int(hi)
}

func (x *nameIndex) next(i int) int {
	if i++; i == len(x.slots.S) {
		return 0
	}
	return i
}

// find returns the slot holding name, or the empty slot where it would go.
func (x *nameIndex) find(name string, h uint64) (int, bool) {
	tag := tagOf(h)
	for i := x.home(h); ; i = x.next(i) {
		v := x.slots.S[i]
		switch {
		case v == 0:
			return i, false
		case v&0xff == tag:
			if x.name(v>>8) == name {
				return i, true
			}
		}
	}
}

func (x *nameIndex) get(name string) (uint32, bool) {
	i, ok := x.find(name, keyOf(name))
	if !ok {
		return 0, false
	}
	return x.slots.S[i] >> 8, true
}

// reserve looks name up: it returns the ID filed under it and true, or
// false, and then fill files an ID under it. Only one reservation may be
// open at a time.
func (x *nameIndex) reserve(name string) (uint32, bool) {
	if (x.n+1)*maxLoadDen > len(x.slots.S)*maxLoadNum {
		x.resize(len(x.slots.S) + len(x.slots.S)/2)
	}
	h := keyOf(name)
	i, ok := x.find(name, h)
	if ok {
		return x.slots.S[i] >> 8, true
	}
	x.pending, x.pendingTag = i, tagOf(h)
	return 0, false
}

// fill files id, which must be below 1<<idBits, in the slot reserve found.
func (x *nameIndex) fill(id uint32) {
	x.slots.S[x.pending] = id<<8 | x.pendingTag
	x.n++
}

// put adds a name that is not in the index.
func (x *nameIndex) put(name string, e uint32) {
	if _, taken := x.reserve(name); !taken {
		x.fill(e)
	}
}

// del removes a name, shifting later entries of its probe run back so no
// tombstones are needed.
func (x *nameIndex) del(name string) {
	i, ok := x.find(name, keyOf(name))
	if !ok {
		return
	}
	x.n--
	for j := x.next(i); x.slots.S[j] != 0; j = x.next(j) {
		k := x.home(keyOf(x.name(x.slots.S[j] >> 8)))
		// Move j into the hole at i when its home is not within (i, j].
		if (i <= j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
			x.slots.S[i] = x.slots.S[j]
			i = j
		}
	}
	x.slots.S[i] = 0
}

// resize moves the entries to a table of size slots. It reads each name
// again to hash it, in the order of the IDs: for a fleet added in one go
// that is the order of the monitors' rows and of their names' bytes, so
// the reads follow each other in memory, where the order of the old slots
// would send each read to a place at random (at a million monitors the
// growing index took a twentieth of a file's load).
func (x *nameIndex) resize(size int) {
	old := x.slots
	defer old.Free()
	x.slots = offheap.Make[uint32](size)
	var top uint32
	for _, v := range old.S {
		top = max(top, v>>8)
	}
	held := make([]uint64, top/64+1) // the IDs in the index
	for _, v := range old.S {
		if v != 0 {
			held[v>>8/64] |= 1 << (v >> 8 % 64)
		}
	}
	for w, word := range held {
		for word != 0 {
			id := uint32(w*64 + bits.TrailingZeros64(word))
			word &= word - 1
			h := keyOf(x.name(id))
			j := x.home(h)
			for x.slots.S[j] != 0 {
				j = x.next(j)
			}
			x.slots.S[j] = id<<8 | tagOf(h)
		}
	}
}
