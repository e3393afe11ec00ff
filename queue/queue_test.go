package queue

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestQueueCap(t *testing.T) {
	tests := []struct{ in, want int }{{-1, 2}, {0, 2}, {1, 2}, {2, 2}, {3, 4}, {5, 8}, {1024, 1024}, {1025, 2048}}
	for _, tt := range tests {
		if got := New[int](tt.in).Cap(); got != tt.want {
			t.Errorf("New(%d).Cap(): got %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestQueueFIFOAndBounds(t *testing.T) {
	q := New[int](4)
	for lap := range 3 { // wrap around the ring
		for i := range 4 {
			if err := q.TryPut(10*lap + i); err != nil {
				t.Fatalf("TryPut %d: got %v, want nil", i, err)
			}
		}
		if err := q.TryPut(99); !errors.Is(err, ErrFull) {
			t.Fatalf("TryPut on full: got %v, want ErrFull", err)
		}
		if got := q.Len(); got != 4 {
			t.Errorf("Len: got %d, want 4", got)
		}
		for i := range 4 {
			v, err := q.TryGet()
			if err != nil || v != 10*lap+i {
				t.Fatalf("TryGet: got %d, %v, want %d, nil", v, err, 10*lap+i)
			}
		}
		if _, err := q.TryGet(); !errors.Is(err, ErrEmpty) {
			t.Fatalf("TryGet on empty: got %v, want ErrEmpty", err)
		}
	}
	s := q.Stats()
	if s.Enqueued != 12 || s.Dequeued != 12 || s.Full != 3 || s.Len != 0 || s.Cap != 4 {
		t.Errorf("Stats: got %+v, want 12 in, 12 out, 3 full, empty, cap 4", s)
	}
}

func TestQueueClose(t *testing.T) {
	q := New[string](4)
	ctx := context.Background()
	if err := q.Put(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	q.Close()
	q.Close() // idempotent
	if err := q.TryPut("b"); !errors.Is(err, ErrClosed) {
		t.Errorf("TryPut after Close: got %v, want ErrClosed", err)
	}
	if err := q.Put(ctx, "b"); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: got %v, want ErrClosed", err)
	}
	if v, err := q.Get(ctx); v != "a" || err != nil {
		t.Errorf("Get after Close: got %q, %v, want the queued item", v, err)
	}
	if _, err := q.Get(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Get on closed and drained: got %v, want ErrClosed", err)
	}
	if _, err := q.TryGet(); !errors.Is(err, ErrClosed) {
		t.Errorf("TryGet on closed and drained: got %v, want ErrClosed", err)
	}
}

// queues gives each test the three kinds behind one interface.
func queues(capacity int) map[string]mpmc {
	return map[string]mpmc{
		"Queue":    New[uint64](capacity),
		"Priority": mixedPriority{NewPriority[uint64](capacity, capacity)},
		"Adaptive": NewAdaptive[uint64](1, capacity),
	}
}

// Idle consumers park: synctest.Wait returns only once every goroutine in the
// bubble is durably blocked, which a spinning consumer never is.
func TestIdleConsumersPark(t *testing.T) {
	for name := range queues(2) {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := queues(2)[name]
				ctx := context.Background()
				var mu sync.Mutex
				var got []uint64
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() {
						for {
							v, err := q.Get(ctx)
							if err != nil {
								return
							}
							mu.Lock()
							got = append(got, v)
							mu.Unlock()
						}
					})
				}
				synctest.Wait() // all four parked on an empty queue
				for i := range 10 {
					if err := q.Put(ctx, uint64(i+1)); err != nil {
						t.Fatal(err)
					}
				}
				synctest.Wait() // all delivered, all parked again
				mu.Lock()
				if len(got) != 10 {
					t.Errorf("got %d items, want 10", len(got))
				}
				mu.Unlock()
				q.Close()
				wg.Wait()
			})
		})
	}
}

// A producer blocked on a full queue parks, and wakes when room appears or
// the queue closes.
func TestBlockedPut(t *testing.T) {
	for name := range queues(2) {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := queues(2)[name]
				ctx := context.Background()
				for i := range 2 {
					if err := q.Put(ctx, uint64(i+1)); err != nil {
						t.Fatal(err)
					}
				}
				done := make(chan error, 2)
				go func() { done <- q.Put(ctx, 3) }()
				go func() { done <- q.Put(ctx, 5) }()
				synctest.Wait()
				select {
				case err := <-done:
					t.Fatalf("Put on a full queue returned %v, want it to block", err)
				default:
				}
				if _, err := q.TryGet(); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				if err := <-done; err != nil {
					t.Errorf("blocked Put after a get: got %v, want nil", err)
				}
				q.Close()
				if err := <-done; !errors.Is(err, ErrClosed) {
					t.Errorf("blocked Put after Close: got %v, want ErrClosed", err)
				}
			})
		})
	}
}

func TestContextEnds(t *testing.T) {
	for name, q := range queues(2) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			if _, err := q.Get(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Get on empty: got %v, want DeadlineExceeded", err)
			}
			for i := range 2 {
				if err := q.TryPut(uint64(i + 1)); err != nil {
					t.Fatal(err)
				}
			}
			ctx2, cancel2 := context.WithCancel(context.Background())
			cancel2()
			if err := q.Put(ctx2, 7); !errors.Is(err, context.Canceled) {
				t.Errorf("Put on full: got %v, want Canceled", err)
			}
		})
	}
}

func TestWaitTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New[int](128)
		for i := range 128 {
			q.TryPut(i)
		}
		time.Sleep(time.Second) // fake time inside the bubble
		for range 64 {
			q.TryGet()
		}
		time.Sleep(time.Second)
		for range 64 {
			q.TryGet()
		}
		s := q.Stats()
		// Positions 0 and 64 are sampled: queued 1 s and 2 s.
		if s.WaitSamples != 2 || s.Wait != 1500*time.Millisecond || s.MaxWait != 2*time.Second {
			t.Errorf("got %d samples, mean %v, max %v, want 2, 1.5s, 2s", s.WaitSamples, s.Wait, s.MaxWait)
		}
	})
}

func TestPriorityOrder(t *testing.T) {
	p := NewPriority[string](8, 8)
	base := time.Unix(1000, 0)
	p.TryPut("n1")
	p.TryPutUrgent("u@3", base.Add(3*time.Second))
	p.TryPut("n2")
	p.TryPutUrgent("u@1", base.Add(1*time.Second))
	p.TryPutUrgent("u@2a", base.Add(2*time.Second))
	p.TryPutUrgent("u@2b", base.Add(2*time.Second))
	if got := p.UrgentLen(); got != 4 {
		t.Errorf("UrgentLen: got %d, want 4", got)
	}
	if got := p.Len(); got != 6 {
		t.Errorf("Len: got %d, want 6", got)
	}
	want := []string{"u@1", "u@2a", "u@2b", "u@3", "n1", "n2"}
	for _, w := range want {
		got, err := p.TryGet()
		if err != nil || got != w {
			t.Fatalf("got %q, %v, want %q", got, err, w)
		}
	}
	if _, err := p.TryGet(); !errors.Is(err, ErrEmpty) {
		t.Errorf("got %v, want ErrEmpty", err)
	}
	normal, urgent := p.Stats()
	if normal.Enqueued != 2 || urgent.Enqueued != 4 || urgent.Dequeued != 4 {
		t.Errorf("Stats: got normal %+v urgent %+v", normal, urgent)
	}
}

func TestPriorityUrgentFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPriority[int](2, 1)
		ctx := context.Background()
		now := time.Now()
		if err := p.TryPutUrgent(1, now); err != nil {
			t.Fatal(err)
		}
		if err := p.TryPutUrgent(2, now); !errors.Is(err, ErrFull) {
			t.Fatalf("TryPutUrgent on full lane: got %v, want ErrFull", err)
		}
		p.TryPut(10)
		p.TryPut(11) // normal lane full too
		urgentDone := make(chan error, 1)
		normalDone := make(chan error, 1)
		go func() { urgentDone <- p.PutUrgent(ctx, 3, now) }()
		go func() { normalDone <- p.Put(ctx, 12) }()
		synctest.Wait()
		// Freeing the urgent lane must wake the urgent putter, not the normal one.
		if v, _ := p.TryGet(); v != 1 {
			t.Fatalf("got %d, want the urgent 1", v)
		}
		synctest.Wait()
		select {
		case err := <-urgentDone:
			if err != nil {
				t.Fatalf("PutUrgent: got %v", err)
			}
		default:
			t.Fatal("PutUrgent still blocked after the urgent lane got room")
		}
		if v, _ := p.TryGet(); v != 3 {
			t.Fatalf("got %d, want the urgent 3", v)
		}
		if v, _ := p.TryGet(); v != 10 {
			t.Fatalf("got %d, want 10", v)
		}
		if err := <-normalDone; err != nil {
			t.Fatalf("Put: got %v", err)
		}
		_, urgent := p.Stats()
		if urgent.Full != 2 { // the rejected TryPutUrgent and the PutUrgent that waited
			t.Errorf("urgent Full: got %d, want 2", urgent.Full)
		}
		p.Close()
		if err := p.TryPutUrgent(4, now); !errors.Is(err, ErrClosed) {
			t.Errorf("after Close: got %v, want ErrClosed", err)
		}
	})
}

func TestAdaptiveResizes(t *testing.T) {
	q := NewAdaptive[int](2, 16)
	if got := q.Cap(); got != 2 {
		t.Fatalf("Cap: got %d, want 2", got)
	}
	q.TryPut(-1)
	q.TryGet() // move head so that growing has to unwrap the ring
	caps := []int{}
	for i := range 16 {
		if err := q.TryPut(i); err != nil {
			t.Fatalf("TryPut %d: got %v", i, err)
		}
		caps = append(caps, q.Cap())
	}
	if err := q.TryPut(99); !errors.Is(err, ErrFull) {
		t.Fatalf("TryPut at max: got %v, want ErrFull", err)
	}
	if got, want := caps[len(caps)-1], 16; got != want {
		t.Errorf("Cap when full: got %d, want %d", got, want)
	}
	for i := range 16 {
		v, err := q.TryGet()
		if err != nil || v != i {
			t.Fatalf("TryGet: got %d, %v, want %d (FIFO across resizes)", v, err, i)
		}
	}
	// The last 5 gets left at most 4 items: not yet the 8 in a row that
	// halve 16. Gets on the empty queue count too: 3 more halve it to 8, then
	// 4 more to 4, then 2 more to 2.
	if got := q.Cap(); got != 16 {
		t.Errorf("Cap when just drained: got %d, want 16", got)
	}
	for range 3 {
		q.TryGet()
	}
	if got := q.Cap(); got != 8 {
		t.Errorf("Cap after 3 more gets: got %d, want 8", got)
	}
	for range 6 {
		q.TryGet()
	}
	if got := q.Cap(); got != 2 {
		t.Errorf("Cap after 6 more gets: got %d, want 2", got)
	}
	s := q.Stats()
	if s.Grows != 3 || s.Shrinks != 3 || s.Full != 1 || s.Enqueued != 17 || s.Dequeued != 17 {
		t.Errorf("Stats: got %+v, want 3 grows, 3 shrinks, 1 full, 17 in and out", s)
	}
	// No thrashing: a queue hovering around half full keeps its size.
	for range 8 {
		q.TryPut(0)
	}
	for i := range 100 {
		q.TryPut(0)
		q.TryGet()
		if got := q.Cap(); got != 16 {
			t.Fatalf("Cap at step %d of a steady load of 8 to 9 items: got %d, want 16", i, got)
		}
	}
}

func TestAdaptiveBounds(t *testing.T) {
	tests := []struct{ lo, hi, wantCap, wantMax int }{{0, 0, 1, 1}, {4, 2, 4, 4}, {3, 10, 3, 10}}
	for _, tt := range tests {
		q := NewAdaptive[int](tt.lo, tt.hi)
		n := 0
		for q.TryPut(0) == nil {
			n++
		}
		if q.Cap() != tt.wantMax || n != tt.wantMax {
			t.Errorf("NewAdaptive(%d, %d): got max %d holding %d, want %d", tt.lo, tt.hi, q.Cap(), n, tt.wantMax)
		}
		if got := NewAdaptive[int](tt.lo, tt.hi).Cap(); got != tt.wantCap {
			t.Errorf("NewAdaptive(%d, %d).Cap(): got %d, want %d", tt.lo, tt.hi, got, tt.wantCap)
		}
	}
}
