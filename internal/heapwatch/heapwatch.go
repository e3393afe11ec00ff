// Package heapwatch measures the heap for the benchmarks: what is live
// after a collection, and the largest heap seen while something runs.
package heapwatch

import (
	"runtime"
	"time"
)

// Live returns the heap and stacks in use after two collections: what the
// program holds.
func Live() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
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
				peak = max(peak, ms.HeapAlloc+ms.StackInuse)
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}
