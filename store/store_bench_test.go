//go:build linux

package store

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ziad/cpra"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// The benchmarks work on a million records of a 16-byte key
// ("m\x00monitor-000123") and a 60-byte random value, built once per run in
// a directory removed at the end.
const million = 1_000_000

// fixturePath returns the path of the fixture name, building it with build
// the first time.
func fixturePath(b *testing.B, name string, build func(b *testing.B, path string)) string {
	fixtures.Lock()
	defer fixtures.Unlock()
	if p, ok := fixtures.built[name]; ok {
		return p
	}
	if fixtures.dir == "" {
		dir, err := os.MkdirTemp("", "store-bench-")
		if err != nil {
			b.Fatal(err)
		}
		fixtures.dir = dir
		fixtures.built = map[string]string{}
		fixtures.open = map[string]*File{}
	}
	p := filepath.Join(fixtures.dir, name)
	b.StopTimer()
	build(b, p)
	b.StartTimer()
	fixtures.built[name] = p
	return p
}

// buildFile writes a million records into a new store at path, in batches
// of batch, in key order or at random.
// The Writes are not synced one by one (the file is synced at the end): the
// layout is the same, in a fraction of the time.
func buildFile(random bool, batch int) func(b *testing.B, path string) {
	return func(b *testing.B, path string) {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		f.db.NoSync = true
		defer f.db.Sync()
		order := make([]int, million)
		for i := range order {
			order[i] = i
		}
		r := rand.New(rand.NewPCG(1, 2))
		if random {
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		changes := make([]cpra.Change, 0, batch)
		for n, i := range order {
			changes = append(changes, cpra.Change{Key: key(i), Value: value(r)})
			if len(changes) == batch || n == len(order)-1 {
				if err := f.Write(changes); err != nil {
					b.Fatal(err)
				}
				changes = changes[:0]
			}
		}
	}
}

// buildLog writes a million records into a plain file: key length, value
// length (2 bytes each), key, value. The least a store could take.
func buildLog(b *testing.B, path string) {
	fh, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	w := bufio.NewWriter(fh)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range million {
		writeRecord(w, key(i), value(r))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := fh.Sync(); err != nil {
		b.Fatal(err)
	}
}

func writeRecord(w io.Writer, k, v []byte) {
	var h [4]byte
	binary.LittleEndian.PutUint16(h[:], uint16(len(k)))
	binary.LittleEndian.PutUint16(h[2:], uint16(len(v)))
	w.Write(h[:])
	w.Write(k)
	w.Write(v)
}

func sizeOf(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// BenchmarkBuild writes a million records into a new file, in batches of
// 10,000, and reports the file's size per record, and the size of the pages
// in use per record: with keys in order or at random, with pages split full
// when a Write appends and half full otherwise (the default), half full
// always (bbolt's default), or full always; at random, also after Compact
// (timed). Beside it, a plain file of the records one after another.
func BenchmarkBuild(b *testing.B) {
	for _, c := range []struct {
		name          string
		random        bool
		fill, appends float64
		compact       bool
	}{
		{"sorted/default", false, 0.5, 1.0, false},
		{"sorted/fill=0.5", false, 0.5, 0.5, false},
		{"random/default", true, 0.5, 1.0, false},
		{"random/fill=1.0", true, 1.0, 1.0, false},
		{"random/default+compact", true, 0.5, 1.0, true},
	} {
		b.Run("file/"+c.name, func(b *testing.B) {
			defer func(f, a float64) { fillPercent, appendFillPercent = f, a }(fillPercent, appendFillPercent)
			fillPercent, appendFillPercent = c.fill, c.appends
			var size, used int64
			var compact time.Duration
			for range b.N {
				path := filepath.Join(b.TempDir(), "state")
				buildFile(c.random, 10_000)(b, path)
				if c.compact {
					f, err := Open(path)
					if err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					if err := f.Compact(); err != nil {
						b.Fatal(err)
					}
					compact += time.Since(start)
					f.Close()
				}
				size = sizeOf(b, path)
				fh, _ := os.Open(path)
				m, err := readMetas(fh, size)
				fh.Close()
				if err != nil {
					b.Fatal(err)
				}
				used = int64(m.pages) * int64(m.pageSize)
				os.Remove(path)
			}
			b.ReportMetric(float64(size)/million, "B/record")
			b.ReportMetric(float64(used)/million, "B/record-in-pages")
			if c.compact {
				b.ReportMetric(compact.Seconds()/float64(b.N), "s/compact")
			}
		})
	}
	b.Run("plain-file", func(b *testing.B) {
		var size int64
		for range b.N {
			path := filepath.Join(b.TempDir(), "log")
			buildLog(b, path)
			size = sizeOf(b, path)
		}
		b.ReportMetric(float64(size)/million, "B/record")
	})
}

// BenchmarkLoad times getting a million records back at start: opening the
// file (which checks it page by page), the Load alone, the two together,
// and the two with the file not in the page cache; bbolt's own consistency
// check, for comparison with Open's; and two baselines: a Load of the
// store in memory, and reading the plain file of the same records.
func BenchmarkLoad(b *testing.B) {
	path := fixturePath(b, "sorted", buildFile(false, 10_000))
	count := func(b *testing.B, s cpra.Store) {
		n := 0
		if err := s.Load(func(k, v []byte) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != million {
			b.Fatalf("loaded %d records, want %d", n, million)
		}
	}
	b.Run("file/open", func(b *testing.B) {
		for range b.N {
			f, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("file/load", func(b *testing.B) {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		b.ResetTimer()
		for range b.N {
			count(b, f)
		}
	})
	openLoad := func(b *testing.B, cold bool) {
		for range b.N {
			if cold {
				b.StopTimer()
				dropCache(b, path)
				b.StartTimer()
			}
			f, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			count(b, f)
			f.Close()
		}
	}
	b.Run("file/open+load", func(b *testing.B) { openLoad(b, false) })
	b.Run("file/open+load-cold", func(b *testing.B) { openLoad(b, true) })
	b.Run("bbolt-check", func(b *testing.B) {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		b.ResetTimer()
		for range b.N {
			if err := db.View(func(tx *bolt.Tx) error {
				for err := range tx.Check() {
					return err
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("memory/load", func(b *testing.B) {
		b.StopTimer()
		m := Memory()
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		var changes []cpra.Change
		f.Load(func(k, v []byte) error {
			changes = append(changes, cpra.Change{Key: append([]byte{}, k...), Value: append([]byte{}, v...)})
			return nil
		})
		f.Close()
		m.Write(changes)
		changes = nil
		b.StartTimer()
		for range b.N {
			count(b, m)
		}
	})
	log := fixturePath(b, "log", buildLog)
	b.Run("plain-file/read", func(b *testing.B) {
		for range b.N {
			fh, err := os.Open(log)
			if err != nil {
				b.Fatal(err)
			}
			r := bufio.NewReaderSize(fh, 1<<20)
			var h [4]byte
			buf := make([]byte, 0, 1<<10)
			n := 0
			for {
				if _, err := io.ReadFull(r, h[:]); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
				l := int(binary.LittleEndian.Uint16(h[:])) + int(binary.LittleEndian.Uint16(h[2:]))
				if _, err := io.ReadFull(r, buf[:l]); err != nil {
					b.Fatal(err)
				}
				n++
			}
			fh.Close()
			if n != million {
				b.Fatalf("read %d records, want %d", n, million)
			}
		}
	})
}

// dropCache evicts the file at path from the page cache.
func dropCache(b *testing.B, path string) {
	fh, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	if err := unix.Fadvise(int(fh.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWrite times synced Writes of batches of changes to random
// records of a store of a million, and reports records per second; beside
// the store in memory, and appending the same records to a plain file and
// syncing it (the cost of the sync alone, the floor for any durable store).
func BenchmarkWrite(b *testing.B) {
	path := fixturePath(b, "write", buildFile(false, 10_000))
	fixtures.Lock()
	f := fixtures.open["write"]
	if f == nil {
		var err error
		if f, err = Open(path); err != nil {
			fixtures.Unlock()
			b.Fatal(err)
		}
		fixtures.open["write"] = f
	}
	fixtures.Unlock()
	m := Memory()
	logf, err := os.OpenFile(filepath.Join(b.TempDir(), "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	plain := func(changes []cpra.Change) error {
		w := bufio.NewWriter(logf)
		for _, c := range changes {
			writeRecord(w, c.Key, c.Value)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return unix.Fdatasync(int(logf.Fd()))
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 100, 1_000, 10_000} {
		batches := make([][]cpra.Change, 16)
		for i := range batches {
			for range n {
				batches[i] = append(batches[i], cpra.Change{Key: key(r.IntN(million)), Value: value(r)})
			}
		}
		for _, s := range []struct {
			name  string
			write func([]cpra.Change) error
		}{{"file", f.Write}, {"memory", m.Write}, {"plain-file", plain}} {
			b.Run(fmt.Sprintf("%s/batch=%d", s.name, n), func(b *testing.B) {
				for i := range b.N {
					if err := s.write(batches[i%len(batches)]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
