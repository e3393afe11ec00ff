package maint

import "time"

// Set is one set of windows: a monitor's own, or those of a label
// selector, with whether one is open now and when that may change next.
type Set struct {
	ID     uint64
	Sel    map[string]string // nil for a monitor's own windows
	Owner  any               // the monitor, for its own windows
	Wins   []Window
	Active bool
	At     time.Time // the next instant the windows may open or close
	idx    int       // position in its heap; -1 when not in one
}

// ActiveAt reports whether a window of s is open at t.
func (s *Set) ActiveAt(t time.Time) bool {
	for i := range s.Wins {
		if s.Wins[i].ActiveAt(t) {
			return true
		}
	}
	return false
}

// NextChange is the first instant after t when a window of s may open or
// close; false when none ever will.
func (s *Set) NextChange(t time.Time) (time.Time, bool) {
	var next time.Time
	for i := range s.Wins {
		if n, ok := s.Wins[i].NextChange(t); ok && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next, !next.IsZero()
}

// Selects reports whether labels include every pair of the selector.
func (s *Set) Selects(labels map[string]string) bool {
	for k, v := range s.Sel {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Heap orders sets by their next change, so the engine wakes for the
// first and touches no other.
type Heap struct{ h []*Set }

// Len returns the number of sets in the heap.
func (q *Heap) Len() int { return len(q.h) }

// Top returns the set whose change comes first; the heap must not be empty.
func (q *Heap) Top() *Set { return q.h[0] }

// Next is when the first set may change; zero when the heap is empty.
func (q *Heap) Next() time.Time {
	if len(q.h) == 0 {
		return time.Time{}
	}
	return q.h[0].At
}

// Push adds s, whose At is set.
func (q *Heap) Push(s *Set) {
	s.idx = len(q.h)
	q.h = append(q.h, s)
	q.up(s.idx)
}

// Fix restores the order after the At of the top set moved later.
func (q *Heap) Fix() { q.down(0) }

// Remove takes s out of the heap, if it is in it.
func (q *Heap) Remove(s *Set) {
	i := s.idx
	if i < 0 || i >= len(q.h) || q.h[i] != s {
		return
	}
	last := len(q.h) - 1
	if i != last {
		q.swap(i, last)
	}
	q.h[last] = nil
	q.h = q.h[:last]
	if i != last {
		q.down(i)
		q.up(i)
	}
	s.idx = -1
}

func (q *Heap) less(i, j int) bool { return q.h[i].At.Before(q.h[j].At) }

func (q *Heap) swap(i, j int) {
	h := q.h
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (q *Heap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			return
		}
		q.swap(i, p)
		i = p
	}
}

func (q *Heap) down(i int) {
	for n := len(q.h); ; {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && q.less(c+1, c) {
			c++
		}
		if !q.less(c, i) {
			return
		}
		q.swap(i, c)
		i = c
	}
}
