package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// The layout of a bbolt file, read here without bbolt so that a damaged
// file is reported instead of crashing the process: bbolt maps the file into
// memory and trusts what it finds there, so a bad page number or element
// offset makes it read outside the mapping (a fault no recover catches) or
// index out of range.
//
// A file is a sequence of pages of one size. Every page starts with a
// header: its number (8 bytes), its type (2), the number of its elements
// (2) and how many pages after it it also spans (4). Pages 0 and 1 are
// headers of the whole file, written in turn, each with a checksum; the one
// with the higher transaction id that is intact is in force. It names the
// root page of the tree of buckets, the page listing free pages, and the
// number of pages in use. Tree pages are branch pages (elements: key
// position and size, child page) or leaf pages (elements: flags, key
// position, key size, value size); positions count from the element. A leaf
// element flagged as a bucket has a value that starts with the bucket's root
// page number, or 0 and then the bucket's only page inline. Integers are in
// the machine's byte order, as bbolt writes them.
const (
	pageHeaderSize   = 16
	elemSize         = 16
	metaSize         = 64
	bucketHeaderSize = 16

	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	noFreelist     = ^uint64(0)
	branchPageFlag = 0x01
	leafPageFlag   = 0x02
	freelistFlag   = 0x10
	bucketFlag     = 0x01

	maxDepth = 64
)

var ne = binary.NativeEndian

// meta is the part of a header page the check needs.
type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pages    uint64 // the high-water mark: pages [0, pages) are in use or free
	txid     uint64
}

var errNotBolt = errors.New("not a store file (no store header)")

func parseMeta(p []byte) (meta, error) {
	if len(p) < pageHeaderSize+metaSize {
		return meta{}, errNotBolt
	}
	b := p[pageHeaderSize : pageHeaderSize+metaSize]
	if ne.Uint32(b[0:]) != boltMagic {
		return meta{}, errNotBolt
	}
	if v := ne.Uint32(b[4:]); v != boltVersion {
		return meta{}, fmt.Errorf("storage format %d, want %d", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(b[:56])
	if h.Sum64() != ne.Uint64(b[56:]) {
		return meta{}, errors.New("header checksum mismatch")
	}
	m := meta{
		pageSize: ne.Uint32(b[8:]),
		root:     ne.Uint64(b[16:]),
		freelist: ne.Uint64(b[32:]),
		pages:    ne.Uint64(b[40:]),
		txid:     ne.Uint64(b[48:]),
	}
	if ps := m.pageSize; ps < 1024 || ps > 1<<24 || ps&(ps-1) != 0 {
		return meta{}, fmt.Errorf("page size %d is not a power of two from 1 KiB to 16 MiB", ps)
	}
	return m, nil
}

// page states during a check.
const (
	unseen = iota
	free
	inUse
)

type checker struct {
	r      io.ReaderAt
	ps     int64
	pages  uint64
	state  []byte
	bufs   [][]byte
	counts map[string]usage
}

// usage is what the key/value pairs of a bucket take.
type usage struct {
	pairs int64
	bytes int64 // keys, values and their elements
}

// fault is a damage found by the check, at an offset of the file.
type fault struct {
	off int64
	err error
}

func (f *fault) Error() string { return f.err.Error() }

func faultf(off int64, format string, args ...any) error {
	return &fault{off, fmt.Errorf(format, args...)}
}

// check reads the file r of size bytes as bbolt will and reports the first
// damage found as a *fault: a header or a page that does not hold together,
// a page referred to twice or both used and free, keys out of order, or
// anything outside the file. It returns what the key/value pairs of each
// top-level bucket take. An error that is not a *fault is a failed read.
func check(r io.ReaderAt, size int64) (map[string]usage, error) {
	m, err := readMetas(r, size)
	if err != nil {
		return nil, err
	}
	c := &checker{r: r, ps: int64(m.pageSize), pages: m.pages, counts: map[string]usage{}}
	if m.pages < 2 {
		return nil, faultf(0, "header counts %d pages, fewer than its own 2", m.pages)
	}
	if need := int64(m.pages) * c.ps; m.pages > uint64(size)/uint64(c.ps) || size < need {
		return nil, faultf(size, "file ends after %d bytes, but its header counts %d pages of %d bytes: truncated",
			size, m.pages, c.ps)
	}
	c.state = make([]byte, m.pages)
	c.state[0], c.state[1] = inUse, inUse
	if m.freelist != noFreelist {
		if err := c.freelist(m.freelist); err != nil {
			return nil, err
		}
	}
	if err := c.tree(m.root, nil, nil, 0, pageHeaderSize+16, nil, true); err != nil {
		return nil, err
	}
	if m.freelist != noFreelist {
		for id, s := range c.state {
			if s == unseen {
				return nil, faultf(int64(id)*c.ps, "page %d is neither in use nor free", id)
			}
		}
	}
	return c.counts, nil
}

// readMetas returns the header in force: of the two header pages that are
// intact, the one with the higher transaction id.
func readMetas(r io.ReaderAt, size int64) (meta, error) {
	buf := make([]byte, 4096)
	n, err := r.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return meta{}, err
	}
	m0, err0 := parseMeta(buf[:n])
	// The second header is one page in; without the first, try each page
	// size the first could have named.
	var m1 meta
	var err1 error = errNotBolt
	for ps := int64(1024); ps <= 1<<24; ps *= 2 {
		if err0 == nil && ps != int64(m0.pageSize) {
			continue
		}
		if ps+pageHeaderSize+metaSize > size {
			break
		}
		n, err := r.ReadAt(buf, ps)
		if err != nil && err != io.EOF {
			return meta{}, err
		}
		if m1, err = parseMeta(buf[:n]); err != errNotBolt {
			err1 = err // intact, or the header page, damaged
			if err == nil && int64(m1.pageSize) != ps {
				err1 = fmt.Errorf("found at offset %d, but names a page size of %d", ps, m1.pageSize)
			}
			break
		}
	}
	switch {
	case err0 == nil && err1 == nil:
		if m0.pageSize != m1.pageSize {
			return meta{}, faultf(0, "the two header pages disagree on the page size (%d, %d)", m0.pageSize, m1.pageSize)
		}
		if m1.txid > m0.txid {
			return m1, nil
		}
		return m0, nil
	case err0 == nil:
		return m0, nil
	case err1 == nil:
		return m1, nil
	case err0 == errNotBolt && err1 == errNotBolt:
		return meta{}, &fault{0, errNotBolt}
	}
	return meta{}, faultf(0, "both header pages are damaged: first: %v; second: %v", err0, err1)
}

func (c *checker) buf(depth int, n int64) []byte {
	for len(c.bufs) <= depth {
		c.bufs = append(c.bufs, nil)
	}
	if int64(cap(c.bufs[depth])) < n {
		c.bufs[depth] = make([]byte, n)
	}
	return c.bufs[depth][:n]
}

// read reads page id and the pages it spans into a buffer of the depth, and
// marks them in use.
func (c *checker) read(id uint64, depth int, refOff int64) ([]byte, error) {
	if id < 2 || id >= c.pages {
		return nil, faultf(refOff, "refers to page %d, outside pages 2 to %d", id, c.pages-1)
	}
	off := int64(id) * c.ps
	p := c.buf(depth, c.ps)
	if _, err := c.r.ReadAt(p, off); err != nil {
		return nil, err
	}
	if got := ne.Uint64(p); got != id {
		return nil, faultf(off, "page %d is labelled page %d", id, got)
	}
	overflow := uint64(ne.Uint32(p[12:]))
	if overflow >= c.pages-id {
		return nil, faultf(off+12, "page %d spans %d more pages, past the last page %d", id, overflow, c.pages-1)
	}
	for i := id; i <= id+overflow; i++ {
		switch c.state[i] {
		case free:
			return nil, faultf(off, "page %d is in use and also listed as free", i)
		case inUse:
			return nil, faultf(refOff, "page %d is used twice", i)
		}
		c.state[i] = inUse
	}
	if overflow > 0 {
		n := int64(overflow+1) * c.ps
		full := c.buf(depth, n)
		copy(full, p) // c.buf may have replaced p
		if _, err := c.r.ReadAt(full[c.ps:], off+c.ps); err != nil {
			return nil, err
		}
		p = full
	}
	return p, nil
}

func (c *checker) freelist(id uint64) error {
	p, err := c.read(id, 0, pageHeaderSize+32)
	if err != nil {
		return err
	}
	off := int64(id) * c.ps
	if f := ne.Uint16(p[8:]); f != freelistFlag {
		return faultf(off+8, "page %d should list the free pages but has type %#x", id, f)
	}
	first, count := uint64(0), uint64(ne.Uint16(p[10:]))
	if count == 0xFFFF {
		first, count = 1, ne.Uint64(p[pageHeaderSize:])
	}
	if count > (uint64(len(p))-pageHeaderSize)/8-first {
		return faultf(off+10, "page %d lists %d free pages, more than it can hold", id, count)
	}
	for j := range count {
		at := pageHeaderSize + (first+j)*8
		fid := ne.Uint64(p[at:])
		if fid < 2 || fid >= c.pages {
			return faultf(off+int64(at), "free page %d is outside pages 2 to %d", fid, c.pages-1)
		}
		if c.state[fid] != unseen {
			return faultf(off+int64(at), "page %d is listed as free twice or is in use", fid)
		}
		c.state[fid] = free
	}
	return nil
}

// tree checks the tree rooted at page id, whose keys are all at least lo
// and below hi (nil: no bound). refOff is where the reference to it is.
// count, if not nil, adds up its key/value pairs; top says the tree is the
// file's tree of buckets.
func (c *checker) tree(id uint64, lo, hi []byte, depth int, refOff int64, count *usage, top bool) error {
	if depth > maxDepth {
		return faultf(refOff, "trees nest more than %d deep", maxDepth)
	}
	p, err := c.read(id, depth, refOff)
	if err != nil {
		return err
	}
	return c.page(p, int64(id)*c.ps, lo, hi, depth, count, top, false)
}

// page checks the elements of the page p, which starts at off in the file.
func (c *checker) page(p []byte, off int64, lo, hi []byte, depth int, count *usage, top, inline bool) error {
	if len(p) < pageHeaderSize {
		return faultf(off, "inline page is %d bytes, shorter than a page header", len(p))
	}
	flags, n := ne.Uint16(p[8:]), int(ne.Uint16(p[10:]))
	isBranch := flags == branchPageFlag
	switch {
	case flags == leafPageFlag:
	case isBranch && !inline:
		if n == 0 {
			return faultf(off+10, "branch page has no elements")
		}
	default:
		return faultf(off+8, "page has type %#x, want a branch or leaf page", flags)
	}
	data := pageHeaderSize + n*elemSize
	if data > len(p) {
		return faultf(off+10, "%d elements do not fit in a page of %d bytes", n, len(p))
	}
	var keys [][]byte
	var children []uint64
	if isBranch {
		keys = make([][]byte, n)
		children = make([]uint64, n)
	}
	prev := lo
	for i := range n {
		e := pageHeaderSize + i*elemSize
		var pos, ksize, vsize uint64
		var eflags uint32
		if isBranch {
			pos, ksize = uint64(ne.Uint32(p[e:])), uint64(ne.Uint32(p[e+4:]))
			children[i] = ne.Uint64(p[e+8:])
		} else {
			eflags = ne.Uint32(p[e:])
			pos, ksize, vsize = uint64(ne.Uint32(p[e+4:])), uint64(ne.Uint32(p[e+8:])), uint64(ne.Uint32(p[e+12:]))
		}
		ks := uint64(e) + pos
		ve := ks + ksize + vsize
		if ks < uint64(data) || ve > uint64(len(p)) {
			return faultf(off+int64(e), "element %d lies at bytes %d to %d, outside the data of its page (%d to %d)",
				i, ks, ve, data, len(p))
		}
		key := p[ks : ks+ksize]
		if prev != nil && (bytes.Compare(prev, key) > 0 || i > 0 && bytes.Equal(prev, key)) {
			return faultf(off+int64(e), "element %d: key out of order", i)
		}
		if hi != nil && bytes.Compare(key, hi) >= 0 {
			return faultf(off+int64(e), "element %d: key beyond the range of its page", i)
		}
		prev = key
		if isBranch {
			keys[i] = key
			continue
		}
		if eflags&bucketFlag == 0 {
			if count != nil {
				count.pairs++
				count.bytes += int64(elemSize + ksize + vsize)
			}
			continue
		}
		// A bucket: its header, then its tree or inline page.
		val, valOff := p[ks+ksize:ve], off+int64(ks+ksize)
		if len(val) < bucketHeaderSize {
			return faultf(valOff, "bucket header is %d bytes, want %d", len(val), bucketHeaderSize)
		}
		var pairs usage
		var sub *usage
		if top {
			sub = &pairs
		}
		if root := ne.Uint64(val); root == 0 {
			if err := c.page(val[bucketHeaderSize:], valOff+bucketHeaderSize, nil, nil, depth+1, sub, false, true); err != nil {
				return err
			}
		} else if err := c.tree(root, nil, nil, depth+1, valOff, sub, false); err != nil {
			return err
		}
		if top {
			u := c.counts[string(key)]
			c.counts[string(key)] = usage{u.pairs + pairs.pairs, u.bytes + pairs.bytes}
		}
	}
	for i, child := range children {
		next := hi
		if i+1 < len(keys) {
			next = keys[i+1]
		}
		if err := c.tree(child, keys[i], next, depth+1, off+int64(pageHeaderSize+i*elemSize+8), count, top); err != nil {
			return err
		}
	}
	return nil
}
