package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ziad/cpra"
	bolt "go.etcd.io/bbolt"
)

// layout locates the parts of a store file that the damage tests hit.
type layout struct {
	ps       int64
	pages    uint64
	freelist uint64
	free     int    // pages listed free
	branch   uint64 // the root page of the records, a branch page
	leaf     uint64 // its first child, a leaf page
}

func readLayout(t *testing.T, b []byte) layout {
	t.Helper()
	m, err := readMetas(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	l := layout{ps: int64(m.pageSize), pages: m.pages, freelist: m.freelist}
	l.free = int(ne.Uint16(b[int64(m.freelist)*l.ps+10:]))
	// The tree of buckets is one leaf page: header, then records.
	root := b[int64(m.root)*l.ps:]
	if ne.Uint16(root[8:]) != leafPageFlag || ne.Uint16(root[10:]) != 2 {
		t.Fatalf("tree of buckets: flags %#x, %d elements; want a leaf of 2", ne.Uint16(root[8:]), ne.Uint16(root[10:]))
	}
	e := pageHeaderSize + elemSize
	pos, ksize := int(ne.Uint32(root[e+4:])), int(ne.Uint32(root[e+8:]))
	if k := string(root[e+pos : e+pos+ksize]); k != "records" {
		t.Fatalf("second bucket is %q, want records", k)
	}
	l.branch = ne.Uint64(root[e+pos+ksize:])
	bp := b[int64(l.branch)*l.ps:]
	if ne.Uint16(bp[8:]) != branchPageFlag {
		t.Fatalf("records root has flags %#x, want a branch page", ne.Uint16(bp[8:]))
	}
	l.leaf = ne.Uint64(bp[pageHeaderSize+8:])
	return l
}

// leafElem returns the offset in the file of element i of the leaf page.
func (l layout) leafElem(i int) int64 { return int64(l.leaf)*l.ps + pageHeaderSize + int64(i)*elemSize }

// fixture writes a store of 3,000 records in batches of 100, then changes
// 500 of them, so that it has a branch page, leaves and free pages; it
// returns the file's bytes.
func fixture(t *testing.T, path string) []byte {
	t.Helper()
	f := mustOpen(t, path)
	fill(t, f, 0, 3000, 100, 1)
	fill(t, f, 1000, 500, 100, 2)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenReportsDamage(t *testing.T) {
	put64 := func(b []byte, off int64, v uint64) { ne.PutUint64(b[off:], v) }
	tests := []struct {
		name   string
		damage func(b []byte, l layout) []byte
		offset func(l layout) int64
		says   string
	}{
		{"truncated in the middle",
			func(b []byte, l layout) []byte { return b[:int64(l.pages)*l.ps/2] },
			func(l layout) int64 { return int64(l.pages) * l.ps / 2 }, "truncated"},
		{"truncated within the first page",
			func(b []byte, l layout) []byte { return b[:3000] },
			func(layout) int64 { return 3000 }, "truncated"},
		{"cut to 100 bytes",
			func(b []byte, l layout) []byte { return b[:100] },
			func(layout) int64 { return 100 }, "truncated"},
		{"cut to 20 bytes",
			func(b []byte, l layout) []byte { return b[:20] },
			func(layout) int64 { return 0 }, "not a store file"},
		{"both header pages zeroed",
			func(b []byte, l layout) []byte { clear(b[:2*l.ps]); return b },
			func(layout) int64 { return 0 }, "not a store file"},
		{"text",
			func([]byte, layout) []byte { return bytes.Repeat([]byte("not a store at all\n"), 500) },
			func(layout) int64 { return 0 }, "not a store file"},
		{"both header checksums wrong",
			func(b []byte, l layout) []byte { b[pageHeaderSize+56] ^= 1; b[l.ps+pageHeaderSize+56] ^= 1; return b },
			func(layout) int64 { return 0 }, "both header pages are damaged"},
		{"a leaf page of an unknown type",
			func(b []byte, l layout) []byte { b[int64(l.leaf)*l.ps+8] = 0x20; return b },
			func(l layout) int64 { return int64(l.leaf)*l.ps + 8 }, "want a branch or leaf page"},
		{"a page labelled as another",
			func(b []byte, l layout) []byte { b[int64(l.leaf)*l.ps] ^= 1; return b },
			func(l layout) int64 { return int64(l.leaf) * l.ps }, "is labelled page"},
		{"an element pointing past its page",
			func(b []byte, l layout) []byte { ne.PutUint32(b[l.leafElem(1)+4:], 0xFFFF); return b },
			func(l layout) int64 { return l.leafElem(1) }, "outside the data of its page"},
		{"keys out of order",
			func(b []byte, l layout) []byte {
				e := l.leafElem(1)
				b[e+int64(ne.Uint32(b[e+4:]))+2] = 0 // m\x00monitor-… becomes m\x00\x00onitor-…
				return b
			},
			func(l layout) int64 { return l.leafElem(1) }, "key out of order"},
		{"a child past the last page",
			func(b []byte, l layout) []byte {
				put64(b, int64(l.branch)*l.ps+pageHeaderSize+8, l.pages+5)
				return b
			},
			func(l layout) int64 { return int64(l.branch)*l.ps + pageHeaderSize + 8 }, "outside pages 2 to"},
		{"a page in use listed as free",
			func(b []byte, l layout) []byte { put64(b, int64(l.freelist)*l.ps+pageHeaderSize, l.leaf); return b },
			func(l layout) int64 { return int64(l.leaf) * l.ps }, "in use and also listed as free"},
		{"a free list longer than its page",
			func(b []byte, l layout) []byte {
				ne.PutUint16(b[int64(l.freelist)*l.ps+10:], 0xFFFF)
				put64(b, int64(l.freelist)*l.ps+pageHeaderSize, 1<<40)
				return b
			},
			func(l layout) int64 { return int64(l.freelist)*l.ps + 10 }, "more than it can hold"},
		{"a page neither in use nor free",
			func(b []byte, l layout) []byte {
				at := int64(l.freelist)*l.ps + 10
				ne.PutUint16(b[at:], ne.Uint16(b[at:])-1)
				return b
			},
			func(l layout) int64 {
				return -2 // the page dropped from the list; checked below
			}, "neither in use nor free"},
	}
	dir := t.TempDir()
	good := fixture(t, filepath.Join(dir, "good"))
	l := readLayout(t, good)
	if l.free == 0 || l.free == 0xFFFF {
		t.Fatalf("fixture lists %d free pages, want some and fewer than 65535", l.free)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			bad := tt.damage(bytes.Clone(good), l)
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatal("Open: got nil error, want a *CorruptError")
			}
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Open: got %T %v, want a *CorruptError", err, err)
			}
			want := tt.offset(l)
			if want == -2 {
				// The last page the list names is no longer listed.
				at := int64(l.freelist)*l.ps + pageHeaderSize + int64(l.free-1)*8
				want = int64(ne.Uint64(good[at:])) * l.ps
			}
			if ce.Path != path || ce.Offset != want {
				t.Errorf("got path %s offset %d, want %s offset %d (%v)", ce.Path, ce.Offset, path, want, err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.says) || !strings.Contains(msg, path) {
				t.Errorf("got %q, want it to name the file and say %q", msg, tt.says)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, bad) {
				t.Error("Open changed the damaged file")
			}
			t.Log(err)
		})
	}
}

func TestTornHeaderFallsBackToThePreviousWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	f := mustOpen(t, path)
	fill(t, f, 0, 100, 100, 1)
	if err := f.Write([]cpra.Change{{Key: []byte("last"), Value: []byte("write")}}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, _ := os.ReadFile(path)
	ps := int64(os.Getpagesize())
	txid := func(page int64) uint64 { return ne.Uint64(b[page*ps+pageHeaderSize+48:]) }
	newer := int64(0)
	if txid(1) > txid(0) {
		newer = 1
	}
	b[newer*ps+pageHeaderSize+20] ^= 0xFF // the root page number, under the checksum
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f = mustOpen(t, path)
	got := dump(t, f)
	if len(got) != 100 {
		t.Fatalf("got %d records, want the 100 before the torn write", len(got))
	}
	if err := f.Write([]cpra.Change{{Key: []byte("again"), Value: []byte("v")}}); err != nil {
		t.Fatalf("Write after falling back: %v", err)
	}
	f.Close()
	f = mustOpen(t, path)
	if got := len(dump(t, f)); got != 101 {
		t.Errorf("after a Write and reopening: got %d records, want 101", got)
	}
}

func TestOpenRefusesAForeignBboltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(path)
	var ce *CorruptError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `not a store file: holds "other"`) {
		t.Fatalf("got %v, want a *CorruptError saying it is not a store file", err)
	}
}

// setFormat rewrites the format version of the store at path.
func setFormat(t *testing.T, path string, v uint32) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(headerBucket).Put(formatKey, binary.BigEndian.AppendUint32(nil, v))
	}); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesANewerFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	f := mustOpen(t, path)
	fill(t, f, 0, 10, 10, 1)
	f.Close()
	setFormat(t, path, FormatVersion+1)
	before, _ := os.ReadFile(path)

	_, err := Open(path)
	var ve *VersionError
	if !errors.As(err, &ve) || !errors.Is(err, ErrNewerVersion) {
		t.Fatalf("got %v, want a *VersionError wrapping ErrNewerVersion", err)
	}
	if ve.Path != path || ve.Version != FormatVersion+1 || ve.Supported != FormatVersion {
		t.Errorf("got %+v, want path %s, version %d, supported %d", *ve, path, FormatVersion+1, FormatVersion)
	}
	want := "format version 2, this build reads versions up to 1"
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("got %q, want it to name the file and say %q", err, want)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Error("Open changed a file of a newer format")
	}

	f = mustOpen(t, path, Fresh())
	aside, cause := f.MovedAside()
	if !errors.Is(cause, ErrNewerVersion) || aside == "" {
		t.Fatalf("MovedAside: got %q, %v, want a path and the version error", aside, cause)
	}
	if moved, _ := os.ReadFile(aside); !bytes.Equal(moved, before) {
		t.Error("the file moved aside is not the file that was there")
	}
	if got := dump(t, f); len(got) != 0 {
		t.Errorf("fresh store holds %d records, want 0", len(got))
	}

	setFormat(t, aside, 0)
	if _, err := Open(aside); !errors.As(err, new(*CorruptError)) {
		t.Errorf("format version 0: got %v, want a *CorruptError", err)
	}
}

func TestFreshMovesADamagedFileAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	good := fixture(t, path)
	l := readLayout(t, good)
	bad := bytes.Clone(good)
	bad[int64(l.leaf)*l.ps+8] = 0x20
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, path, Fresh())
	aside, cause := f.MovedAside()
	var ce *CorruptError
	if !errors.As(cause, &ce) || ce.Offset != int64(l.leaf)*l.ps+8 {
		t.Fatalf("MovedAside cause: got %v, want the *CorruptError", cause)
	}
	if !strings.HasPrefix(aside, path+".aside-") {
		t.Errorf("moved to %s, want %s.aside-…", aside, path)
	}
	if moved, _ := os.ReadFile(aside); !bytes.Equal(moved, bad) {
		t.Error("the file moved aside is not the damaged file")
	}
	if got := dump(t, f); len(got) != 0 {
		t.Fatalf("fresh store holds %d records, want 0", len(got))
	}
	fill(t, f, 0, 10, 10, 3)
	f.Close()
	f = mustOpen(t, path)
	if p, _ := f.MovedAside(); p != "" {
		t.Errorf("a good file reopened: MovedAside says %q, want nothing", p)
	}
	if got := len(dump(t, f)); got != 10 {
		t.Errorf("after reopening: got %d records, want 10", got)
	}
}

func TestReset(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	if aside, err := Reset(path); aside != "" || err != nil {
		t.Errorf("Reset of no file: got %q, %v, want nothing and nil", aside, err)
	}
	var asides []string
	for i := range 3 {
		f := mustOpen(t, path)
		fill(t, f, 0, i+1, 10, 1)
		f.Close()
		aside, err := Reset(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Reset the file is still there: %v", err)
		}
		asides = append(asides, aside)
	}
	// Moved thrice within a second or two: no name is reused, nothing lost.
	for i, aside := range asides {
		f := mustOpen(t, aside)
		if got := len(dump(t, f)); got != i+1 {
			t.Errorf("%s: got %d records, want %d", aside, got, i+1)
		}
		f.Close()
	}
	if asides[0] == asides[1] || asides[1] == asides[2] {
		t.Errorf("names reused: %q", asides)
	}
}
