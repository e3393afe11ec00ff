// Package textarena keeps many short strings that live as long as one
// another (the names and URLs of a fleet's monitors) in shared blocks, so
// that each costs its length and not a heap object of its own, rounded up
// to its size class. A block lives while any of its strings does.
package textarena

import (
	"strings"
	"unsafe"
)

const block = 32 << 10

// Longest is the length of the longest string kept in a block; a longer
// one gets a heap object of its own.
const Longest = 512

// Arena copies strings into blocks. The zero value is ready; it is not
// safe for concurrent use.
type Arena struct {
	buf []byte
}

// Clone returns a copy of s that shares nothing with s.
func (a *Arena) Clone(s string) string {
	if len(s) == 0 || len(s) > Longest {
		return strings.Clone(s)
	}
	if cap(a.buf)-len(a.buf) < len(s) {
		a.buf = make([]byte, 0, block)
	}
	start := len(a.buf)
	a.buf = append(a.buf, s...)
	// The bytes up to len(a.buf) are never written again.
	return unsafe.String(&a.buf[start], len(s))
}
