package ecs

import "github.com/ziad/cpra/internal/offheap"

// Column holds one plain component that every monitor has ([Schedule],
// [Health]), by entity ID, outside ark's tables and outside the Go heap.
//
// These components hold no pointers, so the collector has nothing to find
// in them; in ark's tables, on the heap, they would cost twice their size
// at the default GOGC. Here they are in blocks of columnBlock values mapped
// apart (see internal/offheap), which are made as IDs reach them and never
// move: a pointer to a monitor's value is good for as long as the store.
// ark gives a removed entity's ID to the next one it creates, so the IDs
// stay dense, and a monitor's value is written when it is created.
type Column[T any] struct {
	blocks []offheap.Array[T]
	hs     *handles
	what   string // for the panic of Get
}

// columnBits sets the values in a block: 8,192, 64 KiB of schedules and
// 192 KiB of healths, each enough to be mapped.
const columnBits = 13

func newColumn[T any](hs *handles, what string) *Column[T] {
	return &Column[T]{hs: hs, what: what}
}

// at returns the value of the entity with ID id, which has one.
func (c *Column[T]) at(id uint32) *T {
	return &c.blocks[id>>columnBits].S[id&(1<<columnBits-1)]
}

// cover makes the blocks up to the one of ID id.
func (c *Column[T]) cover(id uint32) {
	for int(id>>columnBits) >= len(c.blocks) {
		c.blocks = append(c.blocks, offheap.Make[T](1<<columnBits))
	}
}

// Get returns e's value. Like ark's Get it panics when e is gone.
func (c *Column[T]) Get(e Entity) *T {
	if !c.hs.alive(e) {
		panic("ecs: the " + c.what + " of a removed monitor")
	}
	return c.at(e.ID())
}

// GetUnchecked returns e's value; e must be alive.
func (c *Column[T]) GetUnchecked(e Entity) *T { return c.at(e.ID()) }
