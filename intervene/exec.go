package intervene

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// waitDelay bounds how long Remediate waits, after the program is gone, for
// processes it left behind to close its output.
const waitDelay = 2 * time.Second

// ExecRemediator runs a program to repair a monitor's target. Create it
// with [Exec].
type ExecRemediator struct {
	path string
	args []string
	cfg  *config
}

// Exec returns a remediator that runs the program at path with args, directly
// (no shell is involved: args reach the program exactly as given). A path
// without a slash is looked up in this process's PATH.
//
// The program's environment is explicit: it holds only the variables given
// by [WithEnv] and [WithInheritEnv], and these, describing the incident:
//
//	CPRA_MONITOR      the monitor's name
//	CPRA_ATTEMPT      the attempt number, from 1
//	CPRA_ERROR        the last check error ("" if none)
//	CPRA_SINCE        the episode's start, RFC 3339 ("" if unknown)
//	CPRA_FAILURES     consecutive failed checks
//	CPRA_LABEL_<KEY>  one per label; KEY is the label's key in upper case
//	                  with every character other than A-Z and 0-9 as "_"
//	                  (when two keys map to one name, the greater key wins)
//
// The program runs in a process group of its own (on unix). When ctx is
// done before it exits, the whole group, children and grandchildren
// included, is killed with SIGKILL. A zero exit status is success; anything
// else is an [*ExecError] carrying the exit code and the first and last
// bytes of the combined stdout and stderr ([WithOutputLimit]).
//
// Options: [WithEnv], [WithInheritEnv], [WithDir], [WithOutputLimit].
func Exec(path string, args []string, opts ...Option) (*ExecRemediator, error) {
	if path == "" || strings.ContainsRune(path, 0) {
		return nil, errorf("Exec: empty path")
	}
	for _, a := range args {
		if strings.ContainsRune(a, 0) {
			return nil, errorf("Exec: argument with a NUL byte")
		}
	}
	cfg, err := newConfig(kindExec, opts)
	if err != nil {
		return nil, err
	}
	return &ExecRemediator{path: path, args: append([]string(nil), args...), cfg: cfg}, nil
}

// ExecError reports a program run by [Exec] that failed.
type ExecError struct {
	// Path is the program.
	Path string
	// ExitCode is the program's exit status, or -1 when it did not exit
	// normally (killed, or not started).
	ExitCode int
	// Killed reports that the program was killed because its context was
	// done; Err is then the context's error.
	Killed bool
	// Output is the start and the end of what the program wrote to stdout
	// and stderr, with a marker where bytes were dropped.
	Output string
	// Err is the cause: an [*exec.ExitError], the error that kept the
	// program from starting, or the context's error.
	Err error
}

// Error describes the failure and quotes the output.
func (e *ExecError) Error() string {
	var b strings.Builder
	b.WriteString("intervene: exec ")
	b.WriteString(e.Path)
	switch {
	case e.Killed:
		fmt.Fprintf(&b, ": killed: %v", e.Err)
	case e.Err != nil:
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Output != "" {
		b.WriteString(": output: ")
		b.WriteString(strconv.Quote(e.Output))
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *ExecError) Unwrap() error { return e.Err }

// Remediate runs the program once for inc and waits for it.
func (e *ExecRemediator) Remediate(ctx context.Context, inc Incident) error {
	if err := ctx.Err(); err != nil {
		return &ExecError{Path: e.path, ExitCode: -1, Killed: true, Err: err}
	}
	out := newCapture(e.cfg.outputLimit)
	cmd := exec.CommandContext(ctx, e.path, e.args...)
	cmd.Env = e.environ(inc)
	cmd.Dir = e.cfg.dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = waitDelay
	ownProcessGroup(cmd)

	err := cmd.Run()
	if err == nil || (errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success()) {
		// Exit status 0. A process the program left running kept its output
		// open past waitDelay: that does not undo the repair.
		return nil
	}
	xe := &ExecError{Path: e.path, ExitCode: -1, Output: out.String(), Err: err}
	if cmd.ProcessState != nil {
		xe.ExitCode = cmd.ProcessState.ExitCode()
	}
	if ctxErr := ctx.Err(); ctxErr != nil && cmd.Process != nil {
		xe.Killed = true
		xe.Err = ctxErr
	}
	return xe
}

// environ builds the program's environment: the configured variables, then
// the incident's.
func (e *ExecRemediator) environ(inc Incident) []string {
	env := make([]string, 0, len(e.cfg.env)+5+len(inc.Labels))
	env = append(env, e.cfg.env...)
	var errText, since string
	if inc.Err != nil {
		errText = inc.Err.Error()
	}
	if !inc.Since.IsZero() {
		since = inc.Since.UTC().Format(time.RFC3339Nano)
	}
	env = append(env,
		"CPRA_MONITOR="+envValue(inc.Monitor),
		"CPRA_ATTEMPT="+strconv.Itoa(inc.Attempt),
		"CPRA_ERROR="+envValue(errText),
		"CPRA_SINCE="+since,
		"CPRA_FAILURES="+strconv.Itoa(inc.Failures),
	)
	keys := make([]string, 0, len(inc.Labels))
	for k := range inc.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// exec keeps the last of duplicate names: the greater key wins.
		env = append(env, "CPRA_LABEL_"+labelEnvKey(k)+"="+envValue(inc.Labels[k]))
	}
	return env
}

// labelEnvKey turns a label key into the tail of a variable name.
func labelEnvKey(k string) string {
	b := []byte(strings.ToUpper(k))
	for i, c := range b {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// envValue drops the NUL bytes a variable cannot hold.
func envValue(s string) string { return strings.ReplaceAll(s, "\x00", "") }

// String describes the remediator (without its arguments, which may hold
// secrets).
func (e *ExecRemediator) String() string { return "intervene.Exec(" + e.path + ")" }

// capture keeps the first and the last bytes written to it.
type capture struct {
	mu      sync.Mutex
	headCap int
	tailCap int
	head    []byte
	tail    []byte // the last bytes past head, at most tailCap
	total   int64
}

func newCapture(limit int) *capture {
	return &capture{headCap: limit / 2, tailCap: limit - limit/2}
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	c.total += int64(n)
	if room := c.headCap - len(c.head); room > 0 {
		k := min(room, len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	if len(p) >= c.tailCap {
		c.tail = append(c.tail[:0], p[len(p)-c.tailCap:]...)
	} else if len(p) > 0 {
		if over := len(c.tail) + len(p) - c.tailCap; over > 0 {
			c.tail = append(c.tail[:0], c.tail[over:]...)
		}
		c.tail = append(c.tail, p...)
	}
	return n, nil
}

// String returns the kept bytes, with a marker where some were dropped.
func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := int64(len(c.head) + len(c.tail))
	if kept == c.total {
		return strings.ToValidUTF8(string(c.head)+string(c.tail), "\uFFFD")
	}
	return strings.ToValidUTF8(string(c.head), "\uFFFD") +
		fmt.Sprintf("\n[... %d bytes dropped ...]\n", c.total-kept) +
		strings.ToValidUTF8(string(c.tail), "\uFFFD")
}

var _ Remediator = (*ExecRemediator)(nil)
