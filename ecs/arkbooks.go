package ecs

import (
	"bytes"
	"reflect"
	"unsafe"

	ark "github.com/mlange-42/ark/ecs"

	"github.com/ziad/cpra/internal/offheap"
)

// arkBooks keeps ark's record of its entities, and the column of
// entities of each of its large tables (see [arkBooks.placed]), outside the
// Go heap.
//
// ark keeps three arrays by entity ID: where the entity's row is (8
// bytes), whether it is the target of a relation (1 byte), and the pool of
// IDs and generations it hands out (8 bytes). They hold no pointers, but
// ark makes them on the heap, where at the default GOGC they cost about
// twice their 17 bytes a monitor, and ark takes no memory from its user.
// So the store finds the three slices in the world, by reflection, checks
// that they are what it expects (as in ark v0.8.3), and points them at
// arrays mapped apart (internal/offheap). ark reads and writes them
// through the slices as before. Before ark would append to a full one,
// which would move it back to the heap, the store grows all three where
// they are. Should ark's layout differ from the one checked (a newer ark
// chosen by the program's build), the store leaves the arrays to ark, on
// the heap, as they were; TestArkBooksOutsideTheHeap fails then.
//
// The arrays are a resource of the world, so they live as long as it
// does, even should the store be lost first.
type arkBooks struct {
	index     *[]entitySlot   // ark's storage.entities
	target    *[]bool         // ark's storage.isTarget
	pool      *[]Entity       // ark's entityPool.entities
	first     *unsafe.Pointer // ark's entityPool.pointer: the pool's first element
	available *uint32         // ark's entityPool.available: IDs free for reuse
	tables    *rawSlice       // ark's storage.tables

	mem *arkMem
}

// arkMem holds the arrays that ark's slices point into.
type arkMem struct {
	index  offheap.Array[entitySlot]
	target offheap.Array[bool]
	pool   offheap.Array[Entity]
	rows   []offheap.Array[Entity] // each table's column of entities, by table ID
}

// rawSlice is the layout of a slice.
type rawSlice struct {
	data     unsafe.Pointer
	len, cap int
}

// entitySlot has the layout of ark's entityIndex: a table and a row.
type entitySlot struct{ table, row uint32 }

// arkFields holds the offsets, from the start of a World, of the fields
// arkBooks uses; ok is false when ark's layout is not the expected one.
type arkFields struct {
	index, target, pool, first, available uintptr
	ok                                    bool

	// A table's column of entities: the world's slice of tables, the
	// size of a table, and offsets in a table.
	tables, table, rowsData, rowsFirst, rowsLen, rowsCap uintptr
	rowsOK                                               bool
}

var arkLayout = findArkFields()

func findArkFields() (f arkFields) {
	field := func(t reflect.Type, name string) (reflect.StructField, bool) {
		if t.Kind() != reflect.Struct {
			return reflect.StructField{}, false
		}
		return t.FieldByName(name)
	}
	st, ok1 := field(reflect.TypeFor[ark.World](), "storage")
	ix, ok2 := field(st.Type, "entities")
	tg, ok3 := field(st.Type, "isTarget")
	pl, ok4 := field(st.Type, "entityPool")
	pe, ok5 := field(pl.Type, "entities")
	pp, ok6 := field(pl.Type, "pointer")
	pa, ok7 := field(pl.Type, "available")
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || !ok7 {
		return arkFields{}
	}
	slot := reflect.TypeFor[entitySlot]()
	if ix.Type.Kind() != reflect.Slice || !sameLayout(ix.Type.Elem(), slot) ||
		tg.Type != reflect.TypeFor[[]bool]() ||
		pe.Type != reflect.TypeFor[[]Entity]() ||
		pp.Type != reflect.TypeFor[unsafe.Pointer]() ||
		pa.Type != reflect.TypeFor[uint32]() {
		return arkFields{}
	}
	f = arkFields{
		index:     st.Offset + ix.Offset,
		target:    st.Offset + tg.Offset,
		pool:      st.Offset + pl.Offset + pe.Offset,
		first:     st.Offset + pl.Offset + pp.Offset,
		available: st.Offset + pl.Offset + pa.Offset,
		ok:        true,
	}
	ts, ok1 := field(st.Type, "tables")
	if !ok1 || ts.Type.Kind() != reflect.Slice {
		return f
	}
	tt := ts.Type.Elem()
	te, ok2 := field(tt, "entities")
	tc, ok3 := field(tt, "cap")
	tl, ok6 := field(tt, "len")
	td, ok4 := field(te.Type, "data")
	tp, ok5 := field(te.Type, "pointer")
	if ok2 && ok3 && ok4 && ok5 && ok6 && te.Type.NumField() == 2 &&
		tc.Type == reflect.TypeFor[uint32]() && tl.Type == reflect.TypeFor[uint32]() &&
		td.Type == reflect.TypeFor[reflect.Value]() &&
		tp.Type == reflect.TypeFor[unsafe.Pointer]() {
		f.tables, f.table = st.Offset+ts.Offset, tt.Size()
		f.rowsData, f.rowsFirst, f.rowsLen, f.rowsCap = te.Offset+td.Offset, te.Offset+tp.Offset, tl.Offset, tc.Offset
		f.rowsOK = true
	}
	return f
}

// sameLayout reports whether structs a and b have fields of the same
// kinds at the same offsets, and the same size.
func sameLayout(a, b reflect.Type) bool {
	if a.Kind() != reflect.Struct || b.Kind() != reflect.Struct ||
		a.Size() != b.Size() || a.NumField() != b.NumField() {
		return false
	}
	for i := range a.NumField() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Offset != fb.Offset || fa.Type.Kind() != fb.Type.Kind() || fa.Type.Size() != fb.Type.Size() {
			return false
		}
	}
	return true
}

// arkBooksMin is the least capacity the arrays are moved at: below it
// they are small enough for the heap (see offheap.Threshold).
const arkBooksMin = 8192

// attach finds w's arrays, a fresh world's, and gives them room for n
// entities besides ark's two reserved ones: outside the heap when that is
// large enough, or else as ark has them. It returns false when ark's
// layout is not the expected one: ark keeps its arrays.
func (b *arkBooks) attach(w *ark.World, n int) bool {
	if !arkLayout.ok {
		return false
	}
	base := unsafe.Pointer(w)
	b.index = (*[]entitySlot)(unsafe.Add(base, arkLayout.index))
	b.target = (*[]bool)(unsafe.Add(base, arkLayout.target))
	b.pool = (*[]Entity)(unsafe.Add(base, arkLayout.pool))
	b.first = (*unsafe.Pointer)(unsafe.Add(base, arkLayout.first))
	b.available = (*uint32)(unsafe.Add(base, arkLayout.available))
	if arkLayout.rowsOK {
		b.tables = (*rawSlice)(unsafe.Add(base, arkLayout.tables))
	}
	b.mem = &arkMem{}
	ark.AddResource(w, b.mem)
	if c := max(cap(*b.index), cap(*b.target), cap(*b.pool), n+2); c >= arkBooksMin {
		b.move(c)
	}
	return true
}

// room is called before ark records a new entity. When ark would have to
// append to a full array, it grows the three arrays outside the heap;
// arrays ark has moved back to the heap by itself are moved out again.
func (b *arkBooks) room() {
	if b.mem == nil {
		return
	}
	ix, tg, pl := *b.index, *b.target, *b.pool
	n := max(len(ix), len(tg), len(pl))
	c := max(cap(ix), cap(tg), cap(pl))
	switch {
	case *b.available == 0 && (len(pl) == cap(pl) || len(ix) == cap(ix) || len(tg) == cap(tg)):
		// ark is about to append a new ID.
		c = 2 * n
		if n >= 1<<20 {
			c = n + n/4
		}
	case unsafe.SliceData(pl) == unsafe.SliceData(b.mem.pool.S) &&
		unsafe.SliceData(ix) == unsafe.SliceData(b.mem.index.S) &&
		unsafe.SliceData(tg) == unsafe.SliceData(b.mem.target.S):
		return // outside the heap, with room
	}
	if c >= arkBooksMin {
		b.move(c)
	} // else small: ark grows them on the heap
}

// arkRowsMin is the least capacity, in rows, from which a table's column
// of entities is moved outside the heap: 64 KiB.
const arkRowsMin = 8192

// placed is called once ark has put the new entity e in its table. ark
// keeps each table's entities in a column of their own (8 bytes a row),
// which it makes again, on the heap, each time the table doubles, copying
// the rows there. When that column is large and not the one placed set,
// placed moves it outside the heap and points the table at it: the array
// placed set before is grown where it is mapped (its rows are still
// those ark copied), and only the rows ark has added since are copied.
// What ark made is then garbage: at most 512 KiB, for a table of 65,536
// rows.
func (b *arkBooks) placed(e Entity) {
	if b.tables == nil {
		return
	}
	tid := (*b.index)[e.ID()].table
	if int(tid) >= b.tables.len {
		return
	}
	t := unsafe.Add(b.tables.data, uintptr(tid)*arkLayout.table)
	c := int(*(*uint32)(unsafe.Add(t, arkLayout.rowsCap)))
	n := int(*(*uint32)(unsafe.Add(t, arkLayout.rowsLen)))
	first := (*unsafe.Pointer)(unsafe.Add(t, arkLayout.rowsFirst))
	if c < arkRowsMin || n > c {
		return
	}
	for int(tid) >= len(b.mem.rows) {
		b.mem.rows = append(b.mem.rows, offheap.Array[Entity]{})
	}
	a := &b.mem.rows[tid]
	if *first == unsafe.Pointer(unsafe.SliceData(a.S)) && len(a.S) == c {
		return
	}
	rows := unsafe.Slice((*Entity)(*first), n)
	kept := min(len(a.S), n) // rows a holds as ark has them
	if kept > 0 && !sameRows(a.S[:kept], rows[:kept]) {
		kept = 0 // ark changed them: copy all
	}
	if kept > 0 {
		*a = offheap.Grow(a, c)
	} else {
		a.Free()
		*a = offheap.Make[Entity](c)
	}
	copy(a.S[kept:n], rows[kept:])
	*(*reflect.Value)(unsafe.Add(t, arkLayout.rowsData)) = reflect.ValueOf(a.S)
	*first = unsafe.Pointer(unsafe.SliceData(a.S))
}

// move gives each of ark's slices an array of c elements outside the
// heap, holding its elements, and points the slice at it.
func (b *arkBooks) move(c int) {
	adopt(&b.mem.index, b.index, c)
	adopt(&b.mem.target, b.target, c)
	adopt(&b.mem.pool, b.pool, c)
	*b.first = unsafe.Pointer(unsafe.SliceData(*b.pool))
}

// adopt moves the elements of *s into a, made c long, and points *s at
// them.
func adopt[T any](a *offheap.Array[T], s *[]T, c int) {
	n := len(*s)
	if unsafe.SliceData(*s) == unsafe.SliceData(a.S) && a.S != nil {
		if c != cap(a.S) {
			*a = offheap.Grow(a, c)
		}
	} else {
		next := offheap.Make[T](c)
		copy(next.S, *s)
		a.Free()
		*a = next
	}
	*s = a.S[:n:c]
}

// sameRows reports whether a and b, of the same length, hold the same
// entities.
func sameRows(a, b []Entity) bool {
	size := len(a) * int(unsafe.Sizeof(Entity{}))
	return bytes.Equal(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(a))), size),
		unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), size))
}
