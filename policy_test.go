package cpra_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

// attempts records when a remediator was called.
type attempts struct {
	mu  sync.Mutex
	at  []time.Time
	err error
}

func (a *attempts) Remediate(context.Context, intervene.Incident) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at = append(a.at, time.Now())
	return a.err
}

func (a *attempts) gaps() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var g []time.Duration
	for i := 1; i < len(a.at); i++ {
		g = append(g, a.at[i].Sub(a.at[i-1]).Round(time.Second))
	}
	return g
}

func TestPolicyBackoffSpacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := &attempts{err: errors.New("restart failed")}
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		e.Add(cpra.Monitor{Name: "api", Interval: time.Second, FailureThreshold: 1, Check: pulse.CheckerFunc(failing),
			Remediate: fx, Policy: intervene.Policy{MaxAttempts: 4, Backoff: 2 * time.Second, MaxBackoff: 6 * time.Second}})
		e.Start(context.Background())
		time.Sleep(time.Minute)
		shutdown(t, e)
		// Waits of 2s, 4s, then 6s (capped); a failing check every second
		// starts the attempt once the wait has passed.
		if got, want := fmt.Sprint(fx.gaps()), "[2s 4s 6s]"; got != want {
			t.Errorf("gaps between attempts %s, want %s", got, want)
		}
		if got := rec.codes(""); got != "red" {
			t.Errorf("alerts %q, want one red once the 4 attempts were spent", got)
		}
	})
}

func TestPolicyJitterSpreadsAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		var fixes []*attempts
		for i := range 50 {
			fx := &attempts{err: errors.New("no")}
			fixes = append(fixes, fx)
			e.Add(cpra.Monitor{Name: fmt.Sprint("j", i), Interval: time.Second, FailureThreshold: 1, Check: pulse.CheckerFunc(failing),
				Remediate: fx, Policy: intervene.Policy{MaxAttempts: 2, Backoff: 10 * time.Second, Jitter: 1}})
		}
		e.Start(context.Background())
		time.Sleep(time.Minute)
		shutdown(t, e)
		seen := map[time.Duration]bool{}
		for _, fx := range fixes {
			g := fx.gaps()
			if len(g) != 1 || g[0] < 10*time.Second || g[0] > 21*time.Second {
				t.Fatalf("gap %v, want one between 10s and 20s (+1 interval)", g)
			}
			seen[g[0]] = true
		}
		if len(seen) < 5 {
			t.Errorf("only %d distinct gaps over 50 monitors: jitter does not spread them", len(seen))
		}
	})
}

func TestPolicyVerifyCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		// Down at the first check, repaired, then: pass, pass, fail. With
		// Verify 3 the fail is a failed verification: a second attempt.
		fx := &attempts{}
		e.Add(cpra.Monitor{Name: "api", Interval: time.Second, FailureThreshold: 1, SuccessThreshold: 1,
			Check: &script{out: "FPPFFPPPPP"}, Remediate: fx, Policy: intervene.Policy{MaxAttempts: 3, Verify: 3}})
		e.Start(context.Background())
		time.Sleep(20 * time.Second)
		shutdown(t, e)
		if got, want := rec.codes(""), "cyan cyan green"; got != want {
			t.Errorf("alerts %q, want %q (green only after 3 passing checks)", got, want)
		}
	})
}

func TestPolicyCooldown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := &attempts{}
		e, _ := cpra.New()
		// Two short outages 4s apart; the cooldown of 30s keeps the second
		// from being repaired until 30s after the first repair.
		e.Add(cpra.Monitor{Name: "api", Interval: time.Second, FailureThreshold: 1, SuccessThreshold: 1,
			Check: &script{out: "FPFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFPPP"}, Remediate: fx,
			Policy: intervene.Policy{Cooldown: 30 * time.Second}})
		e.Start(context.Background())
		time.Sleep(time.Minute)
		shutdown(t, e)
		if g := fx.gaps(); len(g) != 1 || g[0] < 30*time.Second || g[0] > 31*time.Second {
			t.Errorf("gaps between attempts %v, want one of 30s", g)
		}
	})
}

func TestPolicyLimitRedWithReasonThenResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		fx := &attempts{} // every repair "works", but the target stays down
		e, _ := cpra.New(cpra.WithNotifier(rec))
		id, _ := e.Add(cpra.Monitor{Name: "api", Interval: time.Second, FailureThreshold: 1, Check: pulse.CheckerFunc(failing),
			Remediate: fx, Policy: intervene.Policy{MaxAttempts: 10, Limit: 2, Window: time.Minute}})
		e.Start(context.Background())
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if got := rec.codes(""); got != "cyan cyan red" {
			t.Fatalf("alerts %q, want two cyans, then red at the limit", got)
		}
		rec.mu.Lock()
		reason := rec.alerts[2].Err
		rec.mu.Unlock()
		if reason == nil || !strings.Contains(reason.Error(), "remediation limit: 2 in 1m0s") {
			t.Errorf("red's error = %v, want the limit as reason", reason)
		}
		fx.mu.Lock()
		before := len(fx.at)
		fx.mu.Unlock()
		time.Sleep(2 * time.Minute)
		st, _ := e.Status(id)
		shutdown(t, e)
		fx.mu.Lock()
		after := len(fx.at)
		fx.mu.Unlock()
		if before != 2 || after <= 2 || after > 2+2*2 {
			t.Errorf("attempts %d within the first window and %d after two more minutes, want 2 then resumed at 2 per minute", before, after)
		}
		if got := rec.codes(""); got != "cyan cyan red" {
			t.Errorf("alerts %q after resuming, want no cyan after the red", got)
		}
		if st.LastRemediation.IsZero() || e.Stats().RemediationsDenied == 0 {
			t.Errorf("status %+v, stats %+v: want the last attempt and denied attempts shown", st, e.Stats())
		}
	})
}

func TestFleetBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10000
		var calls atomic.Int64
		fix := intervene.RemediatorFunc(func(context.Context, intervene.Incident) error { calls.Add(1); return errors.New("still broken") })
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec), cpra.WithRemediationBudget(0, 0.01, 10*time.Minute))
		for i := range n {
			e.Add(cpra.Monitor{Name: fmt.Sprintf("f%05d", i), Interval: time.Second, FailureThreshold: 1,
				Check: pulse.CheckerFunc(failing), Remediate: fix, Policy: intervene.Policy{MaxAttempts: 1}})
		}
		e.Start(context.Background())
		time.Sleep(10 * time.Second) // every monitor has failed (and been denied) several times
		shutdown(t, e)
		if c := calls.Load(); c != n/100 {
			t.Errorf("%d remediations ran, want %d (1%% of %d)", c, n/100, n)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		reds, budget := 0, 0
		for _, a := range rec.alerts {
			if a.Code == alert.Red {
				reds++
				if errors.Is(a.Err, cpra.ErrBudget) {
					budget++
				}
			}
		}
		if reds != n || budget != n-n/100 {
			t.Errorf("%d reds, %d of them for the budget; want %d and %d", reds, budget, n, n-n/100)
		}
		if d := e.Stats().RemediationsDenied; d < n-n/100 {
			t.Errorf("RemediationsDenied = %d, want at least %d", d, n-n/100)
		}
	})
}

func TestFleetBudgetConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var running, peak atomic.Int64
		fix := intervene.RemediatorFunc(func(context.Context, intervene.Incident) error {
			r := running.Add(1)
			for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
			}
			time.Sleep(3 * time.Second)
			running.Add(-1)
			return nil
		})
		e, _ := cpra.New(cpra.WithRemediationBudget(3, 0, 0))
		for i := range 30 {
			e.Add(cpra.Monitor{Name: fmt.Sprint("c", i), Interval: time.Second, Timeout: 5 * time.Second, FailureThreshold: 1,
				Check: pulse.CheckerFunc(failing), Remediate: fix, Policy: intervene.Policy{MaxAttempts: 5}})
		}
		e.Start(context.Background())
		time.Sleep(time.Minute)
		shutdown(t, e)
		if p := peak.Load(); p != 3 {
			t.Errorf("peak of %d remediations at once, want the budget's 3", p)
		}
	})
}

func TestDryRunRunsNothing(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	fix, err := intervene.Exec("/bin/sh", []string{"-c", "touch " + marker})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		opts   []cpra.Option
		policy intervene.Policy
	}{
		{"engine", []cpra.Option{cpra.WithDryRun(true)}, intervene.Policy{}},
		{"policy", nil, intervene.Policy{DryRun: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			e, _ := cpra.New(append(tc.opts, cpra.WithNotifier(rec))...)
			e.Add(cpra.Monitor{Name: "api", Interval: 20 * time.Millisecond, FailureThreshold: 1,
				Check: pulse.CheckerFunc(failing), Remediate: fix, Policy: tc.policy})
			e.Start(context.Background())
			for e.Stats().RemediationsDryRun == 0 {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond)
			shutdown(t, e)
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the remediation program ran in dry run")
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.alerts) != 1 || rec.alerts[0].Code != alert.Red || !errors.Is(rec.alerts[0].Err, cpra.ErrDryRun) {
				t.Fatalf("alerts %+v, want one red saying the dry run did not run the remediation", rec.alerts)
			}
			if s := e.Stats(); s.Remediations != 0 {
				t.Errorf("Remediations = %d in dry run, want 0", s.Remediations)
			}
		})
	}
}

func TestPolicyValidation(t *testing.T) {
	e, _ := cpra.New()
	for _, tc := range []struct {
		p     intervene.Policy
		field string
	}{
		{intervene.Policy{MaxAttempts: -1}, "Policy.MaxAttempts"},
		{intervene.Policy{Jitter: 2}, "Policy.Jitter"},
		{intervene.Policy{Limit: 3}, "Policy.Window"},
		{intervene.Policy{Cooldown: -time.Second}, "Policy.Cooldown"},
	} {
		_, err := e.Add(cpra.Monitor{Name: "p", Check: pulse.CheckerFunc(pass), Policy: tc.p})
		var me *cpra.MonitorError
		if !errors.As(err, &me) || me.Field != tc.field {
			t.Errorf("policy %+v: error %v, want one naming %s", tc.p, err, tc.field)
		}
	}
	if _, err := cpra.New(cpra.WithRemediationBudget(-1, 0, 0)); !errors.Is(err, cpra.ErrInvalidOption) {
		t.Errorf("negative budget accepted: %v", err)
	}
}

// One team's outage uses its own share of remediations, not the fleet's:
// 200 of team a and 20 of team b fail, with 10% per team.
func TestGroupBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		ran := map[string]int{}
		fix := intervene.RemediatorFunc(func(_ context.Context, inc intervene.Incident) error {
			mu.Lock()
			ran[inc.Labels["team"]]++
			mu.Unlock()
			return errors.New("still broken")
		})
		rec := &recorder{}
		e, err := cpra.New(cpra.WithNotifier(rec), cpra.WithGroupRemediationBudget("team", 0.1, 10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		add := func(name, team string) {
			e.Add(cpra.Monitor{Name: name, Interval: time.Second, FailureThreshold: 1, Labels: map[string]string{"team": team},
				Check: pulse.CheckerFunc(failing), Remediate: fix, Policy: intervene.Policy{MaxAttempts: 1}})
		}
		for i := range 200 {
			add(fmt.Sprint("a", i), "a")
		}
		for i := range 20 {
			add(fmt.Sprint("b", i), "b")
		}
		gone, _ := e.Add(cpra.Monitor{Name: "gone", Check: pulse.CheckerFunc(failing), Labels: map[string]string{"team": "b"}})
		e.Remove(gone) // removed monitors do not count towards their group
		e.Start(context.Background())
		time.Sleep(10 * time.Second)
		shutdown(t, e)
		if ran["a"] != 20 || ran["b"] != 2 {
			t.Errorf("remediations per team %v, want a:20 b:2 (10%% of each)", ran)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		denied := 0
		for _, a := range rec.alerts {
			if a.Code == alert.Red && errors.Is(a.Err, cpra.ErrBudget) {
				denied++
				if want := "of team=" + a.Labels["team"]; !strings.Contains(a.Err.Error(), want) {
					t.Errorf("reason %q does not name the group (%q)", a.Err, want)
				}
			}
		}
		if denied != 198 {
			t.Errorf("%d reds for the budget, want 198", denied)
		}
	})
}

func TestGroupBudgetRefused(t *testing.T) {
	for _, o := range []cpra.Option{
		cpra.WithGroupRemediationBudget("", 0.1, time.Minute),
		cpra.WithGroupRemediationBudget("team", 0, time.Minute),
		cpra.WithGroupRemediationBudget("team", 1.5, time.Minute),
		cpra.WithGroupRemediationBudget("team", 0.1, 0),
	} {
		if _, err := cpra.New(o); err == nil {
			t.Error("a bad WithGroupRemediationBudget was accepted")
		}
	}
}
