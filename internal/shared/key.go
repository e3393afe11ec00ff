package shared

import (
	"reflect"
	"unsafe"
)

// Key identifies a value held in an interface, for a [Table] of such
// values: values whose keys are equal are the same value, and computing
// or comparing keys never panics.
//
// A value whose type compares plainly (booleans, integers, strings,
// pointers, channels, and arrays and structs of those) is its own key:
// equal values are indistinguishable, so they may share a slot. Any other
// value (a map, a function, or one holding a float, an interface or a
// slice) is keyed by identity: its type and the interface's data word. An
// interface holds a value either in that word itself, for a type the size
// of a pointer that holds one (a map, a function value), or as a pointer
// to a copy of the value that nothing ever changes; either way, one type
// and one data word are one value. The table holds the value while its key
// is indexed, so the memory the word points at cannot be reused for
// another value meanwhile. Two equal values in two copies get two keys,
// and do not share.
type Key struct {
	v any            // the value, when it compares plainly; else its typeID
	p unsafe.Pointer // nil, or the data word of a value keyed by identity
}

// typeID holds the type word of a value keyed by identity. No value from
// outside this package has this type, so a Key of such a value never
// equals a Key of a value that compares plainly; and held in an interface
// it takes no allocation.
type typeID struct{ t unsafe.Pointer }

// KeyOf returns the key of x.
func KeyOf(x any) Key {
	if x == nil {
		return Key{}
	}
	if plain(reflect.TypeOf(x)) {
		return Key{v: x}
	}
	w := (*[2]unsafe.Pointer)(unsafe.Pointer(&x)) // an interface's type and data words
	return Key{v: typeID{w[0]}, p: w[1]}
}

// plain reports whether == on values of t can neither panic (an interface
// holding a value that is not comparable) nor find a value unequal to
// itself (a float NaN), so that the values can key a map.
func plain(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.String, reflect.Pointer, reflect.Chan, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return plain(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !plain(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// MapKey returns the identity of a map: maps with the same key are the
// same map, and a table keyed by it shares a map among its holders without
// reading the map.
func MapKey[M ~map[K]V, K comparable, V any](m M) unsafe.Pointer {
	return reflect.ValueOf(m).UnsafePointer()
}
