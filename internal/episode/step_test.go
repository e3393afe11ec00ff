package episode

import (
	"strings"
	"testing"

	"github.com/ziad/cpra/alert"
)

// play runs a script of events, one letter each, and returns the word of
// the alerts sent (see the package doc): P pass, F fail, K the running
// attempt succeeds, E it fails, N it is fenced off before it runs, D a
// failing check the budget denies,
// H a parent goes down, U it comes back, Z pause, z resume, M a
// maintenance window opens, m it closes, X removal.
func play(t *testing.T, c Settings, script string) string {
	t.Helper()
	cfg := config{s: New(), env: env{parentLast: -1 << 62}}
	now := int64(1_000_000)
	var word []string
	ev := map[byte]mev{'P': evPass, 'F': evFail, 'K': evFixOK, 'E': evFixErr, 'N': evFixFenced, 'D': evBudgetDenied, 'H': evParentDown,
		'U': evParentUp, 'Z': evPause, 'z': evResume, 'M': evMaintIn, 'm': evMaintOut, 'X': evRemove}
	for i := 0; i < len(script); i++ {
		e, ok := ev[script[i]]
		if !ok {
			t.Fatalf("bad script letter %q", script[i])
		}
		now += step
		before := cfg
		var err error
		cfg, err = run(cfg, &c, e, now)
		if err != nil {
			t.Fatalf("%s: step %d (%c): %v", script, i, script[i], err)
		}
		_, fx := stepAgain(before, &c, e, now)
		for _, a := range fx.Raised() {
			if a.Send {
				word = append(word, token(a))
			}
		}
	}
	return strings.Join(word, " ")
}

// stepAgain repeats the step run made, to see its effects.
func stepAgain(cfg config, c *Settings, e mev, now int64) (State, Effects) {
	ev := Event{Kind: Pass}
	switch e {
	case evFail, evBudgetDenied:
		ev.Kind = Fail
	case evFixOK:
		ev = Event{Kind: FixOK, Start: cfg.env.fixStart, Attempt: cfg.env.fixAttempt}
	case evFixErr, evFixTimeout:
		ev = Event{Kind: FixFailed, Start: cfg.env.fixStart, Attempt: cfg.env.fixAttempt}
	case evFixFenced:
		ev = Event{Kind: FixFenced, Start: cfg.env.fixStart, Attempt: cfg.env.fixAttempt}
	case evPause:
		ev.Kind = Pause
	case evResume:
		ev.Kind = Resume
	case evMaintIn:
		if cfg.env.maint {
			return cfg.s, Effects{}
		}
		ev.Kind = MaintIn
	case evMaintOut:
		if !cfg.env.maint {
			return cfg.s, Effects{}
		}
		ev.Kind = MaintOut
	case evRemove:
		ev.Kind = Remove
	case evParentDown, evParentUp:
		return cfg.s, Effects{}
	}
	ev.At, ev.Due, ev.Rand = now+5, now, 1<<31
	ev.Parents = Parents{Known: true, Hold: cfg.env.parentDown, Last: cfg.env.parentLast}
	ev.Verdict = Verdict{Kind: Allow}
	if e == evBudgetDenied {
		ev.Verdict = Verdict{Kind: Deny, Until: now + 2*step}
	}
	return Step(cfg.s, c, ev)
}

func TestScripts(t *testing.T) {
	base := Settings{Interval: step, FailThreshold: 3, SuccThreshold: 2, Routes: RouteAll}
	with := func(f func(*Settings)) Settings { c := base; f(&c); return c }
	fix := func(n uint16) func(*Settings) {
		return func(c *Settings) { c.Remediates, c.MaxAttempts = true, n }
	}
	for _, tc := range []struct {
		name   string
		c      Settings
		script string
		want   string
	}{
		{"healthy", base, "PPPP", ""},
		{"blip", base, "FPP", "Y G"},
		{"outage", base, "FFFFPP", "Y R G"},
		{"threshold 1: no yellow", with(func(c *Settings) { c.FailThreshold = 1 }), "FPP", "R G"},
		{"repair verified", with(fix(1)), "FFFKPP", "Y C G"},
		{"repair does not hold, second one does", with(fix(2)), "FFFKFFKPP", "Y C C G"},
		{"repairs spent", with(fix(2)), "FFFEFFEFPP", "Y R G"},
		{"passes end it while a repair runs", with(fix(1)), "FFFPPK", "Y G"},
		{"a fenced attempt is not spent", with(fix(1)), "FFFNFKPP", "Y C G"},
		{"fenced, then spent", with(fix(2)), "FFFNFEFNFEFPP", "Y R G"},
		{"budget denies: red with the reason, then a repair", with(fix(1)), "FFDFFKPP", "Y R G"},
		{"reminders", with(func(c *Settings) { c.Repeat = 2 * step }), "FFFFFFFPP", "Y R r r G"},
		{"pause over an outage is one episode", base, "FFFZzFFPP", "Y R X G"},
		{"maintenance over an outage is one episode", base, "FFFMFFmFPP", "Y R X G"},
		{"recovered during a pause: green after resuming", base, "FFFZPPzPP", "Y R X G"},
		{"pause of a healthy monitor", base, "PZzPP", "X"},
		{"removal of a told episode", base, "FFFX", "Y R Xr"},
		{"removal of an untold one", with(func(c *Settings) { c.Routes = 1 << alert.Red }), "FX", ""},
		{"no green for an episode nobody heard of", with(func(c *Settings) { c.Routes = 1<<alert.Red | 1<<alert.Green }), "FPP", ""},
		{"a parent down holds the child", with(func(c *Settings) { c.Parents = true }), "HFFFFUPP", ""},
		{"a child down after its parent recovers is told", with(func(c *Settings) { c.Parents = true }), "UHFFFFUFPP", "R G"},
		{"flapping: only the flap pair", with(func(c *Settings) { c.FlapHigh, c.FlapLow = 20*19, 10*19 }),
			"FPFPFPFPFFPP" + strings.Repeat("P", 20), "S Eg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := play(t, tc.c, tc.script); got != tc.want {
				t.Errorf("%s: sent %q, want %q", tc.script, got, tc.want)
			}
		})
	}
}

// TestFencedAttemptIsTakenBack: an attempt a cluster fenced off before
// it ran gives back its number and the cooldown it started, so the next
// failing check runs the same attempt at once.
func TestFencedAttemptIsTakenBack(t *testing.T) {
	c := Settings{Interval: step, FailThreshold: 1, SuccThreshold: 1, Routes: RouteAll, Remediates: true,
		MaxAttempts: 3, Cooldown: 10 * step}
	allow := Verdict{Kind: Allow}
	s := New()
	s.LastFix = 1000 // an attempt of an earlier episode, its cooldown over by now
	now := int64(1_000_000)
	s, fx := Step(s, &c, Event{Kind: Fail, At: now, Due: now, Verdict: allow})
	if !fx.Attempt || s.Attempts != 1 || s.LastFix != now {
		t.Fatalf("first failure: attempt %v, attempts %d, last fix %d", fx.Attempt, s.Attempts, s.LastFix)
	}
	s, fx = Step(s, &c, Event{Kind: FixFenced, At: now + 5, Start: s.Start, Attempt: 1})
	if !fx.Unstarted || fx.Outcome || fx.N != 0 {
		t.Fatalf("fenced: effects %+v", fx)
	}
	if s.Phase != Backoff || s.Attempts != 0 || s.LastFix != 1000 {
		t.Fatalf("fenced: phase %v, attempts %d, last fix %d; want backoff, 0, 1000", s.Phase, s.Attempts, s.LastFix)
	}
	now += step
	s, fx = Step(s, &c, Event{Kind: Fail, At: now, Due: now, Verdict: allow})
	if !fx.Attempt || s.Attempts != 1 || s.Phase != Remediating {
		t.Fatalf("next failure: attempt %v, attempts %d, phase %v; want attempt 1 again", fx.Attempt, s.Attempts, s.Phase)
	}
	// A stale fenced outcome (of an attempt that is not the current one)
	// changes nothing.
	if s2, fx := Step(s, &c, Event{Kind: FixFenced, At: now + 5, Start: s.Start, Attempt: 2}); s2 != s || fx.Unstarted {
		t.Fatalf("stale fenced outcome changed the state: %+v -> %+v", s, s2)
	}
}

func TestStateIs64Bytes(t *testing.T) {
	if n := sizeOf(State{}); n != 64 {
		t.Errorf("State is %d bytes, want 64", n)
	}
	if n := sizeOf(Core{}); n != 8 {
		t.Errorf("Core is %d bytes, want 8", n)
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	c := Settings{Interval: step, FailThreshold: 2, SuccThreshold: 2, Remediates: true, MaxAttempts: 2,
		FlapHigh: 380, FlapLow: 190, FailureWindow: 4, Routes: RouteAll}
	s := New()
	evs := []Event{{Kind: Fail}, {Kind: Fail, Verdict: Verdict{Kind: Allow}}, {Kind: FixOK}, {Kind: Pass}, {Kind: Pass}}
	n := testing.AllocsPerRun(100, func() {
		st := s
		for i, ev := range evs {
			ev.At, ev.Due = int64(1000*(i+1)), int64(1000*(i+1))
			ev.Start, ev.Attempt = st.Start, st.Attempts
			st, _ = Step(st, &c, ev)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

func BenchmarkStep(b *testing.B) {
	c := Settings{Interval: step, FailThreshold: 3, SuccThreshold: 2, Routes: RouteAll}
	s, _ := Step(New(), &c, Event{Kind: Pass, At: 1, Due: 1})
	for b.Loop() {
		s, _ = Step(s, &c, Event{Kind: Pass, At: 2, Due: 2})
	}
}
