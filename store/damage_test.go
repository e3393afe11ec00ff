package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ziad/cpra"
)

// smallFixture writes a store of 300 records, then rewrites 100 of them and
// deletes 50, and returns its bytes: branch and leaf pages, free pages.
func smallFixture(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state")
	f := mustOpen(t, path)
	fill(t, f, 0, 300, 50, 1)
	fill(t, f, 100, 100, 100, 2)
	var del []cpra.Change
	for i := 200; i < 250; i++ {
		del = append(del, cpra.Change{Key: key(i)})
	}
	if err := f.Write(del); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// useDamaged writes b to a file and uses it as a store: Open must give a
// store, a *CorruptError or a *VersionError, and a store that opens must
// Load, Write and Close without a panic (a crash fails the test binary). It
// returns whether Open took the file.
func useDamaged(t testing.TB, dir string, b []byte) bool {
	path := filepath.Join(dir, "state")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		if !errors.As(err, new(*CorruptError)) && !errors.As(err, new(*VersionError)) {
			t.Fatalf("Open: got %T %v, want a *CorruptError or *VersionError", err, err)
		}
		return false
	}
	defer f.Close()
	n := 0
	if err := f.Load(func(k, v []byte) error { n++; return nil }); err != nil && !errors.As(err, new(*CorruptError)) {
		t.Fatalf("Load: got %T %v, want nil or a *CorruptError", err, err)
	}
	changes := []cpra.Change{{Key: key(5), Value: []byte("new")}, {Key: key(260)}, {Key: key(1000), Value: []byte("x")}}
	if err := f.Write(changes); err != nil && !errors.As(err, new(*CorruptError)) {
		t.Fatalf("Write: got %T %v, want nil or a *CorruptError", err, err)
	}
	return true
}

// TestDamageNeverCrashes changes bytes of a store file, one at a time: every
// byte of every page header and of the first elements of each page, and
// bytes at random; no change may crash the process or give an error other
// than a *CorruptError or a *VersionError.
func TestDamageNeverCrashes(t *testing.T) {
	good := smallFixture(t)
	dir := t.TempDir()
	if shm, err := os.MkdirTemp("/dev/shm", "store-test-"); err == nil {
		// A file system in memory where there is one: the syncs are free.
		dir = shm
		defer os.RemoveAll(shm)
	}
	m, err := readMetas(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	ps, used := int(m.pageSize), int(m.pages)*int(m.pageSize)
	var offsets []int
	for page := range int(m.pages) {
		for i := range pageHeaderSize + 4*elemSize {
			offsets = append(offsets, page*ps+i)
		}
	}
	for i := pageHeaderSize + 4*elemSize; i < pageHeaderSize+metaSize; i++ {
		offsets = append(offsets, i, ps+i) // the rest of the headers
	}
	r := rand.New(rand.NewPCG(7, 7))
	for range 300 {
		offsets = append(offsets, r.IntN(used))
	}
	if testing.Short() || raceEnabled {
		// A sample: the race detector makes each file ten times slower.
		r.Shuffle(len(offsets), func(i, j int) { offsets[i], offsets[j] = offsets[j], offsets[i] })
		offsets = offsets[:len(offsets)/8]
	}
	taken := 0
	for _, off := range offsets {
		for _, change := range []func(byte) byte{
			func(b byte) byte { return b ^ 0xFF },
			func(b byte) byte { return b ^ 0x01 },
		} {
			bad := bytes.Clone(good)
			bad[off] = change(bad[off])
			if useDamaged(t, dir, bad) {
				taken++
			}
		}
	}
	t.Logf("%d damaged files: %d refused, %d taken (the change fell where bbolt does not look, or in a value)",
		2*len(offsets), 2*len(offsets)-taken, taken)
}

// FuzzDamage is TestDamageNeverCrashes with changes the fuzzer picks.
func FuzzDamage(f *testing.F) {
	f.Add(uint32(8), byte(0x20))
	f.Add(uint32(4096+16+40), byte(0xFF))
	good := smallFixture(f)
	f.Fuzz(func(t *testing.T, off uint32, xor byte) {
		bad := bytes.Clone(good)
		bad[int(off)%len(bad)] ^= xor
		useDamaged(t, t.TempDir(), bad)
	})
}
