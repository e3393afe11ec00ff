package shared

import (
	"context"
	"math"
	"testing"
)

func TestTableShares(t *testing.T) {
	tb := New(func(s *string) string { return *s }, 0)
	a1, a2, b := "a", "a", "b"
	i, added := tb.Ref(&a1)
	if !added || tb.Len() != 1 {
		t.Fatalf("first Ref: added %v, %d values, want true, 1", added, tb.Len())
	}
	j, added := tb.Ref(&a2)
	if added || j != i || tb.Holders(i) != 2 {
		t.Errorf("Ref of an equal key: slot %d added %v holders %d, want %d false 2", j, added, tb.Holders(i), i)
	}
	if got := tb.Get(j); got != &a1 {
		t.Errorf("Get: %p, want the first value %p", got, &a1)
	}
	k, _ := tb.Ref(&b)
	if k == i || tb.Len() != 2 {
		t.Errorf("a second key: slot %d (first %d), %d values; want another slot, 2", k, i, tb.Len())
	}
	if f, ok := tb.Find("a"); !ok || f != i {
		t.Errorf("Find(a): %d %v, want %d true", f, ok, i)
	}
	tb.Hold(i) // three holders of a
	for n := 2; n >= 0; n-- {
		v, last := tb.Unref(i)
		if v != &a1 || last != (n == 0) {
			t.Errorf("Unref with %d holders left: %p %v, want %p %v", n, v, last, &a1, n == 0)
		}
	}
	if _, ok := tb.Find("a"); ok || tb.Len() != 1 || tb.Holders(i) != 0 {
		t.Errorf("after the last holder: found %v, %d values, %d holders; want false, 1, 0", ok, tb.Len(), tb.Holders(i))
	}
	// The freed slot takes the next new value; the table does not grow.
	c := "c"
	if s, added := tb.Ref(&c); s != i || !added || tb.Get(s) != &c {
		t.Errorf("Ref after a free: slot %d added %v, want %d true", s, added, i)
	}
	if len(tb.vals) != 2 {
		t.Errorf("%d slots, want 2: the free one reused", len(tb.vals))
	}
}

type notifier interface{ Notify(context.Context) error }

type fn func(context.Context) error

func (f fn) Notify(ctx context.Context) error { return f(ctx) }

type plainN struct {
	url string
	n   int
}

func (plainN) Notify(context.Context) error { return nil }

type sliceN struct{ to []string }

func (sliceN) Notify(context.Context) error { return nil }

type floatN struct{ f float64 }

func (floatN) Notify(context.Context) error { return nil }

type holder struct{ inner notifier }

func (holder) Notify(context.Context) error { return nil }

type mapN map[string]string

func (mapN) Notify(context.Context) error { return nil }

// KeyOf never panics, gives one key to one value held twice, and keys
// equal plain values alike but distinct values of other types apart.
func TestKeyOf(t *testing.T) {
	f := fn(func(context.Context) error { return nil })
	sl := notifier(sliceN{to: []string{"x"}})
	nan := notifier(floatN{math.NaN()})
	hf := notifier(holder{f})
	m := mapN{"a": "b"}
	for _, c := range []struct {
		name  string
		a, b  notifier
		equal bool
	}{
		{"the same func", f, f, true},
		{"two closures", f, fn(func(context.Context) error { return nil }), false},
		{"the same slice value", sl, sl, true},
		{"equal slice values, two copies", sl, sliceN{to: []string{"x"}}, false},
		{"the same NaN value", nan, nan, true},
		{"two NaN copies", nan, floatN{math.NaN()}, false},
		{"an interface holding a func, same value", hf, hf, true},
		{"an interface holding a func, two copies", hf, holder{f}, false},
		{"the same map", m, m, true},
		{"equal maps", m, mapN{"a": "b"}, false},
		{"equal plain values, two copies", plainN{"u", 1}, plainN{"u", 1}, true},
		{"unequal plain values", plainN{"u", 1}, plainN{"u", 2}, false},
		{"one pointer", &plainN{}, notifier(nil), false},
	} {
		ka, kb := KeyOf(c.a), KeyOf(c.b)
		// Keys go in a map: hashing them must not panic either.
		idx := map[Key]int{ka: 1}
		if _, got := idx[kb]; got != c.equal || (ka == kb) != c.equal {
			t.Errorf("%s: keys equal %v, want %v", c.name, ka == kb, c.equal)
		}
		delete(idx, ka)
		if len(idx) != 0 {
			t.Errorf("%s: a key cannot be deleted from a map", c.name)
		}
	}
}

func TestMapKey(t *testing.T) {
	a := map[string]string{"zone": "a"}
	b := map[string]string{"zone": "a"}
	if MapKey(a) != MapKey(a) || MapKey(a) == MapKey(b) {
		t.Errorf("map keys: same map equal %v, equal maps equal %v; want true, false", MapKey(a) == MapKey(a), MapKey(a) == MapKey(b))
	}
	var none map[string]string
	if MapKey(none) != nil {
		t.Errorf("key of a nil map: %p, want nil", MapKey(none))
	}
}

// Keys take no allocation: the engine makes one for every monitor added.
func TestKeyOfAllocs(t *testing.T) {
	f := notifier(fn(func(context.Context) error { return nil }))
	sl := notifier(sliceN{to: []string{"x"}})
	p := notifier(&plainN{})
	for _, x := range []notifier{f, sl, p} {
		if n := testing.AllocsPerRun(100, func() { keySink = KeyOf(x) }); n != 0 {
			t.Errorf("KeyOf(%T): %v allocations, want 0", x, n)
		}
	}
}

var keySink Key

// Past its bound the index takes no new key: a new value gets a slot of
// its own, found by no later value, while the indexed ones are still
// shared; a key that leaves the index makes room for the next.
func TestTableLimit(t *testing.T) {
	tb := New(func(s string) string { return s }, 2)
	a, _ := tb.Ref("a")
	tb.Ref("b")
	c1, _ := tb.Ref("c")
	c2, added := tb.Ref("c")
	if !added || c1 == c2 {
		t.Errorf("past the bound: c in slots %d and %d, added %v; want two slots", c1, c2, added)
	}
	if i, added := tb.Ref("a"); added || i != a {
		t.Errorf("an indexed key past the bound: slot %d added %v, want %d false", i, added, a)
	}
	// c's slots go without touching the index; a leaves it.
	tb.Unref(c1)
	tb.Unref(c2)
	tb.Unref(a)
	tb.Unref(a)
	if tb.Len() != 1 || len(tb.index) != 1 {
		t.Errorf("%d values, %d keys indexed; want 1, 1 (b)", tb.Len(), len(tb.index))
	}
	d1, _ := tb.Ref("d")
	if d2, added := tb.Ref("d"); added || d2 != d1 {
		t.Errorf("with room again: d in slots %d and %d, added %v; want one slot", d1, d2, added)
	}
}
