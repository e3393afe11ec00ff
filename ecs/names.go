package ecs

import "math/bits"

// nameIndex maps monitor names to entities. It is an open-addressed table
// with linear probing that stores only the entity and one tag byte of the
// name's hash per slot: about 12 bytes per monitor at 1M, against 35 to 40
// for a Go map keyed by name or hash. The names themselves live in the
// monitors' Probe components; name(e) reads them back.
type nameIndex struct {
	slots []Entity
	tags  []uint8 // 0: empty; else the hash's top byte, forced non-zero
	n     int
	name  func(Entity) string
}

const maxLoadNum, maxLoadDen = 7, 8

func newNameIndex(capacity int, name func(Entity) string) *nameIndex {
	x := &nameIndex{name: name}
	x.resize(max(16, capacity*maxLoadDen/maxLoadNum+1))
	return x
}

func tagOf(h uint64) uint8 {
	if t := uint8(h >> 56); t != 0 {
		return t
	}
	return 1
}

// home maps a hash onto [0, len(slots)) without a power-of-two size.
func (x *nameIndex) home(h uint64) int {
	hi, _ := bits.Mul64(h, uint64(len(x.slots)))
	return int(hi)
}

func (x *nameIndex) next(i int) int {
	if i++; i == len(x.slots) {
		return 0
	}
	return i
}

// find returns the slot holding name, or the empty slot where it would go.
func (x *nameIndex) find(name string, h uint64) (int, bool) {
	tag := tagOf(h)
	for i := x.home(h); ; i = x.next(i) {
		switch x.tags[i] {
		case 0:
			return i, false
		case tag:
			if x.name(x.slots[i]) == name {
				return i, true
			}
		}
	}
}

func (x *nameIndex) get(name string) (Entity, bool) {
	i, ok := x.find(name, HashName(name))
	if !ok {
		return Entity{}, false
	}
	return x.slots[i], true
}

// put adds a name that is not in the index.
func (x *nameIndex) put(name string, e Entity) {
	if (x.n+1)*maxLoadDen > len(x.slots)*maxLoadNum {
		x.resize(len(x.slots) + len(x.slots)/2)
	}
	h := HashName(name)
	i, _ := x.find(name, h)
	x.slots[i], x.tags[i] = e, tagOf(h)
	x.n++
}

// del removes a name, shifting later entries of its probe run back so no
// tombstones are needed.
func (x *nameIndex) del(name string) {
	i, ok := x.find(name, HashName(name))
	if !ok {
		return
	}
	x.n--
	for j := x.next(i); x.tags[j] != 0; j = x.next(j) {
		k := x.home(HashName(x.name(x.slots[j])))
		// Move j into the hole at i when its home is not within (i, j].
		if (i <= j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
			x.slots[i], x.tags[i] = x.slots[j], x.tags[j]
			i = j
		}
	}
	x.slots[i], x.tags[i] = Entity{}, 0
}

func (x *nameIndex) resize(size int) {
	old, oldTags := x.slots, x.tags
	x.slots, x.tags = make([]Entity, size), make([]uint8, size)
	for i, t := range oldTags {
		if t == 0 {
			continue
		}
		e := old[i]
		h := HashName(x.name(e))
		j := x.home(h)
		for x.tags[j] != 0 {
			j = x.next(j)
		}
		x.slots[j], x.tags[j] = e, t
	}
}
