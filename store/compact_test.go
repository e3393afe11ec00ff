package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ziad/cpra"
)

// perRecord returns the bytes of the pages in use (not the file's length,
// which grows in steps) per record.
func perRecord(t *testing.T, path string, records int) float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := readMetas(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return float64(m.pages) * float64(m.pageSize) / float64(records)
}

// writeShuffled writes records 0 to n-1 in a random order, in batches.
func writeShuffled(t *testing.T, s cpra.Store, n, batch int) {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 5))
	var changes []cpra.Change
	for c, i := range r.Perm(n) {
		changes = append(changes, cpra.Change{Key: key(i), Value: value(r)})
		if len(changes) == batch || c == n-1 {
			if err := s.Write(changes); err != nil {
				t.Fatal(err)
			}
			changes = changes[:0]
		}
	}
}

// TestRecordsInKeyOrderFillPages: records first written in key order (each
// Write appending past the last key) leave full pages, under 100 bytes a
// record of 76 bytes; written at random, pages are left half full on a
// split, not full, which would leave most of them nearly empty.
func TestRecordsInKeyOrderFillPages(t *testing.T) {
	const n = 10_000
	dir := t.TempDir()
	sorted := filepath.Join(dir, "sorted")
	f := mustOpen(t, sorted)
	fill(t, f, 0, n, 1000, 1)
	f.Close()
	if got := perRecord(t, sorted, n); got > 100 {
		t.Errorf("in key order: %.1f bytes a record, want at most 100", got)
	}

	shuffled := filepath.Join(dir, "shuffled")
	f = mustOpen(t, shuffled)
	writeShuffled(t, f, n, 1000)
	f.Close()
	// Pages split full would take over 400 (most nearly empty); split
	// half full, 140 in use and the rest free pages left by the Writes.
	if got := perRecord(t, shuffled, n); got > 320 {
		t.Errorf("at random: %.1f bytes a record, want at most 320", got)
	}
}

func TestCompact(t *testing.T) {
	const n = 20_000
	path := filepath.Join(t.TempDir(), "state")
	f := mustOpen(t, path)
	writeShuffled(t, f, n, 2000)
	before := dump(t, f)
	st0, _ := f.Stats()
	pages0 := perRecord(t, path, n)
	if err := f.Compact(); err != nil {
		t.Fatal(err)
	}
	st1, _ := f.Stats()
	if got := perRecord(t, path, n); got > 100 {
		t.Errorf("after Compact: %.1f bytes a record, want at most 100", got)
	}
	t.Logf("before: %+v (%.0f B/record in pages); after: %+v (%.0f)", st0, pages0, st1, perRecord(t, path, n))
	if st1.Records != n || st1.Data != st0.Data {
		t.Errorf("Stats after Compact: %+v, want %d records of %d bytes", st1, n, st0.Data)
	}
	if got := dump(t, f); !equal(got, before) {
		t.Fatal("Compact changed the records")
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Compact left its temporary file: %v", err)
	}
	if err := f.Write([]cpra.Change{{Key: key(n), Value: []byte("after")}, {Key: key(0)}}); err != nil {
		t.Fatalf("Write after Compact: %v", err)
	}
	f.Close()
	f = mustOpen(t, path)
	if got, _ := f.Stats(); got.Records != n {
		t.Errorf("reopened: %d records, want %d", got.Records, n)
	}
}

func TestCompactWhileInUse(t *testing.T) {
	f := mustOpen(t, filepath.Join(t.TempDir(), "state"))
	fill(t, f, 0, 2000, 500, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		r := rand.New(rand.NewPCG(1, 1))
		for i := range 50 {
			if err := f.Write([]cpra.Change{{Key: key(r.IntN(2000)), Value: value(r)}, {Key: key(3000 + i), Value: []byte("v")}}); err != nil {
				t.Errorf("Write: %v", err)
			}
		}
	})
	wg.Go(func() {
		for range 20 {
			n := 0
			if err := f.Load(func(k, v []byte) error { n++; return nil }); err != nil || n < 2000 {
				t.Errorf("Load: %d records, %v", n, err)
			}
		}
	})
	for range 3 {
		if err := f.Compact(); err != nil {
			t.Errorf("Compact: %v", err)
		}
	}
	wg.Wait()
	if st, _ := f.Stats(); st.Records != 2050 {
		t.Errorf("got %d records, want 2050", st.Records)
	}
	if got := len(dump(t, f)); got != 2050 {
		t.Errorf("Load: %d records, want 2050", got)
	}
}

func TestOpenRemovesWhatACutShortCompactLeft(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	f := mustOpen(t, path)
	fill(t, f, 0, 10, 10, 1)
	f.Close()
	if err := os.WriteFile(path+".compact", []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	f = mustOpen(t, path)
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open left the temporary file of a Compact: %v", err)
	}
	if got := len(dump(t, f)); got != 10 {
		t.Errorf("got %d records, want 10", got)
	}
}
