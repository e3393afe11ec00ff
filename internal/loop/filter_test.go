package loop

import (
	"fmt"
	"testing"
)

// Every name filed is found, through the filter's growth and after names
// are deleted from the map; names never filed are rarely let through; a
// reset filter lets nothing through.
func TestNameFilter(t *testing.T) {
	var f nameFilter
	names := map[string][]byte{}
	for i := range 50_000 {
		name := fmt.Sprintf("svc-%d.example.com", i)
		names[name] = nil
		f.file(name, names)
		if i%997 == 0 {
			for n := range names {
				if !f.may(n) {
					t.Fatalf("after %d names: %q filed, not let through", i+1, n)
				}
			}
		}
	}
	for i := range 25_000 {
		delete(names, fmt.Sprintf("svc-%d.example.com", i))
	}
	names["late"] = nil
	f.file("late", names)
	for n := range names {
		if !f.may(n) {
			t.Fatalf("%q filed, not let through", n)
		}
	}
	through := 0
	for i := range 100_000 {
		if f.may(fmt.Sprintf("other-%d", i)) {
			through++
		}
	}
	if through > 3_000 {
		t.Errorf("%d of 100000 names never filed let through, want about 1 in 100", through)
	}
	f.reset()
	if f.may("late") {
		t.Error("a reset filter lets a name through")
	}
	names = map[string][]byte{"again": nil}
	f.file("again", names)
	if !f.may("again") {
		t.Error("a filter used again after a reset: the new name is not let through")
	}
	old := 0
	for i := 25_000; i < 25_100; i++ {
		if f.may(fmt.Sprintf("svc-%d.example.com", i)) {
			old++
		}
	}
	if old > 10 {
		t.Errorf("a filter used again after a reset lets %d of 100 names filed before it through", old)
	}

	// Made at once from the hashes of the names loaded, as a store is
	// read, then filed into.
	loaded := map[string][]byte{}
	var g nameFilter
	var hs []uint64
	for i := range 30_000 {
		name := fmt.Sprintf("db-%d", i)
		loaded[name] = nil
		hs = append(hs, g.hash(name))
	}
	g.fromHashes(hs)
	for i := range 40_000 {
		name := fmt.Sprintf("db-%d", 30_000+i)
		loaded[name] = nil
		g.file(name, loaded)
	}
	for n := range loaded {
		if !g.may(n) {
			t.Fatalf("%q, loaded or filed after, not let through", n)
		}
	}
}
