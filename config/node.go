package config

import "strings"

// kind is the kind of a parsed node.
type kind uint8

const (
	nullNode kind = iota
	scalarNode
	mapNode
	seqNode
)

func (k kind) String() string {
	switch k {
	case scalarNode:
		return "a scalar"
	case mapNode:
		return "a mapping"
	case seqNode:
		return "a sequence"
	}
	return "nothing"
}

// node is one value of a parsed monitor: the small tree every input format
// (block YAML, any YAML through the library, JSON) is turned into before it is
// mapped onto a monitor. Children form a linked list; a mapping's children
// carry their key.
type node struct {
	kind    kind
	quoted  bool // a quoted scalar (YAML quotes, JSON string)
	line    int32
	keyLine int32
	key     string
	val     string
	first   *node
	last    *node
	next    *node
	n       int32 // number of children
}

func (n *node) add(c *node) {
	if n.last == nil {
		n.first = c
	} else {
		n.last.next = c
	}
	n.last = c
	n.n++
}

// get returns the child of a mapping with key k, or nil.
func (n *node) get(k string) *node {
	for c := n.first; c != nil; c = c.next {
		if c.key == k {
			return c
		}
	}
	return nil
}

// arena hands out nodes from reusable blocks, so parsing a million monitors
// does not allocate a million small trees. Nodes are valid until reset.
type arena struct {
	blocks [][]node
	b, i   int
}

const arenaBlock = 128

func (a *arena) alloc() *node {
	if a.b == len(a.blocks) {
		a.blocks = append(a.blocks, make([]node, arenaBlock))
	}
	blk := a.blocks[a.b]
	n := &blk[a.i]
	*n = node{}
	a.i++
	if a.i == arenaBlock {
		a.b, a.i = a.b+1, 0
	}
	return n
}

func (a *arena) reset() { a.b, a.i = 0, 0 }

// digest hashes a node tree: equal trees (mapping keys in any order) give
// equal digests.
func digest(n *node) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
		h ^= 0xff
		h *= prime
	}
	h ^= uint64(n.kind)
	h *= prime
	switch n.kind {
	case scalarNode:
		mix(n.val)
	case seqNode:
		for c := n.first; c != nil; c = c.next {
			h ^= digest(c)
			h *= prime
		}
	case mapNode:
		var sum uint64
		for c := n.first; c != nil; c = c.next {
			k := uint64(14695981039346656037)
			for i := 0; i < len(c.key); i++ {
				k ^= uint64(c.key[i])
				k *= prime
			}
			sum += (k ^ digest(c)) * prime
		}
		h ^= sum
		h *= prime
	}
	return h
}

// persist copies a node tree out of an arena, strings included, so that it
// can be kept.
func persist(n *node) *node {
	c := &node{kind: n.kind, quoted: n.quoted, line: n.line, keyLine: n.keyLine,
		key: strings.Clone(n.key), val: strings.Clone(n.val)}
	for k := n.first; k != nil; k = k.next {
		c.add(persist(k))
	}
	return c
}

// equalNodes reports whether two trees hold the same keys and values in the
// same order (lines aside).
func equalNodes(a, b *node) bool {
	if a.kind != b.kind || a.n != b.n || a.key != b.key || a.val != b.val {
		return false
	}
	for x, y := a.first, b.first; x != nil; x, y = x.next, y.next {
		if !equalNodes(x, y) {
			return false
		}
	}
	return true
}

// memo remembers what a block built to, by content, so that the same block
// in a million monitors is read once.
type memo struct {
	m map[uint64][]memoEntry
	n int
}

// memoMax bounds a memo: blocks that differ in every monitor (a URL each)
// gain nothing from it, and it must not grow with the file.
const memoMax = 4096

type memoEntry struct {
	tree *node
	val  any
}

func (m *memo) get(h uint64, n *node) (any, bool) {
	for _, e := range m.m[h] {
		if equalNodes(e.tree, n) {
			return e.val, true
		}
	}
	return nil, false
}

func (m *memo) put(h uint64, n *node, v any) {
	if m.n >= memoMax {
		return
	}
	if m.m == nil {
		m.m = make(map[uint64][]memoEntry)
	}
	m.n++
	m.m[h] = append(m.m[h], memoEntry{tree: persist(n), val: v})
}
