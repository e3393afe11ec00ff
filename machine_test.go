package cpra_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/intervene"
)

// script plays a fixed sequence of check outcomes: 'F' fails, anything
// else passes; after the end the last outcome repeats.
type script struct {
	mu  sync.Mutex
	out string
	n   int
}

func (s *script) Check(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.out[min(s.n, len(s.out)-1)]
	s.n++
	if c == 'F' {
		return fmt.Errorf("check %d failed", s.n)
	}
	return nil
}

// fixes plays remediation outcomes: 'E' errors, 'H' hangs until its
// context ends, anything else succeeds. After the end the last repeats.
type fixes struct {
	mu  sync.Mutex
	out string
	n   int
	inc []intervene.Incident
}

func (f *fixes) Remediate(ctx context.Context, inc intervene.Incident) error {
	f.mu.Lock()
	c := f.out[min(f.n, len(f.out)-1)]
	f.n++
	f.inc = append(f.inc, inc)
	f.mu.Unlock()
	switch c {
	case 'E':
		return errors.New("restart failed")
	case 'H':
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// recorder collects alerts.
type recorder struct {
	mu     sync.Mutex
	alerts []alert.Alert
}

func (r *recorder) Notify(_ context.Context, a alert.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
	return nil
}

func (r *recorder) codes(monitor string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, a := range r.alerts {
		if monitor == "" || a.Monitor == monitor {
			s = append(s, a.Code.String())
		}
	}
	return strings.Join(s, " ")
}

func shutdown(t *testing.T, e *cpra.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestStateMachine(t *testing.T) {
	tests := []struct {
		name   string
		checks string // one letter per check
		fixes  string // "" for no remediator
		mon    cpra.Monitor
		want   string
	}{
		{name: "healthy", checks: "P", want: ""},
		{name: "yellow-only blip ends in green", checks: "FPPP", want: "yellow green"},
		{name: "blip with a relapse stays one episode", checks: "FPFPPP", want: "yellow green"},
		{name: "down without remediator", checks: "FFFFFPPP", want: "yellow red green"},
		{name: "threshold 1 has no yellow", checks: "FFPPP", mon: cpra.Monitor{FailureThreshold: 1}, want: "red green"},
		{name: "one success is not enough to recover", checks: "FFFPFPPP", want: "yellow red green"},
		{name: "remediation verified", checks: "FFFPPP", fixes: "S", want: "yellow cyan green"},
		{name: "failed verification, second attempt holds", checks: "FFFFFPPP", fixes: "S",
			mon: cpra.Monitor{MaxRemediations: 2}, want: "yellow cyan cyan green"},
		{name: "failed verification with no attempts left", checks: "FFFFFFPPP", fixes: "S", want: "yellow cyan red green"},
		{name: "attempts exhausted give one red", checks: "FFFFFFFFFFPPP", fixes: "E",
			mon: cpra.Monitor{MaxRemediations: 3}, want: "yellow red green"},
		{name: "recovery while an attempt hangs", checks: "FFFPPPPPP", fixes: "H",
			mon: cpra.Monitor{Timeout: 5 * time.Second}, want: "yellow green"},
		{name: "higher success threshold", checks: "FFFPPFPPPPP", mon: cpra.Monitor{SuccessThreshold: 4}, want: "yellow red green"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				e, err := cpra.New(cpra.WithNotifier(rec))
				if err != nil {
					t.Fatal(err)
				}
				m := tc.mon
				m.Name = "api"
				m.Interval = time.Second
				m.Check = &script{out: tc.checks}
				var fx *fixes
				if tc.fixes != "" {
					fx = &fixes{out: tc.fixes}
					m.Remediate = fx
				}
				id, err := e.Add(m)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(len(tc.checks)+3) * time.Second)
				synctest.Wait()
				st, err := e.Status(id)
				if err != nil {
					t.Fatal(err)
				}
				shutdown(t, e)
				if got := rec.codes(""); got != tc.want {
					t.Errorf("alerts = %q, want %q", got, tc.want)
				}
				if st.State != cpra.StateUp {
					t.Errorf("final state = %v, want up", st.State)
				}
				if fx != nil {
					for i, inc := range fx.inc {
						if inc.Attempt != i+1 || inc.Monitor != "api" || inc.Err == nil {
							t.Errorf("incident %d = %+v, want attempt %d of api with the check error", i, inc, i+1)
						}
					}
				}
			})
		})
	}
}

func TestAlertFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		labels := map[string]string{"team": "core"}
		_, err := e.Add(cpra.Monitor{Name: "db", Interval: time.Second, Labels: labels,
			Check: &script{out: "FFFFPP"}, Remediate: &fixes{out: "E"}, MaxRemediations: 1})
		if err != nil {
			t.Fatal(err)
		}
		e.Start(context.Background())
		time.Sleep(10 * time.Second)
		shutdown(t, e)
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.alerts) != 3 {
			t.Fatalf("got %d alerts, want yellow, red, green", len(rec.alerts))
		}
		y, r, g := rec.alerts[0], rec.alerts[1], rec.alerts[2]
		if y.Code != alert.Yellow || y.Err == nil || y.Failures != 1 || y.Labels["team"] != "core" {
			t.Errorf("yellow = %+v", y)
		}
		if r.Code != alert.Red || r.Attempt != 1 || r.Err == nil || !strings.Contains(r.Err.Error(), "restart failed") {
			t.Errorf("red = %+v, want attempt 1 with the remediation error", r)
		}
		if g.Code != alert.Green || g.Err != nil || !g.Since.Equal(y.Since) || g.Since.IsZero() {
			t.Errorf("green = %+v, want the episode's start %v", g, y.Since)
		}
		if !r.At.After(y.At) || !g.At.After(r.At) {
			t.Errorf("alert times out of order: %v %v %v", y.At, r.At, g.At)
		}
	})
}

// TestStatusDuringEpisode checks what Status shows while a monitor fails.
func TestStatusDuringEpisode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := cpra.New()
		id, _ := e.Add(cpra.Monitor{Name: "queue", Interval: time.Second, Check: &script{out: "PFFFF"}})
		st, err := e.Status(id)
		if err != nil || st.State != cpra.StateUnknown || !st.LastCheck.IsZero() {
			t.Fatalf("before start: %+v, %v; want unknown with no check", st, err)
		}
		e.Start(context.Background())
		time.Sleep(4500 * time.Millisecond) // checks at phase+0s..4s: P F F F F
		synctest.Wait()
		st, err = e.Status(id)
		if err != nil {
			t.Fatal(err)
		}
		if s := e.Stats(); s.Down != 1 || s.Up != 0 {
			t.Errorf("Stats up %d down %d, want 0 and 1", s.Up, s.Down)
		}
		if st.State != cpra.StateDown || st.Code != alert.Red || st.ConsecutiveFailures != 4 || st.LastError == nil ||
			st.Since.IsZero() || st.LastCheck.IsZero() || st.Interval != time.Second || st.Name != "queue" {
			t.Errorf("status = %+v", st)
		}
		shutdown(t, e)
		if st2, err := e.Status(id); err != nil || st2.Name != "queue" {
			t.Errorf("Status after Shutdown = %+v, %v; want the final state", st2, err)
		}
	})
}

var episodeRE = regexp.MustCompile(`^(yellow )?(cyan )*(red )?green$`)
var openRE = regexp.MustCompile(`^(yellow)?( ?cyan)*( ?red)?$`)

// TestRandomFleetEpisodes runs many flapping monitors with random
// remediation outcomes and checks the grammar of every episode.
func TestRandomFleetEpisodes(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		for i := range n {
			seed := uint64(i)
			var checks, fx strings.Builder
			x := seed*2654435761 + 1
			for range 40 {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				if x%3 == 0 {
					checks.WriteByte('F')
				} else {
					checks.WriteByte('P')
				}
				fx.WriteByte("SEH"[x%3])
			}
			m := cpra.Monitor{
				Name: fmt.Sprintf("m%05d", i), Interval: time.Second, Timeout: 800 * time.Millisecond,
				Check:            &script{out: checks.String() + "PPPPPP"},
				FailureThreshold: 1 + i%3, SuccessThreshold: 1 + i%2, MaxRemediations: i % 4,
			}
			if i%5 != 0 {
				m.Remediate = &fixes{out: fx.String()}
			}
			if _, err := e.Add(m); err != nil {
				t.Fatal(err)
			}
		}
		e.Start(context.Background())
		time.Sleep(50 * time.Second)
		shutdown(t, e)
		per := map[string][]string{}
		rec.mu.Lock()
		for _, a := range rec.alerts {
			per[a.Monitor] = append(per[a.Monitor], a.Code.String())
		}
		rec.mu.Unlock()
		episodes := 0
		for name, codes := range per {
			var cur []string
			for _, c := range codes {
				cur = append(cur, c)
				if c == "green" {
					if s := strings.Join(cur, " "); !episodeRE.MatchString(s) {
						t.Fatalf("%s: episode %q breaks yellow? cyan* red? green (all: %v)", name, s, codes)
					}
					episodes++
					cur = nil
				}
			}
			if s := strings.Join(cur, " "); !openRE.MatchString(s) {
				t.Fatalf("%s: open episode %q breaks the grammar", name, s)
			}
			if len(cur) > 0 {
				t.Fatalf("%s: episode %q still open after its target recovered", name, cur)
			}
		}
		if episodes < n/2 {
			t.Fatalf("only %d closed episodes in %d monitors: the fleet did not flap", episodes, n)
		}
		t.Logf("%d monitors, %d closed episodes", n, episodes)
	})
}
