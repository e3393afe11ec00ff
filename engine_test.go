package cpra_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

func pass(context.Context) error { return nil }

func failing(context.Context) error { return errors.New("connection refused") }

// counter counts calls of a check.
type counter struct{ n atomic.Int64 }

func (c *counter) Check(context.Context) error { c.n.Add(1); return nil }

func TestHangingCheckTimesOutAndOthersGoOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		e, _ := cpra.New(cpra.WithWorkers(1, 4))
		stuck, _ := e.Add(cpra.Monitor{Name: "stuck", Interval: time.Second, Timeout: 200 * time.Millisecond,
			Check: pulse.CheckerFunc(func(context.Context) error { <-release; return nil })})
		healthy := &counter{}
		e.Add(cpra.Monitor{Name: "healthy", Interval: time.Second, Check: healthy})
		e.Start(context.Background())
		time.Sleep(10 * time.Second)
		synctest.Wait()
		st, _ := e.Status(stuck)
		var te *cpra.TimeoutError
		if !errors.As(st.LastError, &te) || !errors.Is(st.LastError, context.DeadlineExceeded) {
			t.Errorf("stuck monitor's last error = %v, want a check timeout", st.LastError)
		}
		if st.State != cpra.StateDown {
			t.Errorf("stuck monitor is %v, want down", st.State)
		}
		if n := healthy.n.Load(); n < 9 {
			t.Errorf("healthy monitor checked %d times in 10s, want at least 9", n)
		}
		if s := e.Stats(); s.ChecksAbandoned < 5 {
			t.Errorf("ChecksAbandoned = %d, want one per stuck check (>= 5)", s.ChecksAbandoned)
		}
		close(release)
		shutdown(t, e)
	})
}

func TestCheckHonouringContextGetsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got atomic.Value
		e, _ := cpra.New()
		id, _ := e.Add(cpra.Monitor{Name: "slow", Interval: time.Second, Timeout: 300 * time.Millisecond,
			Check: pulse.CheckerFunc(func(ctx context.Context) error {
				dl, ok := ctx.Deadline()
				start := time.Now()
				<-ctx.Done()
				got.Store(fmt.Sprint(ok, dl.Sub(start), time.Since(start), ctx.Err()))
				return ctx.Err()
			})})
		e.Start(context.Background())
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		st, _ := e.Status(id)
		shutdown(t, e)
		if want := "true 300ms 300ms context deadline exceeded"; got.Load() != want {
			t.Errorf("deadline, wait, error = %v, want %s", got.Load(), want)
		}
		if !errors.Is(st.LastError, context.DeadlineExceeded) {
			t.Errorf("last error = %v, want deadline exceeded", st.LastError)
		}
		if e.Stats().ChecksAbandoned != 0 {
			t.Errorf("a check that honoured its context was abandoned")
		}
	})
}

func TestContextValuesReachPlugins(t *testing.T) {
	type key struct{}
	synctest.Test(t, func(t *testing.T) {
		seen := make(chan any, 1)
		e, _ := cpra.New()
		e.Add(cpra.Monitor{Name: "v", Interval: time.Second, Check: pulse.CheckerFunc(func(ctx context.Context) error {
			select {
			case seen <- ctx.Value(key{}):
			default:
			}
			return nil
		})})
		e.Start(context.WithValue(context.Background(), key{}, "trace-7"))
		time.Sleep(1100 * time.Millisecond)
		shutdown(t, e)
		if v := <-seen; v != "trace-7" {
			t.Errorf("ctx.Value = %v, want trace-7", v)
		}
	})
}

func TestHangingRemediatorAndNotifierDoNotStallOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec), cpra.WithNotifyTimeout(time.Second), cpra.WithNotifyRetries(0, time.Second))
		e.Add(cpra.Monitor{Name: "fix-hangs", Interval: time.Second, Timeout: 200 * time.Millisecond, FailureThreshold: 1,
			Check:     pulse.CheckerFunc(failing),
			Remediate: intervene.RemediatorFunc(func(context.Context, intervene.Incident) error { <-release; return nil })})
		e.Add(cpra.Monitor{Name: "notify-hangs", Interval: time.Second, FailureThreshold: 1,
			Check:  pulse.CheckerFunc(failing),
			Notify: alert.NotifierFunc(func(context.Context, alert.Alert) error { <-release; return nil })})
		e.Add(cpra.Monitor{Name: "plain", Interval: time.Second, FailureThreshold: 1, Check: &script{out: "FPPP"}})
		e.Start(context.Background())
		time.Sleep(6 * time.Second)
		synctest.Wait()
		if got := rec.codes("plain"); got != "red green" {
			t.Errorf("plain monitor's alerts = %q, want red green", got)
		}
		if got := rec.codes("fix-hangs"); got != "red" {
			t.Errorf("hanging remediation: alerts = %q, want red after the attempt timed out", got)
		}
		s := e.Stats()
		if s.CallsAbandoned < 2 || s.AlertsFailed < 1 || s.RemediationsFailed < 1 {
			t.Errorf("stats = %+v, want abandoned calls, a failed alert and a failed remediation", s)
		}
		close(release)
		shutdown(t, e)
	})
}

func TestPanicsBecomeFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec), cpra.WithNotifyRetries(0, time.Second))
		id, _ := e.Add(cpra.Monitor{Name: "boom", Interval: time.Second, FailureThreshold: 1,
			Check:     pulse.CheckerFunc(func(context.Context) error { panic("nil map write") }),
			Remediate: intervene.RemediatorFunc(func(context.Context, intervene.Incident) error { panic(errors.New("fix blew up")) })})
		e.Add(cpra.Monitor{Name: "loud", Interval: time.Second, FailureThreshold: 1, Check: pulse.CheckerFunc(failing),
			Notify: alert.NotifierFunc(func(context.Context, alert.Alert) error { panic("notifier bug") })})
		e.Start(context.Background())
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		st, _ := e.Status(id)
		shutdown(t, e)
		var pe *cpra.PanicError
		if !errors.As(st.LastError, &pe) || pe.Value != "nil map write" || !strings.Contains(string(pe.Stack), "engine_test.go") {
			t.Fatalf("last error = %v, want a PanicError with the value and a stack through the checker", st.LastError)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.alerts) != 1 || rec.alerts[0].Code != alert.Red || !strings.Contains(rec.alerts[0].Err.Error(), "fix blew up") {
			t.Fatalf("alerts = %+v, want one red carrying the remediation panic", rec.alerts)
		}
		if s := e.Stats(); s.AlertsFailed == 0 || s.RemediationsFailed == 0 {
			t.Errorf("stats = %+v, want the panicking notifier and remediator counted as failed", s)
		}
	})
}

func TestNotifierRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var tries []time.Time
		n := alert.NotifierFunc(func(context.Context, alert.Alert) error {
			mu.Lock()
			defer mu.Unlock()
			tries = append(tries, time.Now())
			if len(tries) < 3 {
				return errors.New("503 service unavailable")
			}
			return nil
		})
		e, _ := cpra.New(cpra.WithNotifier(n), cpra.WithNotifyRetries(3, 100*time.Millisecond))
		e.Add(cpra.Monitor{Name: "x", Interval: time.Minute, FailureThreshold: 1, Check: pulse.CheckerFunc(failing)})
		e.Start(context.Background())
		time.Sleep(time.Minute)
		shutdown(t, e)
		mu.Lock()
		defer mu.Unlock()
		if len(tries) != 3 {
			t.Fatalf("%d tries, want 3 (two failures, then delivered once)", len(tries))
		}
		if d := tries[1].Sub(tries[0]); d < 100*time.Millisecond || d > 121*time.Millisecond {
			t.Errorf("first wait %v, want 100ms plus at most 20%% jitter", d)
		}
		if d := tries[2].Sub(tries[1]); d < 200*time.Millisecond || d > 241*time.Millisecond {
			t.Errorf("second wait %v, want 200ms plus at most 20%% jitter", d)
		}
		if s := e.Stats(); s.AlertsSent != 1 || s.AlertsFailed != 0 {
			t.Errorf("sent %d, failed %d; want 1, 0", s.AlertsSent, s.AlertsFailed)
		}
	})
}

func TestRemoveDuringInFlightCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{}, 1)
		proceed := make(chan struct{})
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		id, _ := e.Add(cpra.Monitor{Name: "gone", Interval: time.Second, Timeout: time.Second, FailureThreshold: 1,
			Check: pulse.CheckerFunc(func(context.Context) error {
				select {
				case started <- struct{}{}:
				default:
				}
				<-proceed
				return errors.New("down")
			})})
		e.Start(context.Background())
		<-started
		if err := e.Remove(id); err != nil {
			t.Fatal(err)
		}
		close(proceed)
		time.Sleep(5 * time.Second)
		shutdown(t, e)
		if got := rec.codes(""); got != "" {
			t.Errorf("alerts after Remove: %q, want none", got)
		}
		if _, err := e.Status(id); !errors.Is(err, cpra.ErrNotFound) {
			t.Errorf("Status of a removed monitor: %v, want ErrNotFound", err)
		}
		if err := e.Remove(id); err != cpra.ErrClosed {
			t.Errorf("Remove after Shutdown = %v, want ErrClosed", err)
		}
		if s := e.Stats(); s.Monitors != 0 {
			t.Errorf("Stats().Monitors = %d, want 0", s.Monitors)
		}
	})
}

func TestAddAndRemoveWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		e.Start(context.Background())
		var ids []cpra.ID
		var wg sync.WaitGroup
		var mu sync.Mutex
		for g := range 4 {
			wg.Go(func() {
				for i := range 50 {
					id, err := e.Add(cpra.Monitor{Name: fmt.Sprintf("g%d-%d", g, i), Interval: time.Second, Check: pulse.CheckerFunc(pass)})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					ids = append(ids, id)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if _, err := e.Add(cpra.Monitor{Name: "g0-0", Check: pulse.CheckerFunc(pass)}); !errors.Is(err, cpra.ErrDuplicateName) {
			t.Errorf("duplicate while running: %v, want ErrDuplicateName", err)
		}
		time.Sleep(2 * time.Second)
		for _, id := range ids[:100] {
			if err := e.Remove(id); err != nil {
				t.Fatal(err)
			}
		}
		if s := e.Stats(); s.Monitors != 100 || s.ChecksRun < 200 || s.Up != 100 || s.Down != 0 {
			t.Errorf("stats = %+v, want 100 monitors left, all up, and at least 200 checks run", s)
		}
		for _, id := range ids[100:] {
			if st, err := e.Status(id); err != nil || st.State != cpra.StateUp {
				t.Fatalf("Status = %+v, %v; want up", st, err)
			}
		}
		shutdown(t, e)
	})
}

func TestAddValidation(t *testing.T) {
	ok := pulse.CheckerFunc(pass)
	tests := []struct {
		name  string
		m     cpra.Monitor
		field string
		text  string
	}{
		{"empty name", cpra.Monitor{Check: ok}, "Name", "empty"},
		{"nil check", cpra.Monitor{Name: "a"}, "Check", "nil"},
		{"negative interval", cpra.Monitor{Name: "a", Check: ok, Interval: -time.Second}, "Interval", "negative"},
		{"interval too short", cpra.Monitor{Name: "a", Check: ok, Interval: time.Millisecond}, "Interval", "below the minimum"},
		{"interval too long", cpra.Monitor{Name: "a", Check: ok, Interval: 40 * 24 * time.Hour}, "Interval", "above the maximum"},
		{"negative timeout", cpra.Monitor{Name: "a", Check: ok, Timeout: -1}, "Timeout", "negative"},
		{"negative failure threshold", cpra.Monitor{Name: "a", Check: ok, FailureThreshold: -2}, "FailureThreshold", "negative"},
		{"huge success threshold", cpra.Monitor{Name: "a", Check: ok, SuccessThreshold: 1 << 20}, "SuccessThreshold", "above the maximum"},
		{"negative remediations", cpra.Monitor{Name: "a", Check: ok, MaxRemediations: -1}, "MaxRemediations", "negative"},
		{"duplicate", cpra.Monitor{Name: "taken", Check: ok}, "Name", "already in use"},
	}
	e, _ := cpra.New()
	if _, err := e.Add(cpra.Monitor{Name: "taken", Check: ok}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Add(tc.m)
			var me *cpra.MonitorError
			if !errors.As(err, &me) || !errors.Is(err, cpra.ErrInvalidMonitor) {
				t.Fatalf("got %v, want a MonitorError", err)
			}
			if me.Field != tc.field || me.Monitor != tc.m.Name || !strings.Contains(err.Error(), tc.text) ||
				!strings.Contains(err.Error(), tc.field) {
				t.Errorf("got %q (field %s), want field %s and %q", err, me.Field, tc.field, tc.text)
			}
		})
	}
	// The engine still takes good monitors, with defaults filled in.
	id, err := e.Add(cpra.Monitor{Name: "fine", Check: ok})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := e.Status(id)
	if st.Interval != cpra.DefaultInterval || st.Timeout != cpra.DefaultTimeout {
		t.Errorf("defaults: interval %v timeout %v, want %v %v", st.Interval, st.Timeout, cpra.DefaultInterval, cpra.DefaultTimeout)
	}
	id, _ = e.Add(cpra.Monitor{Name: "fast", Check: ok, Interval: 50 * time.Millisecond})
	if st, _ := e.Status(id); st.Timeout != 50*time.Millisecond {
		t.Errorf("default timeout of a 50ms monitor = %v, want the interval", st.Timeout)
	}
	if s := e.Stats(); s.Monitors != 3 {
		t.Errorf("Monitors = %d, want 3", s.Monitors)
	}
	shutdown(t, e)
}

func TestOptionValidation(t *testing.T) {
	for _, o := range []cpra.Option{
		cpra.WithWorkers(0, 4), cpra.WithWorkers(5, 4), cpra.WithQueueCapacity(0), cpra.WithLogger(nil),
		cpra.WithShutdownTimeout(0), cpra.WithNotifyTimeout(-1), cpra.WithNotifyMaxElapsed(0), cpra.WithNotifyRetries(-1, time.Second), cpra.WithCapacity(-1),
	} {
		if _, err := cpra.New(o); !errors.Is(err, cpra.ErrInvalidOption) {
			t.Errorf("New(%#v) error = %v, want ErrInvalidOption", o, err)
		}
	}
}

func TestLifecycle(t *testing.T) {
	before := runtime.NumGoroutine()
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	e.Add(cpra.Monitor{Name: "a", Check: pulse.CheckerFunc(pass)})
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("New and Add started %d goroutines, want none", n-before)
	}
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); !errors.Is(err, cpra.ErrRunning) {
		t.Errorf("second Start = %v, want ErrRunning", err)
	}
	shutdown(t, e)
	if err := e.Shutdown(ctx); !errors.Is(err, cpra.ErrClosed) {
		t.Errorf("second Shutdown = %v, want ErrClosed", err)
	}
	if err := e.Start(ctx); !errors.Is(err, cpra.ErrClosed) {
		t.Errorf("Start after Shutdown = %v, want ErrClosed", err)
	}
	if _, err := e.Add(cpra.Monitor{Name: "b", Check: pulse.CheckerFunc(pass)}); !errors.Is(err, cpra.ErrClosed) {
		t.Errorf("Add after Shutdown = %v, want ErrClosed", err)
	}

	never, _ := cpra.New()
	if err := never.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown of an engine never started = %v, want nil", err)
	}

	run, _ := cpra.New()
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- run.Run(cctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
}

func TestShutdownDeliversQueuedAlerts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var got []string
		slow := alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error {
			time.Sleep(time.Second)
			mu.Lock()
			got = append(got, a.Monitor+":"+a.Code.String())
			mu.Unlock()
			return nil
		})
		e, _ := cpra.New(cpra.WithNotifier(slow), cpra.WithWorkers(1, 1))
		for i := range 5 {
			e.Add(cpra.Monitor{Name: fmt.Sprintf("m%d", i), Interval: time.Second, FailureThreshold: 1, Check: pulse.CheckerFunc(failing)})
		}
		e.Start(context.Background())
		time.Sleep(1100 * time.Millisecond) // every monitor failed once; alerts are queued
		shutdown(t, e)
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 5 {
			t.Fatalf("delivered %v, want the 5 queued reds", got)
		}
	})
}

func TestShutdownDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		e, _ := cpra.New()
		e.Add(cpra.Monitor{Name: "slow-fix", Interval: time.Second, Timeout: time.Hour, FailureThreshold: 1,
			Check:     pulse.CheckerFunc(failing),
			Remediate: intervene.RemediatorFunc(func(context.Context, intervene.Incident) error { <-release; return nil })})
		e.Start(context.Background())
		time.Sleep(2 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		if err := e.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want the context's deadline error", err)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("Shutdown took %v with a 3s deadline", d)
		}
		close(release)
	})
}

func TestQueueFullDelaysButDropsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One worker, room for one waiting check, and checks that take
		// almost all of the worker's time: checks bunch up and wait.
		e, _ := cpra.New(cpra.WithWorkers(1, 1), cpra.WithQueueCapacity(1))
		var counters []*counter
		for i := range 20 {
			c := &counter{}
			counters = append(counters, c)
			e.Add(cpra.Monitor{Name: fmt.Sprintf("q%d", i), Interval: 5 * time.Second, Check: pulse.CheckerFunc(func(ctx context.Context) error {
				time.Sleep(240 * time.Millisecond)
				return c.Check(ctx)
			})})
		}
		e.Start(context.Background())
		time.Sleep(20 * time.Second)
		s := e.Stats()
		shutdown(t, e)
		for i, c := range counters {
			if n := c.n.Load(); n < 3 || n > 5 {
				t.Errorf("monitor %d ran %d times in four intervals, want 3 to 5", i, n)
			}
		}
		if s.QueueFull == 0 || s.ChecksSkipped != 0 {
			t.Errorf("QueueFull = %d, ChecksSkipped = %d; want delays and no skipped check", s.QueueFull, s.ChecksSkipped)
		}
		if s.Lag.Max < 240*time.Millisecond {
			t.Errorf("lag max %v, want the wait behind a busy worker to show", s.Lag.Max)
		}
	})
}

func TestPhaseIsDeterministicAndSpread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		const n = 2000
		var mu sync.Mutex
		first := map[string]time.Time{}
		for i := range n {
			name := fmt.Sprintf("svc-%d", i)
			e.Add(cpra.Monitor{Name: name, Interval: 10 * time.Second, Check: pulse.CheckerFunc(func(context.Context) error {
				mu.Lock()
				if _, ok := first[name]; !ok {
					first[name] = time.Now()
				}
				mu.Unlock()
				return nil
			})})
		}
		e.Start(context.Background())
		time.Sleep(11 * time.Second)
		shutdown(t, e)
		var buckets [10]int
		for name, at := range first {
			phase := int64(ecs.HashName(name) % 10000)
			if got := at.UnixMilli() % 10000; got != phase {
				t.Fatalf("%s first checked at phase %dms, want %dms", name, got, phase)
			}
			buckets[at.UnixMilli()%10000/1000]++
		}
		if len(first) != n {
			t.Fatalf("%d monitors checked, want %d", len(first), n)
		}
		for i, b := range buckets {
			if b < n/10/2 || b > n/10*2 {
				t.Errorf("second %d of the interval holds %d first checks, want about %d", i, b, n/10)
			}
		}
	})
}

func TestStatsLag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		for i := range 100 {
			e.Add(cpra.Monitor{Name: fmt.Sprint(i), Interval: 100 * time.Millisecond, Check: pulse.CheckerFunc(pass)})
		}
		e.Start(context.Background())
		time.Sleep(3 * time.Second)
		synctest.Wait()
		s := e.Stats()
		shutdown(t, e)
		if s.Lag.Samples < 2000 || s.Lag.Max > 5*time.Millisecond {
			t.Errorf("lag = %+v, want thousands of samples, all within a few ms under fake time", s.Lag)
		}
		if s.Pulse.Workers < 1 {
			t.Errorf("pulse workers = %d, want at least 1", s.Pulse.Workers)
		}
	})
}

// TestResponsiveUnderFullLoad saturates the engine (more checks due than
// two cores can run) and checks that Status, Add and Shutdown are still
// served, not starved by the backlog. The bounds are generous, to hold on a
// busy machine; how promptly is measured by the benchmarks.
func TestResponsiveUnderFullLoad(t *testing.T) {
	e, _ := cpra.New()
	var ids []cpra.ID
	for i := range 20000 {
		id, _ := e.Add(cpra.Monitor{Name: fmt.Sprint("hot-", i), Interval: 10 * time.Millisecond, Check: pulse.CheckerFunc(pass)})
		ids = append(ids, id)
	}
	e.Start(context.Background())
	time.Sleep(300 * time.Millisecond)
	for i := range 20 {
		start := time.Now()
		if _, err := e.Status(ids[i*997]); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Add(cpra.Monitor{Name: fmt.Sprint("late-", i), Check: pulse.CheckerFunc(pass)}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Fatalf("Status and Add took %v under full load", d)
		}
	}
	if e.Stats().ChecksRun == 0 {
		t.Fatal("no checks ran")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown under full load: %v after %v", err, time.Since(start))
	}
}

// A fleet that demands more checks than its workers can run keeps the work
// it has not started as due times, not as queued checks, and Stats say how
// far behind it is.
func TestFallingBehindQueuesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, capacity = 3000, 16
		e, _ := cpra.New(cpra.WithWorkers(1, 1), cpra.WithQueueCapacity(capacity))
		slow := pulse.CheckerFunc(func(ctx context.Context) error {
			time.Sleep(10 * time.Millisecond) // one worker: 100 checks/s against 3000/s demanded
			return nil
		})
		for i := range n {
			if _, err := e.Add(cpra.Monitor{Name: fmt.Sprintf("late%d", i), Interval: time.Second, Check: slow}); err != nil {
				t.Fatal(err)
			}
		}
		e.Start(context.Background())
		var maxQueued int
		for range 20 {
			time.Sleep(250 * time.Millisecond)
			maxQueued = max(maxQueued, e.Stats().Pulse.Queued)
		}
		s := e.Stats()
		shutdown(t, e)
		// At most the queue's capacity, as many parked beside it and a
		// round of the scheduler (a batch or two) wait as jobs; the rest
		// wait in the schedule.
		if maxQueued > 2*capacity+2*256 {
			t.Errorf("up to %d checks queued with a queue of %d, want the rest left in the schedule", maxQueued, capacity)
		}
		if s.ChecksLate < n/2 || s.ChecksLate > n {
			t.Errorf("ChecksLate = %d after 5s of 100 checks/s against %d/s, want %d to %d", s.ChecksLate, n, n/2, n)
		}
		if s.LateOldest < 2*time.Second || s.LateOldest > 5*time.Second {
			t.Errorf("LateOldest = %v after 5s at 1/30 of the demand, want 2s to 5s", s.LateOldest)
		}
		if s.QueueFull == 0 {
			t.Error("QueueFull = 0, want the waits for room counted")
		}
	})
}

// Once the workers catch up, nothing is late any more.
func TestLateClearsWhenCaughtUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var slow atomic.Bool
		slow.Store(true)
		e, _ := cpra.New(cpra.WithWorkers(1, 1), cpra.WithQueueCapacity(4))
		for i := range 200 {
			e.Add(cpra.Monitor{Name: fmt.Sprintf("c%d", i), Interval: 10 * time.Second, Check: pulse.CheckerFunc(func(ctx context.Context) error {
				if slow.Load() {
					time.Sleep(100 * time.Millisecond)
				}
				return nil
			})})
		}
		e.Start(context.Background())
		time.Sleep(5 * time.Second)
		if s := e.Stats(); s.ChecksLate == 0 || s.LateOldest == 0 {
			t.Errorf("while behind: ChecksLate = %d, LateOldest = %v; want both above 0", s.ChecksLate, s.LateOldest)
		}
		slow.Store(false)
		time.Sleep(30 * time.Second)
		if s := e.Stats(); s.ChecksLate != 0 || s.LateOldest != 0 {
			t.Errorf("caught up: ChecksLate = %d, LateOldest = %v; want 0 and 0", s.ChecksLate, s.LateOldest)
		}
		shutdown(t, e)
	})
}

// namedErr is a check of a value type: it fails with its own message.
type namedErr struct{ msg string }

func (c namedErr) Check(context.Context) error { return errors.New(c.msg) }

// Monitors with the same settings but checks of different types each run
// their own check, also when the monitors of one type are all removed and
// others take their place.
func TestChecksOfDifferentTypesWithTheSameRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		counters := make([]*counter, 20)
		var first []cpra.ID
		for i := range counters {
			counters[i] = &counter{}
			id, err := e.Add(cpra.Monitor{Name: fmt.Sprintf("count-%d", i), Interval: time.Second, Check: counters[i]})
			if err != nil {
				t.Fatal(err)
			}
			first = append(first, id)
			if _, err := e.Add(cpra.Monitor{Name: fmt.Sprintf("func-%d", i), Interval: time.Second, Check: pulse.CheckerFunc(failing)}); err != nil {
				t.Fatal(err)
			}
		}
		e.Start(context.Background())
		time.Sleep(3 * time.Second)
		for _, id := range first {
			if err := e.Remove(id); err != nil {
				t.Fatal(err)
			}
		}
		var named []cpra.ID
		for i := range 20 {
			id, err := e.Add(cpra.Monitor{Name: fmt.Sprintf("named-%d", i), Interval: time.Second, Check: namedErr{fmt.Sprintf("named %d failed", i)}})
			if err != nil {
				t.Fatal(err)
			}
			named = append(named, id)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		for i, c := range counters {
			if n := c.n.Load(); n < 2 || n > 4 {
				t.Errorf("count-%d checked %d times in its 3 s, want 2 to 4", i, n)
			}
		}
		for i, id := range named {
			st, err := e.Status(id)
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("named %d failed", i); st.LastError == nil || !strings.Contains(st.LastError.Error(), want) {
				t.Errorf("named-%d: last error %v, want %q", i, st.LastError, want)
			}
		}
		for i := range 20 {
			id, ok := e.Lookup(fmt.Sprintf("func-%d", i))
			if !ok {
				t.Fatalf("func-%d is gone", i)
			}
			if st, _ := e.Status(id); st.LastError == nil || !strings.Contains(st.LastError.Error(), "connection refused") {
				t.Errorf("func-%d: last error %v, want connection refused", i, st.LastError)
			}
		}
		shutdown(t, e)
	})
}
