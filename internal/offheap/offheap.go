// Package offheap keeps large arrays of plain values (no pointers) in
// memory the program maps from the operating system itself, outside the Go
// heap.
//
// At the default GOGC the collector lets the heap grow to twice what is
// live before it collects, and the runtime keeps what it grew to, so a
// long-lived array on the heap costs about twice its size in resident
// memory. An array that holds no pointers needs nothing from the collector;
// mapped apart it costs its size. The engine keeps such arrays, about 71
// bytes a monitor: its records of IDs and generations, its name index,
// every monitor's schedule and health (and the index of its labels, for
// a monitor with some), ark's record of its entities and its tables'
// columns of entities, the chunks of its schedule, the open episodes of
// its failing monitors, and the config Syncer's list of the monitors it
// runs.
//
// The memory is not the runtime's: GOMEMLIMIT and runtime/metrics do not
// count it; [Mapped] does, and the benchmarks' figures of live memory add
// it. Arrays under [Threshold] bytes stay on the heap, as do all arrays in
// a build with the race detector (which watches only the heap's memory)
// and on systems without mmap.
package offheap

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Threshold is the size from which an array is mapped: below it, the
// rounding to whole pages and the system call cost more than the heap's
// doubling.
const Threshold = 64 << 10

// Array is an array of values of T, outside the Go heap when it is large.
// S holds the values: its capacity is the array's length; S may be
// resliced to a shorter length (S = S[:n]) but must keep its start. An
// array's memory is given back by [Array.Free] or, when the Array is lost
// without it, some time after the collector finds it unreachable: S must
// not be kept apart from its Array.
type Array[T any] struct {
	S []T
	m *mapping // nil when S is on the heap
}

// mapping holds a mapped array; a cleanup attached to it unmaps the
// memory when it becomes unreachable without Free.
type mapping struct {
	mem     []byte
	cleanup runtime.Cleanup
}

var mapped atomic.Int64

// Mapped returns the bytes mapped now, for all arrays.
func Mapped() int64 { return mapped.Load() }

// Make returns an array of n zero values of T, with S of length n. T must
// hold no pointers: Make panics otherwise.
func Make[T any](n int) Array[T] {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if err := plain(reflect.TypeFor[T]()); err != nil {
		panic(fmt.Sprintf("offheap: %v", err))
	}
	if n < 0 || size > 0 && n > maxBytes/size {
		panic("offheap: length out of range")
	}
	bytes := n * size
	if bytes < Threshold || !mappable {
		return Array[T]{S: make([]T, n)}
	}
	mem := mapAnon(pages(bytes))
	if mem == nil {
		return Array[T]{S: make([]T, n)} // the system refused: the heap may not
	}
	mapped.Add(int64(len(mem)))
	m := &mapping{mem: mem}
	m.cleanup = runtime.AddCleanup(m, release, mem)
	return Array[T]{S: view[T](mem, n), m: m}
}

// pages rounds a size up to whole pages.
func pages(size int) int {
	page := os.Getpagesize()
	return (size + page - 1) &^ (page - 1)
}

// view returns the first n values of T in mem.
func view[T any](mem []byte, n int) []T {
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(mem))), n)
}

// maxBytes bounds an array's size.
const maxBytes = 1 << 40

// release unmaps mem.
func release(mem []byte) {
	unmap(mem)
	mapped.Add(-int64(len(mem)))
}

// Mapped reports whether the array is mapped outside the heap.
func (a *Array[T]) Mapped() bool { return a.m != nil }

// Free gives the array's memory back and empties a. Nothing may use the
// values after.
func (a *Array[T]) Free() {
	if m := a.m; m != nil {
		m.cleanup.Stop()
		release(m.mem)
		m.mem = nil
	}
	*a = Array[T]{}
}

// Grow returns an array of n values holding a's first min(n, len) values
// (zero past them), and empties a. The new array's S has length n. On
// Linux a mapped array that stays mapped is resized where it is mapped:
// nothing is copied.
func Grow[T any](a *Array[T], n int) Array[T] {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if m := a.m; m != nil && n > 0 && n <= maxBytes/size && n*size >= Threshold {
		old, had := m.mem, cap(a.S)
		if mem := remap(old, pages(n*size)); mem != nil {
			m.cleanup.Stop()
			mapped.Add(int64(len(mem) - len(old)))
			m.mem = mem
			m.cleanup = runtime.AddCleanup(m, release, mem)
			b := Array[T]{S: view[T](mem, n), m: m}
			// Values past a's length in its last page may be left from a
			// longer past; the pages added are zero.
			if end := min(n, len(old)/size); had < end {
				clear(b.S[had:end])
			}
			*a = Array[T]{}
			return b
		}
	}
	b := Make[T](n)
	copy(b.S, a.S[:cap(a.S)])
	a.Free()
	return b
}

// plain returns an error when values of t hold pointers.
func plain(t reflect.Type) error {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return nil
	case reflect.Array:
		return plain(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if err := plain(t.Field(i).Type); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s holds pointers", t)
}

// List is a slice of T that grows as one made by append does, over an
// [Array]. S holds the values; it may be resliced and written in place,
// within its capacity, but never appended to past it.
type List[T any] struct {
	S []T
	a Array[T]
}

// Grow makes room for n more values.
func (l *List[T]) Grow(n int) {
	if need := len(l.S) + n; need > cap(l.S) {
		l.setCap(max(need, cap(l.S)+cap(l.S)/4+16))
	}
}

// Append adds v at the end.
func (l *List[T]) Append(v T) {
	if len(l.S) == cap(l.S) {
		l.Grow(1)
	}
	l.S = append(l.S, v)
}

// Trim lets go of the room past the length when it is more than a 32nd
// of it.
func (l *List[T]) Trim() {
	if n := len(l.S); cap(l.S)-n > n/32 {
		l.setCap(n)
	}
}

// setCap moves the values to an array of c, at least their number.
func (l *List[T]) setCap(c int) {
	n := len(l.S)
	l.a = Grow(&l.a, c)
	l.S = l.a.S[:n]
}

// Free gives the memory back and empties l.
func (l *List[T]) Free() {
	l.a.Free()
	l.S = nil
}
