package config

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The set agrees with a Go map through its growth, reports where a name
// was first given, and tells names apart whose hashes share their top
// half (or all of it): it compares the names themselves.
func TestNameSet(t *testing.T) {
	var x nameSet
	want := map[string]position{}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 100_000 {
		name := fmt.Sprintf("svc-%d", rng.IntN(60_000))
		p := position{index: int32(i), line: int32(2 * i)}
		prev, dup := x.add(name, nameHash(name), p)
		first, seen := want[name]
		if dup != seen || seen && prev != first {
			t.Fatalf("add %q: %v, %v; want %v, %v", name, prev, dup, first, seen)
		}
		if !seen {
			want[name] = p
		}
	}
	if x.n != len(want) || x.n*4 > len(x.slots)*3 {
		t.Fatalf("%d names in %d slots, want %d at most 3/4 full", x.n, len(x.slots), len(want))
	}
	for name := range want {
		if !x.has(name) {
			t.Fatalf("%q filed, not found", name)
		}
	}
	if x.has("svc-60000") || x.has("") {
		t.Fatal("a name never filed is found")
	}

	// Hashes chosen to meet: equal top halves, and equal whole hashes.
	var y nameSet
	for i, h := range []uint64{0xabcd_0000_0000_0001, 0xabcd_0000_0000_0002, 0xabcd_0000_0000_0001} {
		name := fmt.Sprint("n", i)
		if _, dup := y.add(name, h, position{index: int32(i)}); dup {
			t.Fatalf("%s (hash %x) taken for a name filed before it", name, h)
		}
	}
	if p, dup := y.add("n1", 0xabcd_0000_0000_0002, position{index: 9}); !dup || p.index != 1 {
		t.Fatalf("n1 again: %v, %v; want where it was first given (1), true", p, dup)
	}
}
