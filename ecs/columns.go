package ecs

import (
	"unsafe"

	ark "github.com/mlange-42/ark/ecs"

	"github.com/ziad/cpra/internal/offheap"
)

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

// columnBits sets the values in a block of a component of 8 bytes or
// more: 8,192, 64 KiB of schedules and 192 KiB of healths. Blocks of
// smaller components hold more values (see bits), so that each block is
// large enough to be mapped.
const columnBits = 13

func newColumn[T any](hs *handles, what string) *Column[T] {
	return &Column[T]{hs: hs, what: what}
}

// bits returns the number of bits of an ID that pick a value in a block.
func (c *Column[T]) bits() uint {
	var zero T
	switch unsafe.Sizeof(zero) {
	case 1:
		return columnBits + 3
	case 2:
		return columnBits + 2
	case 4:
		return columnBits + 1
	}
	return columnBits
}

// at returns the value of the entity with ID id, which has one.
func (c *Column[T]) at(id uint32) *T {
	b := c.bits()
	return &c.blocks[id>>b].S[id&(1<<b-1)]
}

// cover makes the blocks up to the one of ID id.
func (c *Column[T]) cover(id uint32) {
	for b := c.bits(); int(id>>b) >= len(c.blocks); {
		c.blocks = append(c.blocks, offheap.Make[T](1<<b))
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

// Part holds a component that only some monitors have ([Meta], [Maint]),
// outside ark's tables and outside the heap: the values are in a
// [Column], and ark's tables hold a tag of no bytes that marks the
// monitors with one, so that ark's filters still find them. The column's
// pages are touched only where monitors have one.
type Part[T any] struct {
	col Column[T]
	w   *ark.World
	tag ark.ID
}

// Has reports whether e has the component. Like ark's it panics when e
// is gone.
func (p *Part[T]) Has(e Entity) bool { return p.w.Unsafe().Has(e, p.tag) }

// HasUnchecked is Has for an entity known to be alive.
func (p *Part[T]) HasUnchecked(e Entity) bool { return p.w.Unsafe().HasUnchecked(e, p.tag) }

// Get returns e's value, or nil when e has none. Like ark's it panics
// when e is gone.
func (p *Part[T]) Get(e Entity) *T {
	if !p.Has(e) {
		return nil
	}
	return p.col.at(e.ID())
}

// set gives the new monitor with ID id the value v.
func (p *Part[T]) set(id uint32, v T) {
	p.col.cover(id)
	*p.col.at(id) = v
}
