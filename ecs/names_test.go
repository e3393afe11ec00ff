package ecs

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestNameIndexAgainstMap applies random puts and deletes to the index and to
// a Go map and checks that they always agree, through growth and with
// deletions shifting probe runs that wrap around the table's end.
func TestNameIndexAgainstMap(t *testing.T) {
	names := map[uint32]string{}
	x := newNameIndex(0, func(id uint32) string { return names[id] })
	want := map[string]uint32{}
	next := uint32(1)
	rng := rand.New(rand.NewPCG(5, 9))
	for step := range 200000 {
		name := fmt.Sprintf("n%d", rng.IntN(5000))
		if e, ok := want[name]; ok {
			if rng.IntN(2) == 0 {
				x.del(name)
				delete(want, name)
				delete(names, e)
			}
		} else {
			e := next
			next++
			names[e] = name
			x.put(name, e)
			want[name] = e
		}
		if step%997 == 0 {
			for n, e := range want {
				if got, ok := x.get(n); !ok || got != e {
					t.Fatalf("step %d: get(%q) = %v, %v; want %v", step, n, got, ok, e)
				}
			}
			if x.n != len(want) {
				t.Fatalf("step %d: n = %d, want %d", step, x.n, len(want))
			}
		}
		if _, ok := x.get(fmt.Sprintf("absent%d", step)); ok {
			t.Fatalf("found a name never added")
		}
	}
}

func TestNameIndexTagCollisions(t *testing.T) {
	// A tiny table where every name shares probe runs and many share tags.
	names := map[uint32]string{}
	x := newNameIndex(0, func(id uint32) string { return names[id] })
	var es []uint32
	for i := range 300 {
		e := uint32(i + 1)
		names[e] = fmt.Sprint(i)
		x.put(names[e], e)
		es = append(es, e)
	}
	for i, e := range es {
		if i%3 == 0 {
			x.del(names[e])
		}
	}
	for i, e := range es {
		got, ok := x.get(names[e])
		if (i%3 == 0) == ok || (ok && got != e) {
			t.Fatalf("name %d: got %v, %v after deleting every third", i, got, ok)
		}
	}
}

// IDs up to the top of the index's width come back whole, whatever their
// tags.
func TestNameIndexWideIDs(t *testing.T) {
	names := map[uint32]string{}
	x := newNameIndex(0, func(id uint32) string { return names[id] })
	for i := range uint32(2000) {
		id := uint32(1<<idBits-1) - i*4099
		names[id] = fmt.Sprint("w", i)
		x.put(names[id], id)
	}
	for id, name := range names {
		if got, ok := x.get(name); !ok || got != id {
			t.Fatalf("got get(%q) = %d, %v; want %d", name, got, ok, id)
		}
	}
}
