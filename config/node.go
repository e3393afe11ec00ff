package config

import (
	"fmt"
	"strings"

	"github.com/ziad/cpra/internal/textarena"
)

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
	def     bool // in the defaults block
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

// keyIndex finds the keys of one mapping being built in constant time, so
// that checking every key for a duplicate costs time linear in the size of
// the mapping. Small mappings are searched directly.
type keyIndex struct {
	m map[string]*node
}

// smallMapping is the size up to which a mapping is searched directly.
const smallMapping = 16

// find returns the child of parent with key k, or nil.
func (x *keyIndex) find(parent *node, k string) *node {
	if x.m == nil {
		if parent.n < smallMapping {
			return parent.get(k)
		}
		x.m = make(map[string]*node, 2*parent.n)
		for c := parent.first; c != nil; c = c.next {
			if _, dup := x.m[c.key]; !dup {
				x.m[c.key] = c
			}
		}
	}
	return x.m[k]
}

// add adds c to parent and to the index.
func (x *keyIndex) add(parent, c *node) {
	parent.add(c)
	if x.m != nil {
		if _, dup := x.m[c.key]; !dup {
			x.m[c.key] = c
		}
	}
}

// arena hands out nodes from reusable blocks, so parsing a million monitors
// does not allocate a million small trees. Nodes are valid until reset.
//
// It also counts the nodes of one monitor against the limit on values
// (Limits.Values): the parsers stop once over records the first node
// beyond it.
type arena struct {
	blocks [][]node
	b, i   int
	count  int
	limit  int   // values allowed in one monitor; 0: defaultValues
	over   *node // the first node beyond the limit, once reached
	// strs holds the names of the monitors built from this arena's nodes
	// (copied out of the file's text, which is not kept).
	strs textarena.Arena
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
	// The YAML library's reader counts the document node too.
	if a.count++; a.count+1 > a.maxValues() && a.over == nil {
		a.over = n
	}
	return n
}

func (a *arena) maxValues() int {
	if a.limit > 0 {
		return a.limit
	}
	return defaultValues
}

func (a *arena) reset() { a.b, a.i, a.count, a.over = 0, 0, 0, nil }

// tooManyValues is the error of a monitor with more values than the limit,
// at the line of the first value beyond it.
func tooManyValues(line int32, limit int) error {
	return &limitError{line: int(line), msg: fmt.Sprintf("more than %d values (mappings, lists and scalars) in one monitor", limit)}
}

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
	c := &node{kind: n.kind, quoted: n.quoted, def: n.def, line: n.line, keyLine: n.keyLine,
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
