package cpra_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/pulse"
)

// deadLetters collects what the WithUndelivered hook receives.
type deadLetters struct {
	mu   sync.Mutex
	got  []alert.Alert
	errs []error
}

func (d *deadLetters) hook(a alert.Alert, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, a)
	d.errs = append(d.errs, err)
}

func (d *deadLetters) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.got)
}

func TestNonRetryableErrorIsNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tries atomic.Int64
		rejected := &alert.DeliveryError{Notifier: "webhook", Status: 400, Retryable: false}
		n := alert.NotifierFunc(func(context.Context, alert.Alert) error { tries.Add(1); return rejected })
		dl := &deadLetters{}
		e, _ := cpra.New(cpra.WithNotifier(n), cpra.WithUndelivered(dl.hook))
		e.Add(cpra.Monitor{Name: "x", Interval: time.Minute, FailureThreshold: 1, Check: pulse.CheckerFunc(failing)})
		e.Start(context.Background())
		time.Sleep(time.Minute)
		shutdown(t, e)
		if tries.Load() != 1 {
			t.Errorf("a 400 was tried %d times, want 1", tries.Load())
		}
		if dl.len() != 1 || dl.got[0].Code != alert.Red || !errors.Is(dl.errs[0], rejected) {
			t.Errorf("dead letters %+v %v, want the red with its error", dl.got, dl.errs)
		}
		if s := e.Stats(); s.AlertsFailed != 1 || s.AlertsSent != 0 {
			t.Errorf("failed %d sent %d, want 1 and 0", s.AlertsFailed, s.AlertsSent)
		}
	})
}

func TestRetryAfterIsHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Time
		n := alert.NotifierFunc(func(context.Context, alert.Alert) error {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Now())
			if len(at) == 1 {
				return &alert.DeliveryError{Notifier: "pagerduty", Status: 429, Retryable: true, RetryAfter: 7 * time.Second}
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
		if len(at) != 2 || at[1].Sub(at[0]) != 7*time.Second {
			t.Fatalf("tries at %v, want two, 7s apart as the receiver asked", at)
		}
	})
}

func TestUndeliveredHookPanicIsContained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New(
			cpra.WithNotifier(alert.NotifierFunc(func(context.Context, alert.Alert) error { return errors.New("down") })),
			cpra.WithNotifyRetries(0, time.Second),
			cpra.WithUndelivered(func(alert.Alert, error) { panic("hook bug") }))
		e.Add(cpra.Monitor{Name: "x", Interval: time.Second, FailureThreshold: 1, Check: &script{out: "FPPF"}})
		e.Start(context.Background())
		time.Sleep(10 * time.Second)
		shutdown(t, e)
		if s := e.Stats(); s.AlertsFailed < 3 {
			t.Errorf("AlertsFailed = %d, want every alert counted despite the panicking hook", s.AlertsFailed)
		}
	})
}

// TestAlertStormWithFlakyReceiver sends one red for each of many monitors
// to a real webhook receiver that fails half of its requests at random.
// Every alert must end up delivered exactly once or dead-lettered: none
// lost, none delivered twice.
func TestAlertStormWithFlakyReceiver(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 2000
	}
	var mu sync.Mutex
	delivered := map[string]int{} // payload id -> 2xx answers
	monitors := map[string]bool{}
	rng := rand.New(rand.NewPCG(11, 12))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p alert.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if rng.IntN(2) == 0 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		delivered[p.ID]++
		monitors[p.Monitor] = true
	}))
	defer srv.Close()
	hook, err := alert.Webhook(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	dl := &deadLetters{}
	e, _ := cpra.New(cpra.WithNotifier(hook), cpra.WithUndelivered(dl.hook),
		cpra.WithNotifyRetries(4, time.Millisecond), cpra.WithCapacity(n))
	for i := range n {
		e.Add(cpra.Monitor{Name: fmt.Sprintf("storm-%05d", i), Interval: time.Second, FailureThreshold: 1,
			Check: pulse.CheckerFunc(failing)})
	}
	e.Start(context.Background())
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s := e.Stats()
		if int(s.AlertsSent+s.AlertsFailed) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 minutes: %d sent, %d failed of %d", s.AlertsSent, s.AlertsFailed, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	pulse.CloseIdleConnections()
	s := e.Stats()
	mu.Lock()
	defer mu.Unlock()
	for id, c := range delivered {
		if c != 1 {
			t.Fatalf("alert %s delivered %d times", id, c)
		}
	}
	if len(delivered) != int(s.AlertsSent) || len(delivered)+dl.len() != n {
		t.Fatalf("receiver has %d, engine says %d sent, %d dead-lettered; want %d in all", len(delivered), s.AlertsSent, dl.len(), n)
	}
	for _, a := range dl.got {
		if monitors[a.Monitor] {
			t.Fatalf("%s was both delivered and dead-lettered", a.Monitor)
		}
	}
	t.Logf("%d alerts: %d delivered, %d dead-lettered after 5 tries", n, len(delivered), dl.len())
}

// TestNoSecretInLogs runs a PagerDuty notifier against a receiver that
// fails and echoes the request, and checks the engine's log and the
// dead-lettered errors never show the routing key.
func TestNoSecretInLogs(t *testing.T) {
	const key = "R0UT1NG-KEY-sekrit-4242"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(body) // echo, key included
	}))
	defer srv.Close()
	pd, err := alert.PagerDuty(key, alert.WithEndpoint(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dl := &deadLetters{}
	e, _ := cpra.New(cpra.WithNotifier(pd), cpra.WithLogger(logger), cpra.WithUndelivered(dl.hook),
		cpra.WithNotifyRetries(1, time.Millisecond))
	e.Add(cpra.Monitor{Name: "db", Interval: 20 * time.Millisecond, FailureThreshold: 1, Check: pulse.CheckerFunc(failing)})
	e.Start(context.Background())
	for dl.len() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	shutdown(t, e)
	pulse.CloseIdleConnections()
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	if !strings.Contains(out, "alert not delivered") {
		t.Fatalf("log has no delivery failure; the test did not exercise the path:\n%s", out)
	}
	if strings.Contains(out, key) {
		t.Fatalf("routing key in the engine's log:\n%s", out)
	}
	for _, err := range dl.errs {
		if strings.Contains(fmt.Sprintf("%v %+v", err, err), key) {
			t.Fatalf("routing key in a dead-lettered error: %v", err)
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestNotifiersDeliverOnceAfterErrors puts each HTTP notifier in front of a
// receiver that answers 429, then 500, then success: the engine delivers the
// alert exactly once.
func TestNotifiersDeliverOnceAfterErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   int
		make func(url string) (alert.Notifier, error)
	}{
		{"webhook", 200, func(u string) (alert.Notifier, error) { return alert.Webhook(u) }},
		{"slack", 200, func(u string) (alert.Notifier, error) { return alert.Slack(u) }},
		{"pagerduty", 202, func(u string) (alert.Notifier, error) { return alert.PagerDuty("key", alert.WithEndpoint(u)) }},
		{"sms", 201, func(u string) (alert.Notifier, error) {
			return alert.SMS("AC123", "token", "+15550001", []string{"+15550002"}, alert.WithEndpoint(u))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls, successes atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				switch calls.Add(1) {
				case 1:
					w.Header().Set("Retry-After", "0")
					http.Error(w, "slow down", http.StatusTooManyRequests)
				case 2:
					http.Error(w, "oops", http.StatusInternalServerError)
				default:
					successes.Add(1)
					w.WriteHeader(tc.ok)
					io.WriteString(w, `{"status":"success","sid":"SM1"}`)
				}
			}))
			defer srv.Close()
			n, err := tc.make(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			e, _ := cpra.New(cpra.WithNotifier(n), cpra.WithNotifyRetries(3, time.Millisecond))
			e.Add(cpra.Monitor{Name: "api", Interval: 50 * time.Millisecond, FailureThreshold: 1, Check: pulse.CheckerFunc(failing)})
			e.Start(context.Background())
			for e.Stats().AlertsSent+e.Stats().AlertsFailed == 0 {
				time.Sleep(5 * time.Millisecond)
			}
			shutdown(t, e)
			pulse.CloseIdleConnections()
			if s := e.Stats(); s.AlertsSent != 1 || calls.Load() != 3 || successes.Load() != 1 {
				t.Errorf("sent %d failed %d after %d requests (%d successes); want one delivery on the third request",
					s.AlertsSent, s.AlertsFailed, calls.Load(), successes.Load())
			}
		})
	}
}

// TestGreenDeliveredDuringShutdown: the red was delivered; the check that
// closes the episode is running when Shutdown starts; its green is still
// delivered before Shutdown returns.
func TestGreenDeliveredDuringShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var n atomic.Int64
		check := pulse.CheckerFunc(func(ctx context.Context) error {
			if n.Add(1) == 1 {
				return errors.New("down")
			}
			time.Sleep(500 * time.Millisecond) // the recovering check is slow
			return nil
		})
		e, _ := cpra.New(cpra.WithNotifier(rec))
		e.Add(cpra.Monitor{Name: "db", Interval: time.Second, Timeout: 900 * time.Millisecond,
			FailureThreshold: 1, SuccessThreshold: 1, Check: check})
		e.Start(context.Background())
		for n.Load() < 2 { // wait until the second check is running
			time.Sleep(10 * time.Millisecond)
		}
		shutdown(t, e)
		if got := rec.codes("db"); got != "red green" {
			t.Errorf("alerts = %q, want the green raised during shutdown delivered too", got)
		}
	})
}

// TestRouteCodesWithoutNotifierAreNotCounted: codes a Route has no entry
// for are not delivered, so they are not counted as sent.
func TestRouteCodesWithoutNotifierAreNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New()
		e.Add(cpra.Monitor{Name: "api", Interval: time.Second, Check: &script{out: "FFFPPP"},
			Notify: alert.Route{alert.Red: rec}})
		e.Start(context.Background())
		time.Sleep(8 * time.Second)
		shutdown(t, e)
		if got := rec.codes(""); got != "red" {
			t.Errorf("routed alerts = %q, want only the red", got)
		}
		if s := e.Stats(); s.AlertsSent != 1 {
			t.Errorf("AlertsSent = %d, want 1 (yellow and green have no route)", s.AlertsSent)
		}
	})
}

func TestNotifyMaxElapsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tries atomic.Int64
		dl := &deadLetters{}
		e, _ := cpra.New(
			cpra.WithNotifier(alert.NotifierFunc(func(context.Context, alert.Alert) error { tries.Add(1); return errors.New("503") })),
			cpra.WithNotifyRetries(100, time.Second), cpra.WithNotifyMaxElapsed(10*time.Second), cpra.WithUndelivered(dl.hook))
		e.Add(cpra.Monitor{Name: "x", Interval: time.Hour, FailureThreshold: 1, Check: pulse.CheckerFunc(failing)})
		e.Start(context.Background())
		time.Sleep(2 * time.Hour)
		shutdown(t, e)
		// Waits of 1s, 2s, 4s (plus jitter) fit in 10s; the 8s one does not.
		if n := tries.Load(); n != 4 || dl.len() != 1 {
			t.Errorf("%d tries and %d dead letters, want 4 tries within 10s, then the dead letter", n, dl.len())
		}
	})
}
