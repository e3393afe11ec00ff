package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FormatVersion is the version of the file format this build writes, and
// the newest it reads.
const FormatVersion = 1

var (
	headerBucket  = []byte("header")
	recordsBucket = []byte("records")
	formatKey     = []byte("format")
)

// How full a page is left when it splits. bbolt's default of one half
// suits keys inserted at random (pages end up about 70% full; full pages
// there would leave most pages nearly empty); where a Write only appends
// keys past the last one, as when records are first written in key order,
// the pages it fills are not touched again, so they are filled whole.
// Variables for the benchmarks that weigh them.
var (
	fillPercent       = 0.5
	appendFillPercent = 1.0
)

const (
	// allocSize is how much the file grows by past the first megabytes;
	// bbolt's default of 16 MiB would be 16 bytes a record at a million.
	allocSize = 1 << 20
	lockPoll  = 20 * time.Millisecond
)

var errWouldBlock = errors.New("would block")

var _ cpra.Store = (*File)(nil)

// File is a [cpra.Store] kept in one file on disk, with bbolt. It is safe
// for concurrent use: writes are applied one at a time, and a Load sees the
// records as of the last Write that returned before it began.
type File struct {
	path string

	// mu excludes Compact and Close from the rest, which bbolt orders.
	mu      sync.RWMutex
	db      *bolt.DB
	broken  error // why the File can no longer be used, after a failed Compact
	timeout time.Duration
	records atomic.Int64
	data    atomic.Int64

	aside      string
	asideCause error

	closeOnce sync.Once
	closeErr  error
}

// Open opens the store in the file at path, creating it (mode 0600, not its
// directory) if it does not exist, and checks it page by page. A file that
// does not hold together gives a [*CorruptError] naming the file and the
// offset of the damage, and one written by a newer version a
// [*VersionError]; neither is changed, unless [Fresh] is given. While
// another process has the file open, Open waits up to the lock timeout
// ([LockTimeout]) and fails with [ErrLocked]. A file of zero bytes is an
// empty store. Close the File when done.
func Open(path string, opts ...Option) (*File, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.New("store: path is empty")
	}
	f, err := open(path, o)
	if err == nil || !o.fresh {
		return f, err
	}
	var ce *CorruptError
	if !errors.As(err, &ce) && !errors.Is(err, ErrNewerVersion) {
		return nil, err
	}
	aside, rerr := reset(path, o)
	if rerr != nil {
		return nil, fmt.Errorf("%w; moving it aside failed: %w", err, rerr)
	}
	f, ferr := open(path, o)
	if ferr != nil {
		return nil, ferr
	}
	f.aside, f.asideCause = aside, err
	return f, nil
}

func open(path string, o *options) (*File, error) {
	counts, err := checkFile(path, o)
	if err != nil {
		return nil, err
	}
	var db *bolt.DB
	err = protect(nil, path, func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: o.lockTimeout})
		return err
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, lockedError(path, o)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, &CorruptError{Path: path, Offset: 0, Err: err}
	case err != nil:
		var ce *CorruptError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("store: %w", err)
	}
	db.AllocSize = allocSize
	// What a Compact cut short left; no one else has the store open.
	_ = os.Remove(path + ".compact")
	f := &File{path: path, db: db, timeout: o.lockTimeout}
	u := counts[string(recordsBucket)]
	f.records.Store(u.pairs)
	f.data.Store(u.bytes)
	if err := f.header(); err != nil {
		db.Close()
		return nil, err
	}
	return f, nil
}

// checkFile checks the file at path, if there is one, under a shared lock,
// and returns what the records of each bucket take.
func checkFile(path string, o *options) (map[string]usage, error) {
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer fh.Close()
	if err := lock(fh, false, o.lockTimeout); err != nil {
		if err == errWouldBlock {
			return nil, lockedError(path, o)
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if st.Size() == 0 {
		return nil, nil
	}
	counts, err := check(fh, st.Size())
	var ft *fault
	if errors.As(err, &ft) {
		return nil, &CorruptError{Path: path, Offset: ft.off, Err: ft.err}
	}
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", path, err)
	}
	return counts, nil
}

// header checks the header record of the file, or writes it in an empty
// file.
func (f *File) header() error {
	var version uint32
	fresh := false
	err := protect(f.db, f.path, func() error {
		return f.db.View(func(tx *bolt.Tx) error {
			h, r := tx.Bucket(headerBucket), tx.Bucket(recordsBucket)
			if h == nil && r == nil {
				if k, _ := tx.Cursor().First(); k != nil {
					return &CorruptError{Path: f.path, Offset: -1, Err: fmt.Errorf("not a store file: holds %q and no header", k)}
				}
				fresh = true
				return nil
			}
			if h == nil || r == nil {
				return &CorruptError{Path: f.path, Offset: -1, Err: errors.New("header or records missing")}
			}
			v := h.Get(formatKey)
			if len(v) != 4 {
				return &CorruptError{Path: f.path, Offset: -1, Err: fmt.Errorf("format version is %d bytes, want 4", len(v))}
			}
			version = binary.BigEndian.Uint32(v)
			return nil
		})
	})
	switch {
	case err != nil:
		return err
	case fresh:
		return f.update(func(tx *bolt.Tx) error {
			h, err := tx.CreateBucket(headerBucket)
			if err != nil {
				return err
			}
			if _, err := tx.CreateBucket(recordsBucket); err != nil {
				return err
			}
			return h.Put(formatKey, binary.BigEndian.AppendUint32(nil, FormatVersion))
		})
	case version > FormatVersion:
		return &VersionError{Path: f.path, Version: version, Supported: FormatVersion}
	case version == 0:
		return &CorruptError{Path: f.path, Offset: -1, Err: errors.New("format version 0")}
	}
	return nil
}

// Path returns the path of the file.
func (f *File) Path() string { return f.path }

// MovedAside tells, for a File opened with [Fresh], where the file that was
// there before was moved and why; path is empty if nothing was moved.
func (f *File) MovedAside() (path string, cause error) { return f.aside, f.asideCause }

// Load calls fn with every record, in the byte order of the keys. The
// slices are valid only during the call, and fn must not call Write. An
// error of fn ends Load and is returned as it is.
func (f *File) Load(fn func(key, value []byte) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.broken != nil {
		return f.broken
	}
	var inFn bool
	err := protectFn(f.db, f.path, &inFn, func() error {
		return f.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(recordsBucket)
			if b == nil {
				return &CorruptError{Path: f.path, Offset: -1, Err: errors.New("records missing")}
			}
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if v == nil {
					return &CorruptError{Path: f.path, Offset: -1, Err: fmt.Errorf("record %q is a bucket", k)}
				}
				inFn = true
				if err := fn(k, v); err != nil {
					return err
				}
				inFn = false
			}
			return nil
		})
	})
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Write applies changes in one transaction, synced to disk before it
// returns: all of them or, if it fails, none. A later change of a key
// overrides an earlier one. A change with a nil Value deletes its key (a
// key not there is no error); an empty non-nil Value is kept as an empty
// value. A key must be 1 to [MaxKeySize] bytes. A failed Write, as on a full
// disk, leaves the File usable: the same Write can be retried.
func (f *File) Write(changes []cpra.Change) error {
	if err := validate(changes); err != nil {
		return err
	}
	if len(changes) == 0 {
		return nil
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.broken != nil {
		return f.broken
	}
	var records, data int64
	err := f.update(func(tx *bolt.Tx) error {
		records, data = 0, 0
		b := tx.Bucket(recordsBucket)
		if b == nil {
			return &CorruptError{Path: f.path, Offset: -1, Err: errors.New("records missing")}
		}
		c := b.Cursor()
		b.FillPercent = fillPercent
		if last, _ := c.Last(); appends(last, changes) {
			b.FillPercent = appendFillPercent
		}
		for _, ch := range changes {
			k, v := c.Seek(ch.Key)
			had := k != nil && bytes.Equal(k, ch.Key)
			if had {
				records--
				data -= int64(elemSize + len(k) + len(v))
			}
			if ch.Value == nil {
				if had {
					if err := b.Delete(ch.Key); err != nil {
						return err
					}
				}
				continue
			}
			if err := b.Put(ch.Key, ch.Value); err != nil {
				return err
			}
			records++
			data += int64(elemSize + len(ch.Key) + len(ch.Value))
		}
		return nil
	})
	if err != nil {
		return err
	}
	f.records.Add(records)
	f.data.Add(data)
	return nil
}

// appends says whether every key that changes puts is past last, the last
// key stored (nil: none).
func appends(last []byte, changes []cpra.Change) bool {
	for _, c := range changes {
		if c.Value != nil && bytes.Compare(c.Key, last) <= 0 {
			return false
		}
	}
	return true
}

func (f *File) update(fn func(*bolt.Tx) error) error {
	err := protect(f.db, f.path, func() error { return f.db.Update(fn) })
	var ce *CorruptError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return ErrClosed
	case errors.As(err, &ce):
		return err
	}
	if strings.Contains(err.Error(), f.path) {
		return fmt.Errorf("store: %w", err)
	}
	return fmt.Errorf("store: write %s: %w", f.path, err)
}

// Close closes the file. Later calls do nothing and return the first
// call's result.
func (f *File) Close() error {
	f.closeOnce.Do(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if err := f.db.Close(); err != nil {
			f.closeErr = fmt.Errorf("store: close %s: %w", f.path, err)
		}
		f.broken = ErrClosed
	})
	return f.closeErr
}

// FileStats describes a [File].
type FileStats struct {
	// Records is the number of records.
	Records int64
	// Data is the number of bytes the records take in the file's pages:
	// their keys and values, and 16 bytes each. A file rewritten by
	// [File.Compact] is about Data plus 1 % and a megabyte.
	Data int64
	// Size is the length of the file in bytes.
	Size int64
	// Free is how many of those bytes are in pages free for reuse.
	Free int64
}

// Stats returns figures about the file. It is cheap: it neither reads nor
// scans the file.
func (f *File) Stats() (FileStats, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	st, err := os.Stat(f.path)
	if err != nil {
		return FileStats{}, fmt.Errorf("store: %w", err)
	}
	return FileStats{
		Records: f.records.Load(),
		Data:    f.data.Load(),
		Size:    st.Size(),
		Free:    int64(f.db.Stats().FreeAlloc),
	}, nil
}

// Compact rewrites the file with its records in key order and its pages
// full, and puts the new file in the old one's place. Records written at
// random leave pages 50 to 100 % full, and changes of many records at once
// leave free pages behind, which the file keeps; Compact gives that back.
// It takes about two seconds for a million records, and Write and Load
// wait for it. The new file is written beside the old one,
// with the suffix ".compact", and replaces it only once it is synced to
// disk: a failure or a crash midway leaves the old file as it was. If the
// new file cannot be opened after it replaced the old one, Compact returns
// why, and so does every later call but Close.
func (f *File) Compact() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.broken != nil {
		return f.broken
	}
	tmp := f.path + ".compact"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: compact: %w", err)
	}
	if err := f.copyTo(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, f.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: compact: %w", err)
	}
	syncDir(filepath.Dir(f.path))
	db, err := bolt.Open(f.path, 0o600, &bolt.Options{Timeout: f.timeout})
	if err != nil {
		// The old file is gone from its name: writing on to it would
		// lose the writes.
		f.broken = fmt.Errorf("store: compact %s: reopening: %w", f.path, err)
		f.db.Close()
		return f.broken
	}
	db.AllocSize = allocSize
	old := f.db
	f.db = db
	if err := old.Close(); err != nil {
		return fmt.Errorf("store: compact %s: closing the old file: %w", f.path, err)
	}
	return nil
}

// copyTo writes the records into a new store file at path, synced.
func (f *File) copyTo(path string) error {
	dst, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: f.timeout, NoSync: true})
	if err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	defer dst.Close()
	dst.AllocSize = allocSize
	err = protect(f.db, f.path, func() error {
		return f.db.View(func(src *bolt.Tx) error {
			from := src.Bucket(recordsBucket)
			if from == nil {
				return &CorruptError{Path: f.path, Offset: -1, Err: errors.New("records missing")}
			}
			tx, err := dst.Begin(true)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback() }()
			h, err := tx.CreateBucket(headerBucket)
			if err != nil {
				return err
			}
			if err := h.Put(formatKey, binary.BigEndian.AppendUint32(nil, FormatVersion)); err != nil {
				return err
			}
			to, err := tx.CreateBucket(recordsBucket)
			if err != nil {
				return err
			}
			c, n := from.Cursor(), 0
			for k, v := c.First(); k != nil; k, v = c.Next() {
				// Commit every so many, to bound the memory bbolt
				// takes for a transaction.
				if n++; n%(1<<17) == 0 {
					if err := tx.Commit(); err != nil {
						return err
					}
					if tx, err = dst.Begin(true); err != nil {
						return err
					}
					to = tx.Bucket(recordsBucket)
				}
				to.FillPercent = 1.0
				if err := to.Put(k, v); err != nil {
					return err
				}
			}
			return tx.Commit()
		})
	})
	if err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	if err := dst.Sync(); err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	return nil
}

// Reset moves the file at path aside, renaming it to path plus
// ".aside-" and the time in UTC (and "-2", "-3"... if that name is taken),
// so that the next [Open] starts with an empty store. It returns the new
// name, or "" if there was no file. It waits, as [Open] does, for another
// process that has the file open ([ErrLocked]).
func Reset(path string, opts ...Option) (aside string, err error) {
	o, err := newOptions(opts)
	if err != nil {
		return "", err
	}
	return reset(path, o)
}

func reset(path string, o *options) (string, error) {
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	defer fh.Close()
	if err := lock(fh, true, o.lockTimeout); err != nil {
		if err == errWouldBlock {
			return "", lockedError(path, o)
		}
		return "", fmt.Errorf("store: lock %s: %w", path, err)
	}
	base := path + ".aside-" + time.Now().UTC().Format("20060102T150405Z")
	aside := base
	for i := 2; ; i++ {
		// A link does not replace a file already there, as a rename would.
		err = os.Link(path, aside)
		if !errors.Is(err, os.ErrExist) {
			break
		}
		aside = fmt.Sprintf("%s-%d", base, i)
	}
	if err != nil {
		// No hard links here: rename, having looked that the name is free.
		if _, serr := os.Lstat(aside); !errors.Is(serr, os.ErrNotExist) {
			return "", fmt.Errorf("store: move %s aside: %w", path, err)
		}
		if err := os.Rename(path, aside); err != nil {
			return "", fmt.Errorf("store: move %s aside: %w", path, err)
		}
	} else if err := os.Remove(path); err != nil {
		return "", fmt.Errorf("store: move %s aside: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return aside, nil
}

// syncDir makes a rename in dir durable, where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// protect runs fn and turns a panic in it, or a fault reading the mapped
// file, into a *CorruptError. db, if not nil, locates a fault's address in
// the file.
func protect(db *bolt.DB, path string, fn func() error) error {
	return protectFn(db, path, nil, fn)
}

// protectFn is protect for a fn that calls a caller's function: while
// *inFn is set, a panic is the caller's and goes on.
func protectFn(db *bolt.DB, path string, inFn *bool, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if inFn != nil && *inFn {
			panic(r)
		}
		ce := &CorruptError{Path: path, Offset: -1, Err: fmt.Errorf("reading it failed: %v", r)}
		if a, ok := r.(interface{ Addr() uintptr }); ok {
			ce.Err = errors.New("reading it faulted: was it cut short or changed by another program while open?")
			if db != nil {
				if info := db.Info(); info != nil && a.Addr() >= info.Data {
					ce.Offset = int64(a.Addr() - info.Data)
				}
			}
		}
		err = ce
	}()
	return fn()
}
