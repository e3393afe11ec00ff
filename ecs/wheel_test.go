package ecs

import (
	"math/rand/v2"
	"testing"

	ark "github.com/mlange-42/ark/ecs"
)

// wheelHarness drives a wheel with entities whose due ticks it controls.
type wheelHarness struct {
	t     *testing.T
	world *ark.World
	due   map[Entity]int64
	hs    handles
	w     *Wheel
}

func newHarness(t *testing.T, start int64) *wheelHarness {
	h := &wheelHarness{t: t, world: ark.NewWorld(), due: map[Entity]int64{}}
	h.w = newWheel(start, &h.hs, func(e Entity) (int64, bool) {
		d, ok := h.due[e]
		return d, ok
	})
	return h
}

func (h *wheelHarness) add(due int64) Entity {
	e := h.world.NewEntity()
	h.hs.add(e)
	h.due[e] = due
	h.w.Insert(e, due)
	return e
}

func TestWheelPopsEachEntryAtItsTick(t *testing.T) {
	for _, start := range []int64{0, 4095, 4096*2 - 3, superTicks - 7, 5*superTicks + 12345} {
		h := newHarness(t, start)
		rng := rand.New(rand.NewPCG(1, uint64(start)))
		const n = 20000
		for range n {
			var off int64
			switch rng.IntN(4) {
			case 0:
				off = rng.Int64N(2 * pageTicks)
			case 1:
				off = rng.Int64N(4 * superTicks / 1024)
			case 2:
				off = rng.Int64N(3 * superTicks)
			default:
				off = rng.Int64N(50)
			}
			h.add(start + off)
		}
		popped := 0
		end := start + 3*superTicks + 10
		now := start
		for now < end {
			// Advance in uneven steps, sometimes jumping far as an idle loop does.
			next := h.w.NextDue()
			if next < 0 {
				break
			}
			if next < now {
				t.Fatalf("start %d: NextDue %d is before now %d", start, next, now)
			}
			step := next
			if rng.IntN(3) == 0 {
				step = next + rng.Int64N(5)
			}
			h.w.Advance(step, 0, func(e Entity, tick int64) {
				d := h.due[e]
				if tick != d && !(d < start && tick == start) {
					if tick < d {
						t.Fatalf("start %d: popped at %d, due %d (early)", start, tick, d)
					}
					if tick > step || d < now {
						t.Fatalf("start %d: popped at %d, due %d (late beyond the step)", start, tick, d)
					}
				}
				delete(h.due, e)
				popped++
			})
			now = step + 1
		}
		if popped != n {
			t.Fatalf("start %d: popped %d, want %d", start, popped, n)
		}
		if h.w.len() != 0 {
			t.Fatalf("start %d: wheel still holds %d entries", start, h.w.len())
		}
		if got := h.w.NextDue(); got != -1 {
			t.Fatalf("start %d: NextDue on empty wheel = %d, want -1", start, got)
		}
	}
}

func TestWheelExactTicksWhenAdvancedEveryTick(t *testing.T) {
	h := newHarness(t, 100)
	rng := rand.New(rand.NewPCG(7, 7))
	want := map[Entity]int64{}
	for range 5000 {
		d := 100 + rng.Int64N(3*pageTicks+500)
		want[h.add(d)] = d
	}
	for tick := int64(100); tick < 100+3*pageTicks+600; tick++ {
		h.w.Advance(tick, 0, func(e Entity, at int64) {
			if at != want[e] {
				t.Fatalf("entry due %d popped at %d", want[e], at)
			}
			delete(want, e)
			delete(h.due, e)
		})
	}
	if len(want) != 0 {
		t.Fatalf("%d entries never popped", len(want))
	}
}

func TestWheelDropsRemovedAndRefilesMoved(t *testing.T) {
	h := newHarness(t, 0)
	gone := h.add(3 * pageTicks) // in level 1: dropped during its cascade
	moved := h.add(3 * pageTicks)
	h.due[moved] = 5 * pageTicks
	delete(h.due, gone)
	var got []int64
	h.w.Advance(6*pageTicks, 0, func(e Entity, tick int64) {
		if e == gone {
			t.Fatal("a removed entity was popped")
		}
		got = append(got, tick)
	})
	if len(got) != 1 || got[0] != 5*pageTicks {
		t.Fatalf("moved entry popped at %v, want [%d]", got, 5*pageTicks)
	}
	if h.w.len() != 0 {
		t.Fatalf("Len = %d after the removed entry was passed, want 0", h.w.len())
	}
}

func TestWheelLateInsertPopsNext(t *testing.T) {
	h := newHarness(t, 1000)
	h.w.Advance(2000, 0, func(Entity, int64) {})
	e := h.add(10) // long past
	if got := h.w.NextDue(); got != 2001 {
		t.Fatalf("NextDue = %d, want 2001", got)
	}
	var at int64 = -1
	h.w.Advance(2001, 0, func(p Entity, tick int64) {
		if p == e {
			at = tick
		}
	})
	if at != 2001 {
		t.Fatalf("late entry popped at %d, want 2001", at)
	}
}

func TestWheelIdleWakeups(t *testing.T) {
	// 100k entries spread over a day: walking the wheel for a whole minute
	// should take far fewer visits than there are milliseconds.
	h := newHarness(t, 0)
	rng := rand.New(rand.NewPCG(3, 3))
	for range 100000 {
		h.add(60_000 + rng.Int64N(86_400_000))
	}
	wakes := 0
	for now := int64(0); now < 60_000; {
		next := h.w.NextDue()
		if next >= 60_000 {
			break
		}
		wakes++
		h.w.Advance(next, 0, func(Entity, int64) { t.Fatal("nothing is due in the first minute") })
		now = next + 1
	}
	if wakes > 60_000/cascadeWake+20 {
		t.Fatalf("%d wake-ups in an idle minute, want at most %d", wakes, 60_000/cascadeWake+20)
	}
}

func TestWheelAdvanceBudget(t *testing.T) {
	h := newHarness(t, 0)
	want := map[Entity]int64{}
	for i := range 1000 {
		d := int64(10 + i%3) // three crowded ticks
		want[h.add(d)] = d
	}
	calls := 0
	for !h.w.Advance(20, 100, func(e Entity, tick int64) {
		if tick != want[e] {
			t.Fatalf("entry due %d popped at %d", want[e], tick)
		}
		delete(want, e)
	}) {
		calls++
		if calls > 1000 {
			t.Fatal("Advance never finished")
		}
	}
	if len(want) != 0 {
		t.Fatalf("%d entries never popped", len(want))
	}
	// A round stops at the first chunk boundary past the budget: at most
	// 100+chunkLen-1 entries, so 1000 entries need at least 6 rounds.
	if want := 1000/(100+chunkLen-1) - 1; calls < want {
		t.Fatalf("Advance with a budget of 100 returned early %d times for 1000 entries, want at least %d", calls, want)
	}
	if h.w.Now() != 21 {
		t.Fatalf("Now = %d after catching up, want 21", h.w.Now())
	}
}

// Late counts what is due and not popped, wherever in the wheel it waits,
// and names the oldest due tick of a live entry.
func TestWheelLate(t *testing.T) {
	for _, start := range []int64{0, 4095, superTicks - 9000, 3*superTicks + 77} {
		h := newHarness(t, start)
		rng := rand.New(rand.NewPCG(5, uint64(start)))
		var es []Entity
		for range 5000 {
			es = append(es, h.add(start+rng.Int64N(40*pageTicks)))
		}
		// The clock stops part-way, as a loop that cannot keep up does.
		popTo := start + 2*pageTicks + 17
		// The earliest entry not yet popped goes: the oldest lateness is
		// a live one's.
		var gone Entity
		for _, e := range es {
			if h.due[e] > popTo && (gone.IsZero() || h.due[e] < h.due[gone]) {
				gone = e
			}
		}
		goneDue := h.due[gone]
		delete(h.due, gone)
		h.w.Advance(popTo, 0, func(Entity, int64) {})
		for _, to := range []int64{popTo, popTo + 1, popTo + 500, start + 9*pageTicks + 3, start + 39*pageTicks} {
			want, first := 0, int64(-1)
			for _, d := range h.due {
				if d > popTo && d <= to {
					want++
					if first < 0 || d < first {
						first = d
					}
				}
			}
			// The count reads few due times: the gone entry may count
			// until it is popped or dropped in a cascade.
			slack := 0
			if goneDue > popTo && goneDue <= to {
				slack = 1
			}
			n, f := h.w.Late(to)
			if n < want || n > want+slack || f != first {
				t.Errorf("start %d, clock at %d: Late(%d) = %d, %d; want %d, %d", start, h.w.Now(), to, n, f, want, first)
			}
		}
	}
}

func TestWheelWarmsAChunkBeforeItsPops(t *testing.T) {
	h := newHarness(t, 0)
	var warmed [][]Entity
	h.w.warm = func(es []Entity) { warmed = append(warmed, append([]Entity(nil), es...)) }
	var es []Entity
	for range 10 {
		es = append(es, h.add(5))
	}
	dead := es[3]
	h.hs.remove(dead) // removed before the tick: neither warmed nor popped
	delete(h.due, dead)
	victim := es[7] // removed by the pop of an entry before it
	var popped []Entity
	h.w.Advance(5, 0, func(e Entity, tick int64) {
		if len(warmed) != 1 {
			t.Fatalf("popped %v before its chunk was warmed (warmed %d times)", e, len(warmed))
		}
		if e == es[0] {
			h.hs.remove(victim)
			delete(h.due, victim)
		}
		popped = append(popped, e)
	})
	if len(warmed) != 1 || len(warmed[0]) != 9 {
		t.Fatalf("warm got %v, want the 9 live entities of the chunk once", warmed)
	}
	for _, e := range warmed[0] {
		if e == dead {
			t.Fatal("a removed entity was warmed")
		}
	}
	if len(popped) != 8 {
		t.Fatalf("popped %d entities, want 8 (10, less one removed before and one removed by an earlier pop)", len(popped))
	}
	for _, e := range popped {
		if e == dead || e == victim {
			t.Fatalf("popped removed entity %v", e)
		}
	}
}
