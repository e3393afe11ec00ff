package queue

import (
	"context"
	"sync"
	"testing"

	workiva "github.com/Workiva/go-datastructures/queue"
)

const benchCap = 1024

// SPSC: the benchmark loop produces, one goroutine consumes with blocking gets.

func BenchmarkQueueSPSC(b *testing.B) {
	b.ReportAllocs()
	q := New[int](benchCap)
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if _, err := q.Get(ctx); err != nil {
				return
			}
		}
	})
	for b.Loop() {
		q.Put(ctx, 1)
	}
	q.Close()
	wg.Wait()
}

func BenchmarkChannelSPSC(b *testing.B) {
	b.ReportAllocs()
	ch := make(chan int, benchCap)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range ch {
		}
	})
	for b.Loop() {
		ch <- 1
	}
	close(ch)
	wg.Wait()
}

// The Workiva ring's Get spins (yielding) while empty, so its consumer burns
// a CPU whenever it waits; items are boxed in interface values.
func BenchmarkWorkivaRingBufferSPSC(b *testing.B) {
	b.ReportAllocs()
	rb := workiva.NewRingBuffer(benchCap)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if _, err := rb.Get(); err != nil {
				return
			}
		}
	})
	for b.Loop() {
		rb.Put(1)
	}
	rb.Dispose()
	wg.Wait()
}

func BenchmarkPrioritySPSC(b *testing.B) {
	b.ReportAllocs()
	q := NewPriority[int](benchCap, 64)
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if _, err := q.Get(ctx); err != nil {
				return
			}
		}
	})
	for b.Loop() {
		q.Put(ctx, 1)
	}
	q.Close()
	wg.Wait()
}

func BenchmarkAdaptiveSPSC(b *testing.B) {
	b.ReportAllocs()
	q := NewAdaptive[int](64, benchCap)
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if _, err := q.Get(ctx); err != nil {
				return
			}
		}
	})
	for b.Loop() {
		q.Put(ctx, 1)
	}
	q.Close()
	wg.Wait()
}

// MPMC: 4×GOMAXPROCS goroutines each put one item and get one, so every
// goroutine is both a producer and a consumer and all contend on the queue.

func BenchmarkQueueMPMC(b *testing.B) {
	b.ReportAllocs()
	q := New[int](benchCap)
	ctx := context.Background()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			q.Put(ctx, 1)
			q.Get(ctx)
		}
	})
}

func BenchmarkChannelMPMC(b *testing.B) {
	b.ReportAllocs()
	ch := make(chan int, benchCap)
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ch <- 1
			<-ch
		}
	})
}

func BenchmarkWorkivaRingBufferMPMC(b *testing.B) {
	b.ReportAllocs()
	rb := workiva.NewRingBuffer(benchCap)
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rb.Put(1)
			rb.Get()
		}
	})
}

func BenchmarkPriorityMPMC(b *testing.B) {
	b.ReportAllocs()
	q := NewPriority[int](benchCap, 64)
	ctx := context.Background()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			q.Put(ctx, 1)
			q.Get(ctx)
		}
	})
}

func BenchmarkAdaptiveMPMC(b *testing.B) {
	b.ReportAllocs()
	q := NewAdaptive[int](64, benchCap)
	ctx := context.Background()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			q.Put(ctx, 1)
			q.Get(ctx)
		}
	})
}

// Uncontended non-blocking hand-off on one goroutine.

func BenchmarkQueueTryPutTryGet(b *testing.B) {
	b.ReportAllocs()
	q := New[int](benchCap)
	for b.Loop() {
		q.TryPut(1)
		q.TryGet()
	}
}

func BenchmarkChannelSelectDefault(b *testing.B) {
	b.ReportAllocs()
	ch := make(chan int, benchCap)
	for b.Loop() {
		select {
		case ch <- 1:
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
