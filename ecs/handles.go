package ecs

import (
	"math"
	"unsafe"

	ark "github.com/mlange-42/ark/ecs"

	"github.com/ziad/cpra/internal/offheap"
)

// live marks, in a handles entry, an ID whose entity is alive.
const live = 1 << 31

// handles is the store's own record of its entities: for each entity ID,
// the generation of the last entity created with it and whether that
// entity is alive. With it the name index and the wheel keep a 4-byte ID
// per monitor instead of an 8-byte entity, and rebuild the entity when
// they hand one out; a stale ID (its entity removed, perhaps replaced by
// another with the same ID) is told apart by the generation.
//
// The live bit takes the top bit of the generation: an ID would have to
// be reused 2^31 times before the two met.
//
// The record is outside the Go heap once large (see internal/offheap):
// 4 bytes a monitor that the collector's doubling of the heap would make 8.
type handles struct {
	gens offheap.List[uint32]
}

// entityOf returns the entity with the given ID and generation. ark's
// Entity is two uint32s, the ID and then the generation; init checks that
// it still is.
func entityOf(id, gen uint32) Entity {
	v := [2]uint32{id, gen}
	return *(*Entity)(unsafe.Pointer(&v))
}

func init() {
	if e := entityOf(3, 5); unsafe.Sizeof(e) != 8 || e.ID() != 3 || e.Gen() != 5 {
		panic("ecs: the layout of ark's Entity changed")
	}
}

// add records e as alive.
func (h *handles) add(e Entity) {
	id := int(e.ID())
	if g := &h.gens; id >= len(g.S) {
		g.Grow(id + 1 - len(g.S))
		n := len(g.S)
		g.S = g.S[:id+1]
		clear(g.S[n:])
	}
	h.gens.S[id] = e.Gen() | live
}

// remove records e as gone.
func (h *handles) remove(e Entity) { h.gens.S[e.ID()] &^= live }

// alive reports whether e is alive.
func (h *handles) alive(e Entity) bool {
	id := int(e.ID())
	return id < len(h.gens.S) && h.gens.S[id] == e.Gen()|live
}

// entity returns the live entity with the given ID, or false.
func (h *handles) entity(id uint32) (Entity, bool) {
	if int(id) >= len(h.gens.S) {
		return Entity{}, false
	}
	g := h.gens.S[id]
	return entityOf(id, g&^live), g&live != 0
}

// reserve gives the world's entity bookkeeping room for n entities at
// once, so that it does not grow by appending (which leaves up to a
// quarter unused), and gives h the same room. It must be called on a
// fresh world.
func (h *handles) reserve(w *ark.World, n int) {
	const reserved = 2 // ark's zero and wildcard entities
	if n <= 0 || n > math.MaxUint32-reserved-1 {
		return
	}
	// A dump of n free entities, chained in ID order: the world hands
	// them out as it would fresh ones.
	ents := make([]Entity, reserved+n)
	for i := range reserved {
		ents[i] = entityOf(uint32(i), math.MaxUint32)
	}
	for i := reserved; i < len(ents); i++ {
		ents[i] = entityOf(uint32(i+1), 0) // a free entity's ID field links to the next free one
	}
	w.Unsafe().LoadEntities(&ark.EntityDump{Entities: ents, Next: reserved, Available: uint32(n)})
	h.gens.Grow(reserved + n)
}
