//go:build linux

package pulse

import (
	"context"
	"errors"
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

// TestExecKillsBackgroundChildren: a check script that backgrounds a sleep
// and passes leaves nothing running, check after check.
func TestExecKillsBackgroundChildren(t *testing.T) {
	mark := proctest.Mark(t)
	c := MustExec("/bin/sh", []string{"-c", "sleep 1001 & " + proctest.UntilSleeping + "exit 0"}, WithEnv(mark, "PATH=/usr/bin:/bin"))
	for i := range 10 {
		if err := c.Check(t.Context()); err != nil {
			t.Fatalf("check %d: got %v, want it to pass", i+1, err)
		}
	}
	if left := proctest.WaitGone(t, 10*time.Second, mark, proctest.Sleep1001...); len(left) > 0 {
		t.Errorf("after 10 checks, sleep 1001 still running as %v", left)
	}
}

// TestExecKillsBackgroundChildrenOnFailure: the same when the script fails.
func TestExecKillsBackgroundChildrenOnFailure(t *testing.T) {
	mark := proctest.Mark(t)
	err := MustExec("/bin/sh", []string{"-c", "sleep 1001 & " + proctest.UntilSleeping + "echo replica down; exit 4"},
		WithEnv(mark, "PATH=/usr/bin:/bin")).Check(t.Context())
	var xe *ExecError
	if !errors.As(err, &xe) || xe.ExitCode != 4 || xe.Output != "replica down" {
		t.Fatalf("got %v, want exit status 4 with its output", err)
	}
	if left := proctest.WaitGone(t, 10*time.Second, mark, proctest.Sleep1001...); len(left) > 0 {
		t.Errorf("sleep 1001 still running as %v after a failed check", left)
	}
}

// TestExecCancelKillsGroup: canceling the check's context kills the script
// and its background child at once, while both run.
func TestExecCancelKillsGroup(t *testing.T) {
	mark := proctest.Mark(t)
	c := MustExec("/bin/sh", []string{"-c", "sleep 1001 & wait"}, WithEnv(mark, "PATH=/usr/bin:/bin"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Check(ctx) }()

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
		t.Fatal("check did not return after its context was canceled")
	}
	var xe *ExecError
	if !errors.As(err, &xe) || !xe.Killed || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want a killed *ExecError matching context.Canceled", err)
	}
	if left := proctest.WaitGone(t, 10*time.Second, mark, proctest.Sleep1001...); len(left) > 0 {
		t.Errorf("sleep 1001 still running as %v after the check was canceled", left)
	}
}

// TestExecEscapedChildDoesNotHang: a process that leaves the group (setsid)
// is beyond the group kill and keeps the output pipe open; the check must
// return all the same rather than wait for it, and pass on the script's
// exit status.
func TestExecEscapedChildDoesNotHang(t *testing.T) {
	mark := proctest.Mark(t) // its cleanup kills the escaped sleep
	c := MustExec("/bin/sh", []string{"-c", "setsid sleep 1001 & " + proctest.UntilSleeping + "exit 0"}, WithEnv(mark, "PATH=/usr/bin:/bin"))
	done := make(chan error, 1)
	go func() { done <- c.Check(t.Context()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("got %v, want the check to pass", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("check waits for a process that escaped the group and holds its output")
	}
	if got := proctest.WaitFor(t, 10*time.Second, 1, mark, proctest.Sleep1001...); len(got) != 1 {
		t.Errorf("found %d escaped sleeps, want 1 (setsid takes it out of the group)", len(got))
	}
}
