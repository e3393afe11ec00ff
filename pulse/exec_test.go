package pulse

import (
	"errors"
	"strings"
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
		{"exit 3 with output", "echo starting; echo 'db unreachable' >&2; exit 3", nil, "exit status 3: starting\ndb unreachable"},
		{"killed by a signal", "kill -TERM $$", nil, "signal: terminated"},
		{"empty environment", `test -z "$HOME$USER$PULSE_LEAK" || { echo "env leaked: $HOME $USER $PULSE_LEAK"; exit 1; }`, nil, ""},
		{"environment given", `test "$MODE" = strict || { echo "MODE=$MODE"; exit 1; }`, []ExecOption{WithEnv("MODE=strict")}, ""},
		{"environment missing", `test "$MODE" = strict || { echo "MODE=$MODE"; exit 1; }`, nil, "exit status 1: MODE="},
		{"working directory", `test "$(pwd)" = /`, []ExecOption{WithDir("/")}, ""},
		{"stdin is empty", `read line && exit 1 || exit 0`, nil, ""},
		{"huge output is bounded", `head -c 5000000 /dev/zero | tr '\0' x; echo; echo tail-marker; exit 1`, nil, "bytes omitted"},
		{"hang past the timeout", "sleep 600", []ExecOption{WithTimeout(200 * time.Millisecond)}, "timeout after 200ms while running /bin/sh"},
		{"leaves a child holding its output", "sleep 600 & exit 0", nil, "/bin/sh exited, but processes it started kept its output open"},
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

func TestExecOutputCap(t *testing.T) {
	c := MustExec("/bin/sh", []string{"-c", `head -c 5000000 /dev/zero | tr '\0' x; echo; echo tail-marker; exit 1`})
	err := c.Check(t.Context())
	if err == nil {
		t.Fatal("got no error, want exit status 1")
	}
	msg := err.Error()
	if len(msg) > defaultOutputCap+100 {
		t.Errorf("error text is %d bytes, want at most %d", len(msg), defaultOutputCap+100)
	}
	if !strings.HasSuffix(msg, "tail-marker") {
		t.Errorf("error text does not end with the output's last line: ...%q", msg[max(0, len(msg)-40):])
	}
	var ee interface{ ExitCode() int }
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("got %v, want an error carrying exit code 1", err)
	}
}

func TestExecLookPath(t *testing.T) {
	c, err := Exec("sh", []string{"-c", "exit 0"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.path, "/") {
		t.Errorf("got path %q, want it resolved from PATH", c.path)
	}
	if err := c.Check(t.Context()); err != nil {
		t.Error(err)
	}
	if _, err := Exec("no-such-program-pulse-test", nil); !errors.Is(err, ErrOption) {
		t.Errorf("got %v, want an ErrOption for a program not in PATH", err)
	}
	wantErr(t, MustExec("/nonexistent/pulse-check", nil).Check(t.Context()),
		"starting /nonexistent/pulse-check: fork/exec /nonexistent/pulse-check: no such file or directory")
	if _, err := Exec("/bin/sh", nil, WithEnv("NOEQUALS")); !errors.Is(err, ErrOption) {
		t.Errorf("got %v, want an ErrOption for a bad environment entry", err)
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{cap: 8}
	for _, s := range []string{"abc", "defgh", "ijklmnopqrstuvwxyz", "12"} {
		tb.Write([]byte(s))
	}
	if got, want := tb.String(), "[20 bytes omitted] uvwxyz12"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	tb = &tailBuffer{cap: 0}
	tb.Write([]byte("gone"))
	if got, want := tb.String(), "[4 bytes omitted] "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
