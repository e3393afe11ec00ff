package cpra_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/pulse"
)

// An engine's large arrays of plain values are outside the heap, and
// Stats and OffHeapBytes say how many bytes that is (none in a race
// build, where they stay on the heap).
func TestOffHeapBytes(t *testing.T) {
	const n = 50_000
	before := settledOffHeap()
	e, err := cpra.New(cpra.WithCapacity(n))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	ok := pulse.CheckerFunc(func(context.Context) error { return nil })
	for i := range n {
		if _, err := e.Add(cpra.Monitor{Name: "m" + strconv.Itoa(i), Interval: time.Hour, Check: ok}); err != nil {
			t.Fatal(err)
		}
	}
	settledOffHeap()
	s := e.Stats()
	if now := cpra.OffHeapBytes(); s.OffHeapBytes != now {
		t.Errorf("Stats says %d bytes outside the heap, OffHeapBytes %d", s.OffHeapBytes, now)
	}
	grew := s.OffHeapBytes - before
	switch {
	case raceEnabled && grew != 0:
		t.Errorf("a race build holds %d bytes outside the heap, want none", grew)
	case !raceEnabled && grew < 66*n:
		// Each monitor's schedule and health (32 B), the record of
		// generations (4 B), the schedule's entry (4 B), the name
		// index (4 B a slot, 3/4 full at most), ark's record of the
		// entity (17 B) and its entry in its table's column of
		// entities (8 B).
		t.Errorf("%d monitors hold %d bytes outside the heap, want at least %d", n, grew, 66*n)
	}
}

// settledOffHeap returns cpra.OffHeapBytes once the arrays of the engines
// of earlier tests, which are gone, have been unmapped: that is done by
// cleanups, on their own goroutine, after the collections that find the
// engines unreachable.
func settledOffHeap() int64 {
	last, same := cpra.OffHeapBytes(), 0
	for deadline := time.Now().Add(10 * time.Second); same < 3 && time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		if now := cpra.OffHeapBytes(); now == last {
			same++
		} else {
			last, same = now, 0
		}
	}
	return last
}
