package cpra_test

import (
	"context"
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
	before := cpra.OffHeapBytes()
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
	s := e.Stats()
	if now := cpra.OffHeapBytes(); s.OffHeapBytes != now {
		t.Errorf("Stats says %d bytes outside the heap, OffHeapBytes %d", s.OffHeapBytes, now)
	}
	grew := s.OffHeapBytes - before
	switch {
	case raceEnabled && grew != 0:
		t.Errorf("a race build holds %d bytes outside the heap, want none", grew)
	case !raceEnabled && grew < 44*n:
		// Each monitor's schedule and health (32 B), the record of
		// generations (4 B), the schedule's entry (4 B) and the name
		// index (4 B a slot, 3/4 full at most).
		t.Errorf("%d monitors hold %d bytes outside the heap, want at least %d", n, grew, 44*n)
	}
}
