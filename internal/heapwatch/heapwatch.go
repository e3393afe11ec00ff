// Package heapwatch measures the heap for the benchmarks: what is live
// after a collection, and the largest heap seen while something runs. Both
// add the arrays kept outside the heap (internal/offheap): what the
// program holds, wherever it is.
package heapwatch

import (
	"runtime"
	"time"

	"github.com/ziad/cpra/internal/offheap"
)

// Live returns the heap and stacks in use after two collections, and the
// arrays mapped outside the heap: what the program holds.
func Live() uint64 {
	runtime.GC()
	runtime.GC()
	// The arrays of what is gone are unmapped by cleanups, which run on
	// their own goroutine after the collection that found them
	// unreachable: give them the time to.
	for range 20 {
		m := offheap.Mapped()
		time.Sleep(5 * time.Millisecond)
		runtime.GC()
		if offheap.Mapped() == m {
			break
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse + uint64(offheap.Mapped())
}

// Peak samples the heap and stacks in use every 10 ms until stop is called,
// which returns the largest figure seen. Each sample stops the world
// briefly.
func Peak() (stop func() uint64) {
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		var peak uint64
		for {
			select {
			case <-done:
				result <- peak
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc+ms.StackInuse+uint64(offheap.Mapped()))
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}
