package ecs

import (
	"cmp"
	"math/bits"
	"slices"

	ark "github.com/mlange-42/ark/ecs"
)

// Keyed is a monitor with the key of its name: the order in which
// [Store.ScanNames] and [Store.ScanFailing] report monitors.
type Keyed struct {
	Key uint64
	E   Entity
}

// NameKey returns the key that orders a monitor named name in scans.
func NameKey(name string) uint64 { return keyOf(name) }

// ScanNames appends to out, in increasing key order, the monitors whose
// name key is above after (every key when first is true) and whose key's
// home slot in the name index lies in the next span slots. It returns out,
// the key to pass as after to go on, and whether the scan is done (no
// monitor lies beyond).
//
// The name index places each name at or after its home slot, and a home
// slot grows with the key, so key order survives the index growing,
// entries moving back when others are deleted, and insertions between two
// calls: a monitor present throughout a scan of consecutive calls is
// reported exactly once, and one added or removed meanwhile at most once.
func (s *Store) ScanNames(after uint64, first bool, span int, out []Keyed) ([]Keyed, uint64, bool) {
	x := s.names
	size := len(x.slots.S)
	start := 0
	if !first {
		start = x.home(after)
	}
	end := min(start+max(span, 1), size)
	mark := len(out)
	for n := 0; n < size; n++ {
		i := start + n
		if i >= size {
			i -= size // a run that wraps past the end
		}
		if x.slots.S[i] == 0 {
			if start+n >= end {
				break // the run holding the last home of the span ended
			}
			continue
		}
		id := x.slots.S[i] >> 8
		k := keyOf(x.name(id))
		if h := x.home(k); h < start || h >= end || (!first && k <= after) {
			continue
		}
		en, _ := s.hs.entity(id)
		out = append(out, Keyed{k, en})
	}
	slices.SortFunc(out[mark:], byKey)
	if end >= size {
		return out, 0, true
	}
	// The last key whose home lies before end: every key at or below it
	// has been looked at, whatever size the index has next time.
	q, r := bits.Div64(uint64(end), 0, uint64(size))
	if r != 0 {
		q++
	}
	return out, q - 1, false
}

// Failing returns the number of monitors with an open episode.
func (s *Store) Failing() int { return s.eps.n }

// ScanFailing appends to out, in increasing order of entity index (the
// Key of each), at most limit monitors with an open episode for which keep
// is true (nil: every one) and whose index is above after (every one when
// first is true), and returns out and whether those were the last. It
// reads only the failing monitors, so it suits a fleet where few fail.
func (s *Store) ScanFailing(after uint32, first bool, limit int, keep func(Entity) bool, out []Keyed) ([]Keyed, bool) {
	mark := len(out)
	for k := range s.eps.n {
		en := s.eps.slot(uint32(k)).owner
		if (first || en.ID() > after) && (keep == nil || keep(en)) {
			out = append(out, Keyed{uint64(en.ID()), en})
		}
	}
	slices.SortFunc(out[mark:], byKey)
	if len(out)-mark > limit {
		return out[:mark+limit], false
	}
	return out, true
}

// EachHealth calls fn with the health of every monitor, in no particular
// order, and its [Meta] (nil for none). fn must not change the store.
func (s *Store) EachHealth(fn func(h *Health, m *Meta)) {
	q := ark.NewFilter0(s.World).With(ark.C[Probe]()).Without(ark.C[metaTag]()).Query()
	for q.Next() {
		fn(s.Healths.at(q.Entity().ID()), nil)
	}
	q2 := ark.NewFilter0(s.World).With(ark.C[metaTag]()).Query()
	for q2.Next() {
		id := q2.Entity().ID()
		fn(s.Healths.at(id), s.Metas.col.at(id))
	}
}

// byKey orders Keyed values by their key.
func byKey(a, b Keyed) int { return cmp.Compare(a.Key, b.Key) }
