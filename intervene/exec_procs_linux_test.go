//go:build linux

package intervene

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ziad/cpra/internal/proc/proctest"
)

// The tests below start a literal "sleep 1001" in the background and look
// for it in /proc afterwards. Each test marks its processes with an
// environment entry of its own, so tests running at the same time do not
// see each other's sleeps. A killed process dies a moment after the kill,
// hence WaitGone's generous limit; a sleep that was not killed would live
// for 1001 s and fail the test.

// shExec returns an Exec remediator running script with sh, its processes
// marked with mark.
func shExec(t *testing.T, mark, script string, opts ...Option) *ExecRemediator {
	t.Helper()
	k, v, _ := strings.Cut(mark, "=")
	r, err := Exec("/bin/sh", []string{"-c", script},
		append([]Option{WithEnv(k, v), WithEnv("PATH", "/usr/bin:/bin")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestExecKillsBackgroundChildren: a repair script that backgrounds a sleep
// and succeeds leaves nothing running, attempt after attempt.
func TestExecKillsBackgroundChildren(t *testing.T) {
	mark := proctest.Mark(t)
	r := shExec(t, mark, "sleep 1001 & "+proctest.UntilSleeping+"exit 0")
	for i := range 10 {
		if err := r.Remediate(t.Context(), incident()); err != nil {
			t.Fatalf("attempt %d: got %v, want success", i+1, err)
		}
	}
	if left := proctest.WaitGone(t, 10*time.Second, mark, proctest.Sleep1001...); len(left) > 0 {
		t.Errorf("after 10 repairs, sleep 1001 still running as %v", left)
	}
}

// TestExecKillsBackgroundChildrenOnFailure: the same when the script fails.
func TestExecKillsBackgroundChildrenOnFailure(t *testing.T) {
	mark := proctest.Mark(t)
	err := shExec(t, mark, "sleep 1001 & "+proctest.UntilSleeping+"echo unit not found >&2; exit 5").Remediate(t.Context(), incident())
	var xe *ExecError
	if !errors.As(err, &xe) || xe.ExitCode != 5 || xe.Output != "unit not found" || xe.Killed {
		t.Fatalf("got %v, want exit status 5 with its output", err)
	}
	if !strings.HasPrefix(err.Error(), `intervene: exec /bin/sh: exit status 5: output: "unit not found"`) {
		t.Errorf("got error %q, want the intervene prefix, the status and the output", err)
	}
	if left := proctest.WaitGone(t, 10*time.Second, mark, proctest.Sleep1001...); len(left) > 0 {
		t.Errorf("sleep 1001 still running as %v after a failed repair", left)
	}
}

// TestExecCancelKillsGroup: canceling the repair's context kills the script
// and its background child at once, while both run.
func TestExecCancelKillsGroup(t *testing.T) {
	mark := proctest.Mark(t)
	r := shExec(t, mark, "sleep 1001 & wait")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Remediate(ctx, incident()) }()

	// Seeing the sleep here also shows that the /proc scan finds one.
	if got := proctest.WaitFor(t, 30*time.Second, 1, mark, proctest.Sleep1001...); len(got) != 1 {
		cancel()
		<-done
		t.Fatalf("found %d marked sleep 1001 processes, want 1", len(got))
	}
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Remediate did not return after its context was canceled")
	}
	var xe *ExecError
	if !errors.As(err, &xe) || !xe.Killed || xe.Timeout() || !errors.Is(err, context.Canceled) || xe.Signal != syscall.SIGKILL {
		t.Errorf("got %v, want a killed *ExecError matching context.Canceled", err)
	}
	if left := proctest.WaitGone(t, 10*time.Second, mark, proctest.Sleep1001...); len(left) > 0 {
		t.Errorf("sleep 1001 still running as %v after the repair was canceled", left)
	}
}

// TestExecLeaveRunning: with WithLeaveRunning the background sleep outlives
// the repair, whether or not it keeps the script's output open; the
// default run of the same script leaves nothing.
func TestExecLeaveRunning(t *testing.T) {
	tests := []struct {
		name   string
		script string
		opts   []Option
		want   int
	}{
		{"default", "sleep 1001 & " + proctest.UntilSleeping + "exit 0", nil, 0},
		{"output redirected", "sleep 1001 >/dev/null 2>&1 & " + proctest.UntilSleeping + "exit 0", []Option{WithLeaveRunning()}, 1},
		{"output inherited", "sleep 1001 & " + proctest.UntilSleeping + "exit 0", []Option{WithLeaveRunning()}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mark := proctest.Mark(t) // its cleanup kills what is left
			done := make(chan error, 1)
			go func() { done <- shExec(t, mark, tt.script, tt.opts...).Remediate(t.Context(), incident()) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Remediate waits for a process left running")
			}
			var got []int
			if tt.want == 0 {
				got = proctest.WaitGone(t, 10*time.Second, mark, proctest.Sleep1001...)
			} else {
				// Give a wrong kill time to land before looking.
				time.Sleep(100 * time.Millisecond)
				got = proctest.Find(t, mark, proctest.Sleep1001...)
			}
			if len(got) != tt.want {
				t.Fatalf("found %d sleep 1001 processes after the repair, want %d", len(got), tt.want)
			}
			for _, pid := range got {
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					t.Errorf("killing the sleep left running: %v", err)
				}
			}
			if left := proctest.WaitGone(t, 10*time.Second, mark, proctest.Sleep1001...); len(left) > 0 {
				t.Errorf("could not clean up %v", left)
			}
		})
	}
}

// TestExecLeaveRunningStillKillsAtDeadline: WithLeaveRunning spares what a
// program leaves when it exits, not a program cut short by its context.
func TestExecLeaveRunningStillKillsAtDeadline(t *testing.T) {
	mark := proctest.Mark(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := shExec(t, mark, "sleep 1001 & wait", WithLeaveRunning()).Remediate(ctx, incident())
	var xe *ExecError
	if !errors.As(err, &xe) || !xe.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
	if left := proctest.WaitGone(t, 10*time.Second, mark, proctest.Sleep1001...); len(left) > 0 {
		t.Errorf("sleep 1001 still running as %v after the deadline", left)
	}
}
