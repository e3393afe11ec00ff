package proc

import (
	"context"
	"errors"
	"io/fs"
	"os/exec"
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	tests := []struct {
		name        string
		cap         int
		writes      []string
		want        string
		wantDropped int64
	}{
		{"fits", 10, []string{"abc", "de"}, "abcde", 0},
		{"exactly full", 4, []string{"ab", "cd"}, "abcd", 0},
		{"one big write", 4, []string{"abcdefgh"}, "efgh", 4},
		{"many small writes", 6, []string{"ab", "cd", "ef", "gh", "ij"}, "efghij", 4},
		{"ring wraps twice", 4, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}, "fghi", 5},
		{"write across the ring's end", 5, []string{"abcd", "efg", "hi"}, "efghi", 4},
		{"keep none", -1, []string{"gone"}, "", 4},
		{"default cap", 0, []string{strings.Repeat("x", DefaultOutputCap+3)}, strings.Repeat("x", DefaultOutputCap), 3},
		{"trimmed", 16, []string{"\n  ok \n"}, "ok", 0},
		{"cut rune skipped", 3, []string{"a\u00e9\u00e9"}, "\u00e9", 3},
		{"invalid bytes replaced", 8, []string{"a\xffb"}, "a\uFFFDb", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTail(tt.cap)
			for _, w := range tt.writes {
				tb.write([]byte(w))
			}
			got, dropped := tb.text()
			if got != tt.want || dropped != tt.wantDropped {
				t.Errorf("got %q with %d dropped, want %q with %d", got, dropped, tt.want, tt.wantDropped)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	exit3 := exitError(t, "exit 3")
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"exit status", &Error{Path: "/bin/x", ExitCode: 3, Err: exit3}, "exec /bin/x: exit status 3"},
		{"with output", &Error{Path: "/bin/x", ExitCode: 3, Err: exit3, Output: "a \"b\"\nc"}, `exec /bin/x: exit status 3: output: "a \"b\"\nc"`},
		{"output cut", &Error{Path: "/bin/x", ExitCode: 3, Err: exit3, Output: "end", Dropped: 99}, `exec /bin/x: exit status 3: output (99 earlier bytes dropped): "end"`},
		{"output not kept", &Error{Path: "/bin/x", ExitCode: 3, Err: exit3, Dropped: 12}, `exec /bin/x: exit status 3: output not kept (12 bytes)`},
		{"killed", &Error{Path: "/bin/x", ExitCode: -1, Killed: true, Err: context.DeadlineExceeded}, "exec /bin/x: killed: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// exitError returns the error of a real sh run of script.
func exitError(t *testing.T, script string) error {
	t.Helper()
	err := exec.Command("/bin/sh", "-c", script).Run()
	if err == nil {
		t.Fatal("script succeeded")
	}
	return err
}

func TestRun(t *testing.T) {
	t.Setenv("PROC_TEST_LEAK", "inherited")
	done, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name     string
		cmd      Cmd
		ctx      context.Context
		wantErr  string // "" for success
		wantCode int
		killed   bool
	}{
		{"exit 0", Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "echo hi"}}, nil, "", 0, false},
		{"exit 2", Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "echo no; exit 2"}}, nil, `exec /bin/sh: exit status 2: output: "no"`, 2, false},
		{"looked up in PATH", Cmd{Path: "sh", Args: []string{"sh", "-c", "exit 0"}, Env: []string{}}, nil, "", 0, false},
		{"empty environment", Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", `test -z "$HOME$PROC_TEST_LEAK" || { echo "$HOME$PROC_TEST_LEAK"; exit 1; }`}}, nil, "", 0, false},
		{"environment and dir", Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", `test "$A$(pwd)" = x/`}, Env: []string{"A=x"}, Dir: "/"}, nil, "", 0, false},
		{"missing program", Cmd{Path: "/nonexistent/prog"}, nil, "exec /nonexistent/prog: fork/exec /nonexistent/prog: no such file or directory", -1, false},
		{"context done first", Cmd{Path: "/bin/sh"}, done, "exec /bin/sh: killed: context canceled", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			err := tt.cmd.Run(ctx)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.Error() != tt.wantErr || e.ExitCode != tt.wantCode || e.Killed != tt.killed {
				t.Errorf("got %q exit %d killed %v, want %q exit %d killed %v",
					e, e.ExitCode, e.Killed, tt.wantErr, tt.wantCode, tt.killed)
			}
		})
	}
	if err := (&Cmd{Path: "/nonexistent/prog"}).Run(t.Context()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want it to match fs.ErrNotExist", err)
	}
}
