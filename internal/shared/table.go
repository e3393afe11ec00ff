package shared

// Table holds values shared by the monitors holding them. Values with the
// same key share one slot; the key of a value must not change while the
// table holds it.
//
// A table may bound the keys it indexes: past the bound, a new value takes
// a slot of its own that no later value finds, until keys leave the index.
// A fleet whose monitors each have a value of their own then pays for the
// slots only, not for an index that finds nothing to share, while values
// already indexed go on being shared.
type Table[K comparable, V any] struct {
	key   func(V) K
	limit int // keys indexed at most; 0: no bound
	index map[K]uint32
	vals  []V
	refs  []uint32 // holders of each slot; 0: the slot is free
	free  []uint32
}

// New returns an empty table whose values have the keys key gives, which
// indexes at most limit keys (0: no bound).
func New[K comparable, V any](key func(V) K, limit int) Table[K, V] {
	return Table[K, V]{key: key, limit: limit}
}

// Find returns the slot of the value with key k, if the table indexes one.
// It does not count a holder: see [Table.Hold].
func (t *Table[K, V]) Find(k K) (uint32, bool) {
	i, ok := t.index[k]
	return i, ok
}

// Hold counts one more holder of slot i.
func (t *Table[K, V]) Hold(i uint32) { t.refs[i]++ }

// Ref counts a holder of v and returns its slot: the one of the value with
// v's key when the table indexes one (then v itself is not kept), a new
// one otherwise (added is then true), indexed unless the index is full.
func (t *Table[K, V]) Ref(v V) (i uint32, added bool) {
	k := t.key(v)
	if i, ok := t.index[k]; ok {
		t.refs[i]++
		return i, false
	}
	if t.index == nil {
		t.index = make(map[K]uint32)
	}
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
		t.vals[i], t.refs[i] = v, 1
	} else {
		i = uint32(len(t.vals))
		t.vals = append(t.vals, v)
		t.refs = append(t.refs, 1)
	}
	if t.limit == 0 || len(t.index) < t.limit {
		t.index[k] = i
	}
	return i, true
}

// Get returns the value in slot i.
func (t *Table[K, V]) Get(i uint32) V { return t.vals[i] }

// Unref drops one holder of slot i and returns its value; last reports
// that it was the last holder: the slot is then free and the table no
// longer holds the value.
func (t *Table[K, V]) Unref(i uint32) (v V, last bool) {
	v = t.vals[i]
	if t.refs[i]--; t.refs[i] > 0 {
		return v, false
	}
	k := t.key(v)
	if j, ok := t.index[k]; ok && j == i {
		delete(t.index, k) // the key is indexed, and to this slot
	}
	var zero V
	t.vals[i] = zero
	t.free = append(t.free, i)
	return v, true
}

// Len returns the number of values the table holds.
func (t *Table[K, V]) Len() int { return len(t.vals) - len(t.free) }

// Holders returns the number of holders of slot i; 0 for a free one.
func (t *Table[K, V]) Holders(i uint32) int { return int(t.refs[i]) }
