package queue

import (
	"context"
	"errors"
	"math/bits"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// mpmc is what the stress test needs from each queue.
type mpmc interface {
	Put(context.Context, uint64) error
	Get(context.Context) (uint64, error)
	TryPut(uint64) error
	TryGet() (uint64, error)
	Close()
}

// mixedPriority sends one item in eight through the urgent lane.
type mixedPriority struct{ *Priority[uint64] }

func (m mixedPriority) Put(ctx context.Context, v uint64) error {
	if v%8 == 0 {
		return m.PutUrgent(ctx, v, time.Unix(0, int64(v%1000)))
	}
	return m.Priority.Put(ctx, v)
}

func stressItems() int {
	if testing.Short() {
		return 100_000
	}
	if raceEnabled {
		return 1_000_000
	}
	return 10_000_000
}

// stress passes n items from 8 producers to 8 consumers and checks that each
// arrives exactly once. Half the producers and consumers use the blocking
// calls, half spin on the non-blocking ones with a yield, so both paths meet.
func stress(t *testing.T, q mpmc, n int) {
	const producers, consumers = 8, 8
	seen := make([]atomic.Uint64, (n+63)/64)
	var dups, got atomic.Int64
	ctx := context.Background()

	var pw, cw sync.WaitGroup
	per := n / producers
	for p := range producers {
		pw.Go(func() {
			lo, hi := p*per, (p+1)*per
			if p == producers-1 {
				hi = n
			}
			for i := lo; i < hi; i++ {
				if p%2 == 0 {
					if err := q.Put(ctx, uint64(i)); err != nil {
						t.Errorf("Put: got %v, want nil", err)
						return
					}
					continue
				}
				for {
					err := q.TryPut(uint64(i))
					if err == nil {
						break
					}
					if !errors.Is(err, ErrFull) {
						t.Errorf("TryPut: got %v, want nil or ErrFull", err)
						return
					}
					yield()
				}
			}
		})
	}
	for c := range consumers {
		cw.Go(func() {
			for {
				var v uint64
				var err error
				if c%2 == 0 {
					v, err = q.Get(ctx)
				} else if v, err = q.TryGet(); errors.Is(err, ErrEmpty) {
					yield()
					continue
				}
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("get: got %v, want nil", err)
					return
				}
				bit := uint64(1) << (v % 64)
				if seen[v/64].Or(bit)&bit != 0 {
					dups.Add(1)
				}
				got.Add(1)
			}
		})
	}
	pw.Wait()
	q.Close()
	cw.Wait()

	if d := dups.Load(); d != 0 {
		t.Errorf("got %d duplicates, want 0", d)
	}
	if g := got.Load(); g != int64(n) {
		t.Errorf("got %d items, want %d", g, n)
	}
	missing := 0
	for i := range seen {
		want := ^uint64(0)
		if rest := n - 64*i; rest < 64 {
			want = 1<<rest - 1
		}
		missing += bits.OnesCount64(want &^ seen[i].Load())
	}
	if missing != 0 {
		t.Errorf("got %d items never delivered, want 0", missing)
	}
}

func TestStressQueue(t *testing.T) {
	stress(t, New[uint64](64), stressItems())
}

func TestStressPriority(t *testing.T) {
	stress(t, mixedPriority{NewPriority[uint64](64, 16)}, stressItems())
}

func TestStressAdaptive(t *testing.T) {
	stress(t, NewAdaptive[uint64](4, 64), stressItems())
}
