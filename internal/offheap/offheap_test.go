package offheap

import (
	"runtime"
	"testing"
	"time"
)

func TestMakeGrowFree(t *testing.T) {
	base := Mapped()
	a := Make[uint32](1 << 20)
	if len(a.S) != 1<<20 || cap(a.S) != 1<<20 {
		t.Fatalf("got len %d cap %d, want %d", len(a.S), cap(a.S), 1<<20)
	}
	if got := Mapped() - base; mappable && got != 4<<20 || !mappable && got != 0 {
		t.Errorf("mapped %d bytes more, want %d (mappable %v)", got, map[bool]int{true: 4 << 20}[mappable], mappable)
	}
	if mappable != (a.m != nil) {
		t.Errorf("a 4 MiB array: mapped %v, want %v", a.m != nil, mappable)
	}
	for i, v := range a.S {
		if v != 0 {
			t.Fatalf("value %d is %d, want zero", i, v)
		}
		a.S[i] = uint32(i * 7)
	}
	a.S = a.S[:1000] // a shorter length keeps the array
	b := Grow(&a, 3<<20)
	if a.S != nil || a.m != nil {
		t.Error("Grow left the old array in place")
	}
	if len(b.S) != 3<<20 {
		t.Fatalf("got length %d, want %d", len(b.S), 3<<20)
	}
	for i, v := range b.S {
		want := uint32(i * 7)
		if i >= 1<<20 {
			want = 0
		}
		if v != want {
			t.Fatalf("value %d is %d after Grow, want %d", i, v, want)
		}
	}
	if got := Mapped() - base; mappable && got != 12<<20 || !mappable && got != 0 {
		t.Errorf("after Grow, mapped %d bytes more, want the new array's only", got)
	}
	b.Free()
	b.Free() // a second Free does nothing
	if got := Mapped(); got != base {
		t.Errorf("after Free, mapped %d bytes, want %d", got, base)
	}
	if b.S != nil {
		t.Error("Free left the values in place")
	}
}

func TestSmallArraysOnTheHeap(t *testing.T) {
	base := Mapped()
	a := Make[uint64](Threshold/8 - 1)
	if a.m != nil || Mapped() != base {
		t.Errorf("an array under the threshold was mapped")
	}
	a.Free()
	z := Make[uint64](0)
	if len(z.S) != 0 || z.m != nil {
		t.Errorf("got %d values, want an empty array", len(z.S))
	}
}

func TestPointersRefused(t *testing.T) {
	type plainStruct struct {
		a uint32
		b [3]int64
		c struct{ f float64 }
	}
	p := Make[plainStruct](1 << 14) // 1 MiB: mapped where arrays are
	p.S[0].c.f = 1
	p.Free()
	q := Make[[4]uint16](10)
	q.Free()
	for name, mk := range map[string]func(){
		"pointer": func() { Make[*int](10) },
		"string":  func() { Make[string](10) },
		"slice":   func() { Make[[]byte](10) },
		"struct with a map": func() {
			Make[struct {
				a int
				m map[int]int
			}](10)
		},
		"array of funcs": func() { Make[[2]func()](10) },
		"interface":      func() { Make[any](10) },
		"unsafe pointer": func() {
			Make[struct {
				p uintptr
				q chan int
			}](10)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Make did not panic", name)
				}
			}()
			mk()
		}()
	}
}

// An array lost without Free is unmapped once the collector finds its
// Array unreachable.
func TestLostArrayUnmapped(t *testing.T) {
	base := Mapped()
	func() {
		a := Make[uint64](1 << 18)
		a.S[len(a.S)-1] = 1
		if mappable && Mapped()-base != 2<<20 {
			t.Errorf("mapped %d bytes more, want 2 MiB", Mapped()-base)
		}
	}()
	deadline := time.Now().Add(time.Minute)
	for Mapped() != base {
		if time.Now().After(deadline) {
			t.Fatalf("still %d bytes mapped a minute after the array was lost", Mapped()-base)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

func TestList(t *testing.T) {
	base := Mapped()
	var l List[uint64]
	var want []uint64
	for i := range 100_000 {
		l.Append(uint64(i))
		want = append(want, uint64(i))
		if i%7 == 0 {
			l.S[i/2]++ // written in place
			want[i/2]++
		}
	}
	l.S = append(l.S[:10], l.S[20:]...) // cut in place
	want = append(want[:10], want[20:]...)
	if len(l.S) != len(want) {
		t.Fatalf("got %d values, want %d", len(l.S), len(want))
	}
	for i := range want {
		if l.S[i] != want[i] {
			t.Fatalf("value %d is %d, want %d", i, l.S[i], want[i])
		}
	}
	l.Grow(500_000)
	if cap(l.S) < len(want)+500_000 {
		t.Errorf("after Grow(500000): cap %d for %d values", cap(l.S), len(l.S))
	}
	l.S = l.S[:50_000]
	l.Trim()
	if cap(l.S) != 50_000 || l.S[49_999] != want[49_999] {
		t.Errorf("after Trim: cap %d, last %d; want 50000 and %d", cap(l.S), l.S[49_999], want[49_999])
	}
	if got := Mapped() - base; mappable && got != 50_000*8+(4096-50_000*8%4096) || !mappable && got != 0 {
		t.Errorf("mapped %d bytes for 50,000 values", got)
	}
	l.Free()
	if Mapped() != base || l.S != nil {
		t.Errorf("after Free: %d bytes mapped, %d values", Mapped()-base, len(l.S))
	}
}

// Shrunk and grown again, an array has zeros past what it kept, though
// the page it ended in held other values.
func TestShrinkThenGrow(t *testing.T) {
	base := Mapped()
	a := Make[uint64](100_000)
	for i := range a.S {
		a.S[i] = uint64(i) + 1
	}
	b := Grow(&a, 50_001)
	if got := Mapped() - base; mappable && got != int64(pages(50_001*8)) {
		t.Errorf("shrunk, mapped %d bytes, want %d", got, pages(50_001*8))
	}
	c := Grow(&b, 100_000)
	for i, v := range c.S {
		want := uint64(i) + 1
		if i >= 50_001 {
			want = 0
		}
		if v != want {
			t.Fatalf("value %d is %d, want %d", i, v, want)
		}
	}
	c.Free()
	if Mapped() != base {
		t.Errorf("after Free, %d bytes mapped", Mapped()-base)
	}
}
