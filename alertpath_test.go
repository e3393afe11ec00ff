package cpra_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
)

// alwaysDown always fails.
var alwaysDown = checkFunc(func(context.Context) error { return errors.New("down") })

type checkFunc func(context.Context) error

func (f checkFunc) Check(ctx context.Context) error { return f(ctx) }

// ledger counts what a notifier and the dead-letter hook saw, per alert.
type ledger struct {
	mu        sync.Mutex
	delivered map[string]int // monitor/code/since -> deliveries
	dead      map[string]int
	order     map[string][]string // monitor -> codes delivered, in order
}

func newLedger() *ledger {
	return &ledger{delivered: map[string]int{}, dead: map[string]int{}, order: map[string][]string{}}
}

func key(a alert.Alert) string {
	return fmt.Sprintf("%s/%s/%d/%d", a.Monitor, a.Code, a.Since.UnixMilli(), a.Repeat)
}

func (l *ledger) deliver(a alert.Alert) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.delivered[key(a)]++
	l.order[a.Monitor] = append(l.order[a.Monitor], a.Code.String())
}

func (l *ledger) hook(a alert.Alert, _ error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dead[key(a)]++
}

func (l *ledger) totals() (delivered, dead, dup, both int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, n := range l.delivered {
		delivered += n
		if n > 1 {
			dup += n - 1
		}
		if l.dead[k] > 0 {
			both++
		}
	}
	for _, n := range l.dead {
		dead += n
	}
	return
}

// At the shutdown deadline every alert still waiting or on the way is
// handed to the dead-letter hook: none is lost, and Stats agree with what
// the notifier and the hook saw, to the alert.
func TestShutdownDeadlineLosesNoAlert(t *testing.T) {
	n := 100_000
	if testing.Short() || raceEnabled {
		n = 10_000
	}
	synctest.Test(t, func(t *testing.T) {
		led := newLedger()
		slow := alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error {
			select {
			case <-time.After(time.Second):
				led.deliver(a)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		e, err := cpra.New(cpra.WithNotifier(slow), cpra.WithUndelivered(led.hook),
			cpra.WithNotifyConcurrency(16, 4096), cpra.WithCapacity(n))
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if _, err := e.Add(cpra.Monitor{Name: fmt.Sprintf("m%06d", i), Interval: time.Second, FailureThreshold: 1,
				Check: alwaysDown}); err != nil {
				t.Fatal(err)
			}
		}
		e.Start(context.Background())
		time.Sleep(1500 * time.Millisecond) // every monitor failed once: n reds raised
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want the deadline", err)
		}
		st := e.Stats()
		delivered, dead, dup, both := led.totals()
		t.Logf("%d reds raised: %d delivered, %d dead-lettered at the deadline", st.AlertsRaised, delivered, dead)
		if st.AlertsRaised != uint64(n) {
			t.Errorf("AlertsRaised %d, want %d (one red each)", st.AlertsRaised, n)
		}
		if lost := int(st.AlertsRaised) - delivered - dead - int(st.AlertsCollapsed); lost != 0 || dup != 0 || both != 0 {
			t.Errorf("lost %d, duplicated %d, delivered and dead-lettered %d; want 0, 0, 0", lost, dup, both)
		}
		if st.AlertsSent != uint64(delivered) || st.AlertsFailed != uint64(dead) || st.AlertsQueued != 0 {
			t.Errorf("Stats sent %d, failed %d, queued %d; the notifier saw %d and the hook %d",
				st.AlertsSent, st.AlertsFailed, st.AlertsQueued, delivered, dead)
		}
		if dead == 0 || delivered == 0 {
			t.Errorf("delivered %d and dead-lettered %d: the deadline should fall in the middle", delivered, dead)
		}
	})
}

// Monitors whose notifiers hang hold only their own deliveries: an
// unrelated monitor's red goes out at once.
func TestHangingNotifiersDelayNoOther(t *testing.T) {
	const stuck = 2000
	synctest.Test(t, func(t *testing.T) {
		var hanging atomic.Int64
		got := make(chan time.Duration, 1)
		healthy := alert.NotifierFunc(func(_ context.Context, a alert.Alert) error {
			select {
			case got <- time.Since(a.At):
			default:
			}
			return nil
		})
		e, _ := cpra.New(cpra.WithNotifier(healthy), cpra.WithNotifyTimeout(10*time.Second))
		for i := range stuck {
			hang := alert.NotifierFunc(func(ctx context.Context, _ alert.Alert) error {
				hanging.Add(1)
				<-ctx.Done() // honours its 10s timeout, then fails
				return ctx.Err()
			})
			e.Add(cpra.Monitor{Name: fmt.Sprintf("stuck-%d", i), Interval: time.Second, FailureThreshold: 1,
				Check: alwaysDown, Notify: hang})
		}
		var broken atomic.Bool
		e.Add(cpra.Monitor{Name: "api", Interval: time.Second, FailureThreshold: 1,
			Check: checkFunc(func(context.Context) error {
				if broken.Load() {
					return errors.New("down")
				}
				return nil
			})})
		e.Start(context.Background())
		time.Sleep(3 * time.Second) // the stuck notifiers hang on their first reds
		synctest.Wait()
		if h := hanging.Load(); h < stuck {
			t.Fatalf("only %d of %d notifiers were called", h, stuck)
		}
		broken.Store(true)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		select {
		case d := <-got:
			t.Logf("the unrelated red reached its notifier %v after it was raised, beside %d hanging deliveries", d, stuck)
			if d > 100*time.Millisecond {
				t.Errorf("unrelated red took %v, want at most 100ms", d)
			}
		default:
			t.Fatalf("the unrelated red was not delivered while %d notifiers hang", stuck)
		}
		shutdown(t, e)
	})
}

// A flapping fleet whose notifier is stuck does not grow the heap without
// bound: each monitor's waiting alerts are collapsed.
func TestBacklogBoundedWithStuckNotifier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stuck := alert.NotifierFunc(func(ctx context.Context, _ alert.Alert) error {
			<-ctx.Done()
			return ctx.Err()
		})
		e, _ := cpra.New(cpra.WithNotifier(stuck), cpra.WithNotifyTimeout(10*time.Second),
			cpra.WithNotifyRetries(1000, time.Second), cpra.WithNotifyMaxElapsed(time.Hour))
		for i := range 1000 {
			var n atomic.Int64
			e.Add(cpra.Monitor{Name: fmt.Sprintf("pp-%d", i), Interval: 100 * time.Millisecond,
				FailureThreshold: 1, SuccessThreshold: 1,
				Check: checkFunc(func(context.Context) error {
					if n.Add(1)%2 == 0 {
						return errors.New("down")
					}
					return nil
				})})
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e.Start(context.Background())
		time.Sleep(60 * time.Second)
		synctest.Wait()
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := e.Stats()
		growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		t.Logf("60s of 1000 ping-pong monitors, notifier stuck: %d alerts raised, %d collapsed, %d waiting; heap +%.1f MiB",
			st.AlertsRaised, st.AlertsCollapsed, st.AlertsQueued, float64(growth)/(1<<20))
		if st.AlertsRaised < 500_000 {
			t.Errorf("only %d alerts raised: the fleet did not ping-pong", st.AlertsRaised)
		}
		if growth > 64<<20 {
			t.Errorf("heap grew %d MiB, want at most 64", growth>>20)
		}
		if st.AlertsQueued > 1000*32 {
			t.Errorf("%d alerts waiting, want at most 32 per monitor", st.AlertsQueued)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		e.Shutdown(ctx)
		st = e.Stats()
		if lost := st.AlertsRaised - st.AlertsSent - st.AlertsFailed - st.AlertsCollapsed; lost != 0 {
			t.Errorf("%d alerts without a fate after Shutdown", lost)
		}
	})
}

// A Notify call's own result wins over its deadline: a nil returned just
// before (or at) the deadline is one delivery, never a retry or a dead
// letter; a call that ignores its context holds its lane, so one monitor's
// calls never overlap.
func TestOwnResultWinsOverDeadline(t *testing.T) {
	const timeout = time.Second
	for _, tc := range []struct {
		name string
		took time.Duration
	}{
		{"2ms before", timeout - 2*time.Millisecond},
		{"at the deadline", timeout},
		{"ignoring the context, past it", timeout * 3 / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				led := newLedger()
				var mu sync.Mutex
				running := map[string]int{}
				overlaps := 0
				slow := alert.NotifierFunc(func(_ context.Context, a alert.Alert) error {
					mu.Lock()
					if running[a.Monitor]++; running[a.Monitor] > 1 {
						overlaps++
					}
					mu.Unlock()
					time.Sleep(tc.took) // ignores ctx
					mu.Lock()
					running[a.Monitor]--
					mu.Unlock()
					led.deliver(a)
					return nil
				})
				e, _ := cpra.New(cpra.WithNotifier(slow), cpra.WithUndelivered(led.hook), cpra.WithNotifyTimeout(timeout),
					cpra.WithNotifyConcurrency(4096, 4096))
				var broken atomic.Bool
				broken.Store(true)
				for i := range 2000 {
					e.Add(cpra.Monitor{Name: fmt.Sprintf("m%d", i), Interval: time.Second, FailureThreshold: 1,
						SuccessThreshold: 1, Check: checkFunc(func(context.Context) error {
							if broken.Load() {
								return errors.New("down")
							}
							return nil
						})})
				}
				e.Start(context.Background())
				time.Sleep(3 * time.Second)
				broken.Store(false) // every red is followed by a green
				time.Sleep(10 * time.Second)
				shutdown(t, e)
				delivered, dead, dup, both := led.totals()
				st := e.Stats()
				t.Logf("%d delivered, %d dead-lettered, %d duplicates, %d both, %d overlapping calls",
					delivered, dead, dup, both, overlaps)
				if delivered != 4000 || dead != 0 || dup != 0 || both != 0 || overlaps != 0 {
					t.Errorf("want 4000 delivered (a red and a green each) and no dead letter, duplicate or overlap")
				}
				if st.AlertsSent != 4000 || st.AlertsFailed != 0 {
					t.Errorf("Stats sent %d, failed %d; want 4000, 0", st.AlertsSent, st.AlertsFailed)
				}
				for m, codes := range led.order {
					if len(codes) != 2 || codes[0] != "red" || codes[1] != "green" {
						t.Fatalf("%s got %v, want red then green", m, codes)
					}
				}
			})
		})
	}
}
