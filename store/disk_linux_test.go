package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ziad/cpra"
)

// tmpfs mounts a file system of size bytes in a new directory and returns
// it, or skips the test where mounting is not allowed.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes a file in dir until the file system is full, and returns
// its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := fh.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			return path
		}
	}
}

// TestFullDisk writes to a store on a tmpfs that is full: Write fails,
// again when retried, without harm to what is stored; once there is room,
// the same Write succeeds, and the file holds together when reopened.
func TestFullDisk(t *testing.T) {
	dir := tmpfs(t, "2m")
	path := filepath.Join(dir, "state")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fill(t, f, 0, 100, 100, 1)
	before := dump(t, f)
	filler := fillDisk(t, dir)

	var batch []cpra.Change
	for i := 100; i < 2100; i++ { // ~190 kB: more pages than the file has
		batch = append(batch, cpra.Change{Key: key(i), Value: bytes.Repeat([]byte{'v'}, 60)})
	}
	batch = append(batch, cpra.Change{Key: key(0)}) // and a delete
	for try := range 3 {
		err := f.Write(batch)
		if err == nil {
			t.Fatalf("try %d: Write on a full disk: got nil error", try)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("try %d: %q does not name the file", try, err)
		}
		if try == 0 {
			t.Logf("Write on a full disk: %v", err)
		}
		if got := dump(t, f); !equal(got, before) {
			t.Fatalf("try %d: a failed Write changed the records: %d, want %d", try, len(got), len(before))
		}
		if st, _ := f.Stats(); st.Records != 100 {
			t.Errorf("try %d: Stats: %d records, want 100", try, st.Records)
		}
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(batch); err != nil {
		t.Fatalf("Write once there is room: %v", err)
	}
	if st, _ := f.Stats(); st.Records != 2099 {
		t.Errorf("Stats: %d records, want 2099", st.Records)
	}
	want := dump(t, f)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err = Open(path) // checks the file page by page
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer f.Close()
	if got := dump(t, f); !equal(got, want) || len(got) != 2099 {
		t.Errorf("after reopening: %d records, want the %d written", len(got), len(want))
	}
}

// TestReadOnlyDisk opens a store on a file system mounted read-only: Open
// fails with the system's error and leaves the file alone; once the file
// system is writable again, the store opens with its records.
func TestReadOnlyDisk(t *testing.T) {
	dir := tmpfs(t, "2m")
	path := filepath.Join(dir, "state")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, f, 0, 100, 100, 1)
	f.Close()
	remount := func(flags uintptr) {
		t.Helper()
		if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|flags, ""); err != nil {
			t.Fatalf("remount: %v", err)
		}
	}
	remount(syscall.MS_RDONLY)
	defer remount(0)

	for _, opts := range [][]Option{nil, {Fresh()}} {
		f, err := Open(path, opts...)
		if err == nil {
			f.Close()
			t.Fatal("Open on a read-only file system: got nil error")
		}
		if !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), path) {
			t.Errorf("Open on a read-only file system: got %v, want EROFS naming the file", err)
		}
		if errors.As(err, new(*CorruptError)) {
			t.Errorf("Open on a read-only file system: got a *CorruptError, want the system's error")
		}
	}
	t.Logf("Open on a read-only file system: %v", func() error { _, err := Open(path); return err }())

	remount(0)
	f, err = Open(path)
	if err != nil {
		t.Fatalf("Open once writable: %v", err)
	}
	defer f.Close()
	if got := len(dump(t, f)); got != 100 {
		t.Errorf("got %d records, want 100", got)
	}
}

// TestCompactOnFullDisk: Compact fails when there is no room for the new
// file, and the store goes on as it was.
func TestCompactOnFullDisk(t *testing.T) {
	dir := tmpfs(t, "4m")
	path := filepath.Join(dir, "state")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	writeShuffled(t, f, 10_000, 1000)
	before := dump(t, f)
	filler := fillDisk(t, dir)
	if err := f.Compact(); err == nil {
		t.Fatal("Compact on a full disk: got nil error")
	} else {
		t.Logf("Compact on a full disk: %v", err)
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed Compact left its temporary file: %v", err)
	}
	if got := dump(t, f); !equal(got, before) {
		t.Fatal("a failed Compact changed the records")
	}
	os.Remove(filler)
	if err := f.Write([]cpra.Change{{Key: key(1), Value: []byte("v")}}); err != nil {
		t.Fatalf("Write after a failed Compact: %v", err)
	}
	if err := f.Compact(); err != nil {
		t.Fatalf("Compact once there is room: %v", err)
	}
}
