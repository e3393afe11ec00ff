package store

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ziad/cpra"
)

// MaxKeySize is the longest key a store keeps, in bytes.
const MaxKeySize = 32768

// MaxValueSize is the longest value a store keeps, in bytes.
const MaxValueSize = 1<<31 - 2

// validate checks the keys and values of changes, naming the first bad one.
func validate(changes []cpra.Change) error {
	for i, c := range changes {
		switch {
		case len(c.Key) == 0:
			return fmt.Errorf("store: change %d: key is empty", i)
		case len(c.Key) > MaxKeySize:
			return fmt.Errorf("store: change %d: key is %d bytes, longer than %d", i, len(c.Key), MaxKeySize)
		case len(c.Value) > MaxValueSize:
			return fmt.Errorf("store: change %d: value is %d bytes, longer than %d", i, len(c.Value), MaxValueSize)
		}
	}
	return nil
}

var _ cpra.Store = (*Mem)(nil)

// Mem is a [cpra.Store] in memory: it keeps an engine's state across the
// engine's own restarts within one process, not across the process's. It
// is safe for concurrent use, and behaves as a [File] does: the same
// changes give the same records, loaded in the same order.
type Mem struct {
	mu      sync.Mutex
	records map[string][]byte
	fail    error
}

type record struct {
	key   string
	value []byte
}

// Memory returns an empty store in memory.
func Memory() *Mem {
	return &Mem{records: map[string][]byte{}}
}

// Load calls fn with every record, in the byte order of the keys. The
// slices are valid only during the call. fn may call Write; Load goes on
// with the records as they were when it began. An error of fn ends Load and
// is returned as it is.
func (m *Mem) Load(fn func(key, value []byte) error) error {
	m.mu.Lock()
	records := make([]record, 0, len(m.records))
	for k, v := range m.records {
		records = append(records, record{k, v}) // values are never changed in place
	}
	m.mu.Unlock()
	slices.SortFunc(records, func(a, b record) int { return strings.Compare(a.key, b.key) })
	var buf []byte
	for _, r := range records {
		// Copies, so that fn cannot change what is kept.
		k, v := len(r.key), len(r.value)
		buf = append(append(buf[:0], r.key...), r.value...)
		if err := fn(buf[:k:k], buf[k:k+v:k+v]); err != nil {
			return err
		}
	}
	return nil
}

// Write applies changes, all or none, with the same rules as
// [File.Write]: a nil Value deletes, an empty non-nil Value is kept, and a
// key must be 1 to [MaxKeySize] bytes. While a fault is set with
// [Mem.FailWrites], Write changes nothing and returns it.
func (m *Mem) Write(changes []cpra.Change) error {
	if err := validate(changes); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	for _, c := range changes {
		if c.Value == nil {
			delete(m.records, string(c.Key))
			continue
		}
		m.records[string(c.Key)] = append([]byte{}, c.Value...)
	}
	return nil
}

// FailWrites makes every later Write fail with err and change nothing, as
// a full disk would, until FailWrites(nil).
func (m *Mem) FailWrites(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

// Len returns the number of records.
func (m *Mem) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.records)
}

// Get returns a copy of the value of key, and whether there is one.
func (m *Mem) Get(key []byte) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.records[string(key)]
	if !ok {
		return nil, false
	}
	return append([]byte{}, v...), true
}
