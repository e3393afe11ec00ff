package config

import (
	"hash/maphash"
	"math/bits"
)

// nameSet is the collector's record of the names of a file's monitors
// and where each was first given. The workers that build the monitors
// hash their names ([nameHash]); the collector, which takes the monitors
// one after the other, then only probes: its slots hold the top half of
// a name's hash and the name's place in a list, so that growing the set
// moves 8-byte slots without hashing a name again, and only a slot whose
// half-hash matches sends the probe to the name itself. About 40 bytes a
// name at a million, as a Go map of them took, without its hashing and
// rehashing on the goroutine that all of a file's monitors pass through.
// The list is kept in chunks that never move: as one slice grown by
// append it was copied at each growth, up to 24 MB at a time onto new
// pages, and that took half of the set's time at a million names.
type nameSet struct {
	slots  []uint64 // 0: empty; else the hash's top 32 bits, and the place in the list plus one
	chunks [][]nameAt
	n      int   // names in the list
	shift  uint8 // 64 - log2(len(slots))
	sink   uint64
}

// nameChunk is the number of names in a chunk of the list (96 KiB).
const nameChunk = 1 << 12

// nameAt is a name and where it was first given.
type nameAt struct {
	name string
	at   position
}

var nameSeed = maphash.MakeSeed()

// nameHash returns the hash of a monitor's name the set files it by.
func nameHash(name string) uint64 { return maphash.String(nameSeed, name) }

// add files name, of hash h, as given at p, unless it is filed already:
// then it returns where it was first given and true.
func (x *nameSet) add(name string, h uint64, p position) (position, bool) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	i, found := x.find(name, h)
	if found {
		return x.at(x.slots[i]).at, true
	}
	if x.n%nameChunk == 0 {
		x.chunks = append(x.chunks, make([]nameAt, 0, nameChunk))
	}
	c := &x.chunks[len(x.chunks)-1]
	*c = append(*c, nameAt{name, p})
	x.n++
	x.slots[i] = h&^0xffffffff | uint64(x.n)
	return position{}, false
}

// at returns the name a full slot holds.
func (x *nameSet) at(v uint64) *nameAt {
	k := int(v&0xffffffff) - 1
	return &x.chunks[k/nameChunk][k%nameChunk]
}

// warm reads the home slots of the names of a batch about to be added,
// and does nothing else. At a million names each probe misses the
// caches; in this loop, with nothing else in it, the processor has the
// reads of the whole batch in flight at once, where add, one name after
// the other, waits for each.
func (x *nameSet) warm(out []built) {
	if len(x.slots) == 0 {
		return
	}
	var sink uint64
	for i := range out {
		sink += x.slots[out[i].nameHash>>x.shift]
	}
	x.sink = sink
}

// has reports whether name is filed.
func (x *nameSet) has(name string) bool {
	if x.n == 0 {
		return false
	}
	_, found := x.find(name, nameHash(name))
	return found
}

// find returns the slot of name, or the empty slot where it would go.
func (x *nameSet) find(name string, h uint64) (int, bool) {
	mask := len(x.slots) - 1
	for i := int(h >> x.shift); ; i = (i + 1) & mask {
		v := x.slots[i]
		if v == 0 {
			return i, false
		}
		if v&^0xffffffff == h&^0xffffffff && x.at(v).name == name {
			return i, true
		}
	}
}

// grow doubles the slots. A slot's home comes from the top bits of its
// hash, which the slot keeps.
func (x *nameSet) grow() {
	n := max(64, 2*len(x.slots))
	old := x.slots
	x.slots, x.shift = make([]uint64, n), uint8(64-bits.TrailingZeros(uint(n)))
	mask := n - 1
	for _, v := range old {
		if v == 0 {
			continue
		}
		i := int(v >> x.shift)
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = v
	}
}
