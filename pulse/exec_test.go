package pulse

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestExec(t *testing.T) {
	t.Setenv("PULSE_LEAK", "inherited")
	tests := []struct {
		name   string
		script string
		opts   []ExecOption
		want   string
	}{
		{"exit 0", "exit 0", nil, ""},
		{"exit 3 with output", "echo starting; echo 'db unreachable' >&2; exit 3", nil, `exec /bin/sh: exit status 3: output: "starting\ndb unreachable"`},
		{"killed by a signal", "kill -TERM $$", nil, "exec /bin/sh: signal: terminated"},
		{"empty environment", `test -z "$HOME$USER$PULSE_LEAK" || { echo "env leaked: $HOME $USER $PULSE_LEAK"; exit 1; }`, nil, ""},
		{"environment given", `test "$MODE" = strict || { echo "MODE=$MODE"; exit 1; }`, []ExecOption{WithEnv("MODE=strict")}, ""},
		{"environment missing", `test "$MODE" = strict || { echo "MODE=$MODE"; exit 1; }`, nil, `exit status 1: output: "MODE="`},
		{"working directory", `test "$(pwd)" = /`, []ExecOption{WithDir("/")}, ""},
		{"stdin is empty", `read line && exit 1 || exit 0`, nil, ""},
		{"huge output is bounded", `head -c 5000000 /dev/zero | tr '\0' x; echo; echo tail-marker; exit 1`, nil, "earlier bytes dropped"},
		{"no output kept", "echo secret-ish; exit 1", []ExecOption{WithOutputCap(0)}, "exit status 1: output not kept (11 bytes)"},
		{"hang past the timeout", "sleep 600", []ExecOption{WithTimeout(200 * time.Millisecond)}, "exec /bin/sh: killed: timeout after 200ms"},
		{"leaves a child holding its output", "sleep 600 & exit 0", nil, ""},
		{"max latency", "exit 0", []ExecOption{WithMaxLatency(time.Nanosecond)}, "max 1ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Exec("/bin/sh", []string{"-c", tt.script}, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			wantErr(t, c.Check(t.Context()), tt.want)
		})
	}
}

// TestExecErrorShape checks the fields of the error a failed program
// leaves, which callers read with errors.As.
func TestExecErrorShape(t *testing.T) {
	t.Run("exit status", func(t *testing.T) {
		err := MustExec("/bin/sh", []string{"-c", "echo why >&2; exit 7"}).Check(t.Context())
		var xe *ExecError
		if !errors.As(err, &xe) {
			t.Fatalf("got %v, want an *ExecError", err)
		}
		if xe.ExitCode != 7 || xe.Signal != nil || xe.Killed || xe.Output != "why" || xe.Timeout() {
			t.Errorf("got exit %d signal %v killed %v output %q timeout %v, want 7 <nil> false \"why\" false",
				xe.ExitCode, xe.Signal, xe.Killed, xe.Output, xe.Timeout())
		}
	})
	t.Run("signal", func(t *testing.T) {
		err := MustExec("/bin/sh", []string{"-c", "kill -TERM $$"}).Check(t.Context())
		var xe *ExecError
		if !errors.As(err, &xe) {
			t.Fatalf("got %v, want an *ExecError", err)
		}
		if xe.ExitCode != -1 || xe.Signal != syscall.SIGTERM || xe.Killed {
			t.Errorf("got exit %d signal %v killed %v, want -1 terminated false", xe.ExitCode, xe.Signal, xe.Killed)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		err := MustExec("/bin/sh", []string{"-c", "echo begun; sleep 600"}, WithTimeout(100*time.Millisecond)).Check(t.Context())
		var (
			xe *ExecError
			te *TimeoutError
		)
		if !errors.As(err, &xe) || !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want an *ExecError holding a *TimeoutError", err)
		}
		if !xe.Killed || !xe.Timeout() || xe.Signal != syscall.SIGKILL || xe.Output != "begun" {
			t.Errorf("got killed %v timeout %v signal %v output %q, want true true killed \"begun\"",
				xe.Killed, xe.Timeout(), xe.Signal, xe.Output)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(errors.New("engine stopping"))
		err := MustExec("/bin/sh", []string{"-c", "exit 0"}).Check(ctx)
		var xe *ExecError
		if !errors.As(err, &xe) || !xe.Killed || xe.Timeout() {
			t.Fatalf("got %v, want a killed *ExecError that is no timeout", err)
		}
		wantErr(t, err, "killed: check canceled: engine stopping")
	})
}

func TestExecOutputCap(t *testing.T) {
	tests := []struct {
		name    string
		cap     []ExecOption
		wantLen int
	}{
		{"default 4 KiB", nil, 4 << 10},
		{"100 bytes", []ExecOption{WithOutputCap(100)}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MustExec("/bin/sh", []string{"-c", `head -c 5000000 /dev/zero | tr '\0' x; echo; echo tail-marker; exit 1`}, tt.cap...)
			err := c.Check(t.Context())
			var xe *ExecError
			if !errors.As(err, &xe) {
				t.Fatalf("got %v, want an *ExecError", err)
			}
			// The kept bytes are the last ones, trailing newline included,
			// and the trimmed text ends with the output's last line.
			if got := len(xe.Output) + 1; got != tt.wantLen {
				t.Errorf("kept %d bytes, want %d", got, tt.wantLen)
			}
			if want := int64(5000000 + len("\ntail-marker\n") - tt.wantLen); xe.Dropped != want {
				t.Errorf("got %d bytes dropped, want %d", xe.Dropped, want)
			}
			if !strings.HasSuffix(xe.Output, "x\ntail-marker") {
				t.Errorf("output does not end with the last line: ...%q", xe.Output[max(0, len(xe.Output)-40):])
			}
			if msg := err.Error(); len(msg) > tt.wantLen+200 {
				t.Errorf("error text is %d bytes, want at most %d", len(msg), tt.wantLen+200)
			}
			if xe.ExitCode != 1 {
				t.Errorf("got exit code %d, want 1", xe.ExitCode)
			}
		})
	}
	for _, n := range []int{-1, 1<<20 + 1} {
		if _, err := Exec("/bin/sh", nil, WithOutputCap(n)); !errors.Is(err, ErrOption) {
			t.Errorf("WithOutputCap(%d): got %v, want an ErrOption", n, err)
		}
	}
}

func TestExecLookPath(t *testing.T) {
	c, err := Exec("sh", []string{"-c", "exit 0"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.String(), "exec /") {
		t.Errorf("got %q, want the path resolved from PATH", c.String())
	}
	if err := c.Check(t.Context()); err != nil {
		t.Error(err)
	}
	if _, err := Exec("no-such-program-pulse-test", nil); !errors.Is(err, ErrOption) {
		t.Errorf("got %v, want an ErrOption for a program not in PATH", err)
	}
	wantErr(t, MustExec("/nonexistent/pulse-check", nil).Check(t.Context()),
		"exec /nonexistent/pulse-check: fork/exec /nonexistent/pulse-check: no such file or directory")
	if _, err := Exec("/bin/sh", nil, WithEnv("NOEQUALS")); !errors.Is(err, ErrOption) {
		t.Errorf("got %v, want an ErrOption for a bad environment entry", err)
	}
}

// TestExecStringHidesArgs: the arguments may carry secrets and must not
// reach %v output.
func TestExecStringHidesArgs(t *testing.T) {
	c := MustExec("/bin/sh", []string{"-c", "check --password=hunter2"})
	if got, want := c.String(), "exec /bin/sh"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
