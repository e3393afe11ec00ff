package pulse

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/ziad/cpra/internal/redact"
)

// defaultOutputCap is how much of a program's output an [Exec] check keeps
// for its error text.
const defaultOutputCap = 4 << 10

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

// WithOutputCap keeps the last n bytes of the program's combined output for
// the error text (default 4 KiB); the rest is read and discarded.
func WithOutputCap(n int) ExecOption {
	return execOption(func(s *settings) {
		if n < 0 || n > 1<<20 {
			s.fail("WithOutputCap(%d): want 0 to 1 MiB", n)
			return
		}
		s.outputCap = n
	})
}

// ExecChecker runs a program; build one with [Exec].
type ExecChecker struct {
	path       string
	args       []string
	env        []string
	secretEnv  []string // values of env entries whose names say they are secret
	dir        string
	outputCap  int
	timeout    time.Duration
	maxLatency time.Duration
}

// Exec returns a checker that runs the program at path with args (argv
// directly, never through a shell) and passes when it exits with status 0.
// A path without a slash is looked up in PATH here, once.
//
// The environment is empty unless [WithEnv] adds to it; standard input is
// empty; standard output and error are captured together, the last 4 KiB
// kept for the error text. The values of variables whose names say they
// are credentials (containing PASS, SECRET, TOKEN, KEY, AUTH, CRED,
// PRIVATE, SESSION or COOKIE) are masked in that text, and the environment
// is never printed with the checker. On Unix the program runs in a process group of
// its own, and at the deadline the whole group is killed, so that children
// it started do not outlive the check; elsewhere only the program is
// killed. A program that exits while processes it started keep its output
// open fails the check, and on Unix those processes are killed a second
// later.
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
		path: full, args: append([]string{path}, args...), env: s.env, dir: s.dir,
		outputCap: s.outputCap, timeout: s.timeout, maxLatency: s.maxLatency,
	}
	if c.outputCap < 0 {
		c.outputCap = defaultOutputCap
	}
	if c.env == nil {
		c.env = []string{}
	}
	for _, e := range c.env {
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

// String returns the command line (not the environment).
func (c ExecChecker) String() string { return "exec " + strings.Join(c.args, " ") }

// GoString is String, so that %#v prints no environment value either.
func (c ExecChecker) GoString() string { return c.String() }

// Format prints String for every verb, also for the struct itself.
func (c ExecChecker) Format(f fmt.State, verb rune) { redact.Format(f, verb, c.String()) }

// Check runs the program once. It is safe for concurrent use.
func (c *ExecChecker) Check(ctx context.Context) error {
	ctx, cancel, b := bound(ctx, c.timeout)
	defer cancel()

	out := &tailBuffer{cap: c.outputCap}
	cmd := exec.CommandContext(ctx, c.path)
	cmd.Args = c.args
	cmd.Env = c.env
	cmd.Dir = c.dir
	cmd.Stdout = out
	cmd.Stderr = out
	killGroupOnCancel(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", c.path, err)
	}
	err := cmd.Wait()
	took := time.Since(b.start)
	if e := b.ctxErr(ctx, "running "+c.args[0]); e != nil {
		return c.withOutput(e, out)
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		// Members of the group still held the output a moment ago, so the
		// group id is still theirs: end them, a check leaves nothing behind.
		killGroup(cmd.Process.Pid)
		return c.withOutput(fmt.Errorf("%s exited, but processes it started kept its output open", c.args[0]), out)
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return c.withOutput(ee, out) // "exit status 3", "signal: killed"
		}
		return c.withOutput(err, out)
	}
	return b.latencyErr(took, c.maxLatency)
}

// execError carries the failure and the captured output.
type execError struct {
	err    error
	output string
}

func (e *execError) Error() string {
	if e.output == "" {
		return e.err.Error()
	}
	return e.err.Error() + ": " + e.output
}

func (e *execError) Unwrap() error { return e.err }

// withOutput adds the kept output to err, scrubbed of the values of
// secret environment variables, which a program may print.
func (c *ExecChecker) withOutput(err error, out *tailBuffer) error {
	text := out.String()
	if len(c.secretEnv) > 0 {
		var sec redact.Secrets
		sec.Add(c.secretEnv...)
		text = sec.Scrub(text)
	}
	return &execError{err: err, output: text}
}

// tailBuffer keeps the last cap bytes written to it. os/exec writes to it
// from one goroutine per stream, so it is written under a lock.
type tailBuffer struct {
	mu      sync.Mutex
	cap     int
	buf     []byte
	dropped int64
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if t.cap == 0 {
		t.dropped += int64(n)
		return n, nil
	}
	if len(p) >= t.cap {
		t.dropped += int64(len(t.buf) + len(p) - t.cap)
		t.buf = append(t.buf[:0], p[len(p)-t.cap:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.cap; over > 0 {
		t.dropped += int64(over)
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns the kept output, trimmed, with a note of what was dropped.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(strings.ToValidUTF8(string(t.buf), "\uFFFD"))
	if t.dropped > 0 {
		return fmt.Sprintf("[%d bytes omitted] %s", t.dropped, s)
	}
	return s
}

var (
	_ Checker    = (*ExecChecker)(nil)
	_ ExecOption = Option(nil)
)
