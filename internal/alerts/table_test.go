package alerts

import (
	"math/rand/v2"
	"testing"

	ark "github.com/mlange-42/ark/ecs"

	"github.com/ziad/cpra/ecs"
)

// TestTable checks the table of lanes against a Go map through random
// adds, removals and moves, and that it lets its memory go as it empties.
func TestTable(t *testing.T) {
	w := ark.NewWorld()
	ens := make([]ecs.Entity, 5000)
	for i := range ens {
		ens[i] = w.NewEntity()
	}
	var tb table[lane, *lane]
	ref := map[ecs.Entity]*lane{}
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(step int) {
		t.Helper()
		if tb.len() != len(ref) {
			t.Fatalf("step %d: got %d lanes, want %d", step, tb.len(), len(ref))
		}
		for _, en := range ens {
			if got, want := tb.get(en), ref[en]; got != want {
				t.Fatalf("step %d: got lane %p for %v, want %p", step, got, en, want)
			}
		}
		if n := len(tb.slots); n > 0 && (tb.len()*4 > n*3 || n > minSlots && tb.len()*8 < n) {
			t.Fatalf("step %d: %d lanes in %d slots", step, tb.len(), n)
		}
	}
	for step := range 40_000 {
		en := ens[rng.IntN(len(ens))]
		// Grow for the first half, shrink for the second.
		add := rng.IntN(10) < 6 == (step < 20_000)
		switch l := ref[en]; {
		case l == nil && add:
			l = &lane{en: en}
			tb.put(l)
			ref[en] = l
		case l != nil && !add:
			tb.del(en)
			delete(ref, en)
		case l != nil:
			// Move it to another monitor with none, as Rekey does.
			to := ens[rng.IntN(len(ens))]
			if ref[to] == nil {
				tb.del(en)
				delete(ref, en)
				l.en = to
				tb.put(l)
				ref[to] = l
			}
		}
		if step%1000 == 0 {
			check(step)
		}
	}
	for en := range ref {
		tb.del(en)
		delete(ref, en)
	}
	check(-1)
	if tb.slots != nil {
		t.Errorf("got %d slots kept once empty, want none", len(tb.slots))
	}
}
