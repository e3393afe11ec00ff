package pulse

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/ziad/cpra/internal/proc"
	"github.com/ziad/cpra/internal/redact"
)

// ExecError reports a program run by an [Exec] check that failed: its exit
// status or the signal that ended it, whether it was killed at the check's
// end (Err is then the [*TimeoutError]), and the end of its output. It is
// the same type as intervene.ExecError.
type ExecError = proc.Error

// ExecOption configures an [Exec] checker. [Option] values are ExecOptions
// too.
type ExecOption interface{ applyExec(*settings) }

type execOption func(*settings)

func (o execOption) applyExec(s *settings) { o(s) }

// WithEnv adds "KEY=value" entries to the program's environment, which is
// otherwise empty: nothing of this process's environment is passed on
// unless given here (WithEnv(os.Environ()...) passes all of it).
func WithEnv(kv ...string) ExecOption {
	return execOption(func(s *settings) {
		for i, e := range kv {
			if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
				// The entry may be a misplaced credential: not quoted.
				s.fail("WithEnv: entry %d is not KEY=value", i+1)
				return
			}
		}
		s.env = append(s.env, kv...)
	})
}

// WithDir runs the program in dir instead of this process's working
// directory.
func WithDir(dir string) ExecOption {
	return execOption(func(s *settings) { s.dir = dir })
}

// WithOutputCap keeps the last n bytes (0 to 1 MiB, default 4 KiB) of the
// program's combined standard output and error for the error text; what
// came before is counted and dropped. With 0 the error quotes no output.
func WithOutputCap(n int) ExecOption {
	return execOption(func(s *settings) {
		if n < 0 || n > proc.MaxOutputCap {
			s.fail("WithOutputCap(%d): want 0 to 1 MiB", n)
			return
		}
		s.outputCap = n
	})
}

// ExecChecker runs a program; build one with [Exec].
type ExecChecker struct {
	cmd        proc.Cmd
	secretEnv  []string // values of env entries whose names say they are secret
	timeout    time.Duration
	maxLatency time.Duration
}

// Exec returns a checker that runs the program at path with args (argv
// directly, never through a shell) and passes when it exits with status 0.
// A path without a slash is looked up in PATH here, once.
//
// The environment is empty unless [WithEnv] adds to it; standard input is
// empty. Standard output and error are read together and their last 4 KiB
// ([WithOutputCap]) are quoted in the error of a failed check, an
// [*ExecError].
//
// Nothing the program starts outlives the check. On Unix the program leads
// a process group of its own, and the whole group is killed with SIGKILL
// when the check's context ends, at once, and when the program exits,
// whether it passed or not: a script that runs "sleep 1000 &" leaves no
// sleep behind. A process that leaves the group (setsid) is beyond reach;
// if it keeps the output open, the check stops reading a second after the
// program exits. Elsewhere only the program itself is killed, at the
// context's end.
func Exec(path string, args []string, opts ...ExecOption) (*ExecChecker, error) {
	var s settings
	s.outputCap = -1
	for _, o := range opts {
		o.applyExec(&s)
	}
	full := path
	if path == "" {
		s.fail("Exec: empty path")
	} else if !strings.Contains(path, "/") {
		p, err := exec.LookPath(path)
		if err != nil {
			s.fail("Exec(%q): %v", path, err)
		}
		full = p
	}
	if err := s.err(); err != nil {
		return nil, err
	}
	c := &ExecChecker{
		cmd: proc.Cmd{
			Path: full, Args: append([]string{path}, args...),
			Env: s.env, Dir: s.dir, OutputCap: s.outputCap,
		},
		timeout: s.timeout, maxLatency: s.maxLatency,
	}
	switch c.cmd.OutputCap {
	case -1:
		c.cmd.OutputCap = proc.DefaultOutputCap
	case 0:
		c.cmd.OutputCap = -1 // keep none
	}
	for _, e := range c.cmd.Env {
		if k, v, _ := strings.Cut(e, "="); v != "" && secretName(k) {
			c.secretEnv = append(c.secretEnv, v)
		}
	}
	return c, nil
}

// secretName reports whether an environment variable's name says that its
// value is a credential (DB_PASSWORD, API_TOKEN, AWS_SECRET_ACCESS_KEY ...).
func secretName(key string) bool {
	k := strings.ToUpper(key)
	for _, w := range []string{"PASS", "SECRET", "TOKEN", "KEY", "AUTH", "CRED", "PRIVATE", "SESSION", "COOKIE"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// MustExec is like [Exec] but panics on an invalid path or option.
func MustExec(path string, args []string, opts ...ExecOption) *ExecChecker {
	c, err := Exec(path, args, opts...)
	if err != nil {
		panic(err)
	}
	return c
}

// String returns "exec" and the program, without its arguments or
// environment, which may hold secrets.
func (c ExecChecker) String() string { return "exec " + c.cmd.Path }

// GoString is String, so that %#v prints no argument or environment either.
func (c ExecChecker) GoString() string { return c.String() }

// Format prints String for every verb, also for the struct itself.
func (c ExecChecker) Format(f fmt.State, verb rune) { redact.Format(f, verb, c.String()) }

// Check runs the program once. It is safe for concurrent use.
func (c *ExecChecker) Check(ctx context.Context) error {
	ctx, cancel, b := bound(ctx, c.timeout)
	defer cancel()
	err := c.cmd.Run(ctx)
	took := time.Since(b.start)
	if err != nil {
		var xe *ExecError
		if errors.As(err, &xe) {
			if e := b.ctxErr(ctx, ""); e != nil && xe.Killed {
				xe.Err = e // "timeout after 2s", or the cancellation's cause
			}
			if len(c.secretEnv) > 0 && xe.Output != "" {
				var sec redact.Secrets
				sec.Add(c.secretEnv...)
				xe.Output = sec.Scrub(xe.Output)
			}
		}
		return err
	}
	return b.latencyErr(took, c.maxLatency)
}

var (
	_ Checker      = (*ExecChecker)(nil)
	_ ExecOption   = Option(nil)
	_ fmt.Stringer = (*ExecChecker)(nil)
)
