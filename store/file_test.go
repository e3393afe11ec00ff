package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ziad/cpra"
)

// key is the key of monitor i, as the engine spells a monitor's record.
func key(i int) []byte { return fmt.Appendf(nil, "m\x00monitor-%06d", i) }

// value is a value of 60 bytes drawn from r.
func value(r *rand.Rand) []byte {
	v := make([]byte, 60)
	for i := range v {
		v[i] = byte(r.Uint32())
	}
	return v
}

// fill writes records first to first+n-1 in batches of batch.
func fill(t testing.TB, s cpra.Store, first, n, batch int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	changes := make([]cpra.Change, 0, batch)
	for i := first; i < first+n; i++ {
		changes = append(changes, cpra.Change{Key: key(i), Value: value(r)})
		if len(changes) == batch || i == first+n-1 {
			if err := s.Write(changes); err != nil {
				t.Fatalf("Write: %v", err)
			}
			changes = changes[:0]
		}
	}
}

// dump returns the records of s, in the order Load gives them.
func dump(t testing.TB, s cpra.Store) []string {
	t.Helper()
	var out []string
	if err := s.Load(func(k, v []byte) error {
		out = append(out, fmt.Sprintf("%q=%q", k, v))
		return nil
	}); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return out
}

func mustOpen(t testing.TB, path string, opts ...Option) *File {
	t.Helper()
	f, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestMemoryAndFileAgree(t *testing.T) {
	ch := func(k, v string) cpra.Change { return cpra.Change{Key: []byte(k), Value: []byte(v)} }
	del := func(k string) cpra.Change { return cpra.Change{Key: []byte(k)} }
	tests := []struct {
		name    string
		batches [][]cpra.Change
		want    []string
	}{
		{"puts come back in key order", [][]cpra.Change{{ch("b", "2"), ch("a", "1")}, {ch("c", "3")}},
			[]string{`"a"="1"`, `"b"="2"`, `"c"="3"`}},
		{"a later change of a key wins", [][]cpra.Change{{ch("a", "1"), ch("a", "2"), del("b"), ch("b", "3")}},
			[]string{`"a"="2"`, `"b"="3"`}},
		{"a nil value deletes", [][]cpra.Change{{ch("a", "1"), ch("b", "2")}, {del("a")}},
			[]string{`"b"="2"`}},
		{"a delete within the batch that put", [][]cpra.Change{{ch("a", "1"), del("a")}}, nil},
		{"deleting a missing key is no error", [][]cpra.Change{{del("x")}, {ch("y", "1")}}, []string{`"y"="1"`}},
		{"an empty value is kept", [][]cpra.Change{{{Key: []byte("e"), Value: []byte{}}}}, []string{`"e"=""`}},
		{"an empty batch", [][]cpra.Change{{}}, nil},
		{"binary keys", [][]cpra.Change{{ch("\xff", "hi"), ch("\x00", "lo")}}, []string{`"\x00"="lo"`, `"\xff"="hi"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			f := mustOpen(t, path)
			m := Memory()
			for _, b := range tt.batches {
				if err := f.Write(b); err != nil {
					t.Fatalf("File.Write: %v", err)
				}
				if err := m.Write(b); err != nil {
					t.Fatalf("Mem.Write: %v", err)
				}
			}
			for name, s := range map[string]cpra.Store{"Mem": m, "File": f} {
				if got := dump(t, s); !equal(got, tt.want) {
					t.Errorf("%s: got %q, want %q", name, got, tt.want)
				}
			}
			if got := m.Len(); got != len(tt.want) {
				t.Errorf("Mem.Len: got %d, want %d", got, len(tt.want))
			}
			data := int64(0)
			_ = f.Load(func(k, v []byte) error { data += int64(elemSize + len(k) + len(v)); return nil })
			if st, err := f.Stats(); err != nil || st.Records != int64(len(tt.want)) || st.Data != data {
				t.Errorf("File.Stats: got %+v, %v, want %d records of %d bytes", st, err, len(tt.want), data)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			f = mustOpen(t, path)
			if got := dump(t, f); !equal(got, tt.want) {
				t.Errorf("File after reopening: got %q, want %q", got, tt.want)
			}
			if st, _ := f.Stats(); st.Records != int64(len(tt.want)) || st.Data != data {
				t.Errorf("File.Stats after reopening: got %+v, want %d records of %d bytes", st, len(tt.want), data)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMemGet(t *testing.T) {
	m := Memory()
	if err := m.Write([]cpra.Change{{Key: []byte("a"), Value: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	v, ok := m.Get([]byte("a"))
	if !ok || string(v) != "1" {
		t.Fatalf("Get(a): got %q, %v, want 1, true", v, ok)
	}
	v[0] = 'x' // a copy: the store keeps its own
	if v, _ := m.Get([]byte("a")); string(v) != "1" {
		t.Errorf("Get(a) after changing a returned copy: got %q, want 1", v)
	}
	if _, ok := m.Get([]byte("b")); ok {
		t.Error("Get(b): found, want not found")
	}
	// Load hands out copies too.
	_ = m.Load(func(k, v []byte) error { v[0] = 'y'; return nil })
	if v, _ := m.Get([]byte("a")); string(v) != "1" {
		t.Errorf("Get(a) after changing what Load gave: got %q, want 1", v)
	}
}

func TestMemFailWrites(t *testing.T) {
	m := Memory()
	boom := errors.New("disk full")
	m.FailWrites(boom)
	if err := m.Write([]cpra.Change{{Key: []byte("a"), Value: []byte("1")}}); !errors.Is(err, boom) {
		t.Fatalf("Write while failing: got %v, want %v", err, boom)
	}
	if m.Len() != 0 {
		t.Fatalf("a failed Write changed the store: %d records", m.Len())
	}
	m.FailWrites(nil)
	if err := m.Write([]cpra.Change{{Key: []byte("a"), Value: []byte("1")}}); err != nil {
		t.Fatalf("Write after the fault cleared: %v", err)
	}
	if m.Len() != 1 {
		t.Fatalf("got %d records, want 1", m.Len())
	}
}

func TestWriteRejectsBadChanges(t *testing.T) {
	ok := cpra.Change{Key: []byte("ok"), Value: []byte("1")}
	tests := []struct {
		name   string
		change cpra.Change
		want   string
	}{
		{"empty key", cpra.Change{Key: []byte{}, Value: []byte("v")}, "store: change 1: key is empty"},
		{"nil key", cpra.Change{Value: []byte("v")}, "store: change 1: key is empty"},
		{"long key", cpra.Change{Key: make([]byte, MaxKeySize+1), Value: []byte("v")},
			fmt.Sprintf("store: change 1: key is %d bytes, longer than %d", MaxKeySize+1, MaxKeySize)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustOpen(t, filepath.Join(t.TempDir(), "state"))
			for name, s := range map[string]cpra.Store{"Mem": Memory(), "File": f} {
				err := s.Write([]cpra.Change{ok, tt.change})
				if err == nil || err.Error() != tt.want {
					t.Errorf("%s: got %v, want %q", name, err, tt.want)
				}
				if got := dump(t, s); len(got) != 0 {
					t.Errorf("%s: a rejected batch left %q, want nothing", name, got)
				}
			}
		})
	}
}

func TestLoadReturnsTheCallbacksError(t *testing.T) {
	f := mustOpen(t, filepath.Join(t.TempDir(), "state"))
	fill(t, f, 0, 10, 10, 1)
	m := Memory()
	fill(t, m, 0, 10, 10, 1)
	stop := errors.New("stop")
	for name, s := range map[string]cpra.Store{"Mem": m, "File": f} {
		n := 0
		err := s.Load(func(k, v []byte) error {
			n++
			if n == 3 {
				return stop
			}
			return nil
		})
		if err != stop || n != 3 {
			t.Errorf("%s: got %v after %d records, want %v after 3", name, err, n, stop)
		}
	}
}

func TestLoadLetsTheCallbacksPanicThrough(t *testing.T) {
	f := mustOpen(t, filepath.Join(t.TempDir(), "state"))
	fill(t, f, 0, 3, 3, 1)
	defer func() {
		if r := recover(); r != "mine" {
			t.Errorf("recovered %v, want the callback's own panic", r)
		}
		// The read transaction ended: a Write does not wait for it.
		if err := f.Write([]cpra.Change{{Key: key(9), Value: []byte("v")}}); err != nil {
			t.Errorf("Write after the panic: %v", err)
		}
	}()
	_ = f.Load(func(k, v []byte) error { panic("mine") })
}

func TestClosedFile(t *testing.T) {
	f := mustOpen(t, filepath.Join(t.TempDir(), "state"))
	fill(t, f, 0, 3, 3, 1)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if err := f.Write([]cpra.Change{{Key: key(1), Value: []byte("v")}}); err != ErrClosed {
		t.Errorf("Write after Close: got %v, want %v", err, ErrClosed)
	}
	if err := f.Load(func(k, v []byte) error { return nil }); err != ErrClosed {
		t.Errorf("Load after Close: got %v, want %v", err, ErrClosed)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "state"), LockTimeout(-1)); err == nil || err.Error() != "store: LockTimeout: -1ns is not positive" {
		t.Errorf("LockTimeout(-1): got %v", err)
	}
	if _, err := Open(""); err == nil || err.Error() != "store: path is empty" {
		t.Errorf(`Open(""): got %v`, err)
	}
	_, err := Open(filepath.Join(dir, "missing", "state"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open in a missing directory: got %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestZeroByteFileIsEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, path)
	fill(t, f, 0, 5, 5, 1)
	if got := len(dump(t, f)); got != 5 {
		t.Errorf("got %d records, want 5", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := mustOpen(t, filepath.Join(t.TempDir(), "state"))
	m := Memory()
	for name, s := range map[string]cpra.Store{"Mem": m, "File": f} {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 0))
				for b := range 10 {
					var changes []cpra.Change
					for i := range 10 {
						changes = append(changes, cpra.Change{Key: key(w*1000 + b*10 + i), Value: value(r)})
					}
					if err := s.Write(changes); err != nil {
						t.Errorf("%s: Write: %v", name, err)
					}
				}
			})
			wg.Go(func() {
				for range 5 {
					prev := []byte(nil)
					_ = s.Load(func(k, v []byte) error {
						if prev != nil && bytes.Compare(prev, k) >= 0 {
							t.Errorf("%s: Load out of order: %q after %q", name, k, prev)
						}
						prev = append(prev[:0], k...)
						return nil
					})
				}
			})
		}
		wg.Wait()
		if got := len(dump(t, s)); got != 400 {
			t.Errorf("%s: got %d records, want 400", name, got)
		}
	}
	if st, _ := f.Stats(); st.Records != 400 {
		t.Errorf("File.Stats: got %d records, want 400", st.Records)
	}
}
