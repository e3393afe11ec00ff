package intervene

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ziad/cpra/internal/proc"
)

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
// Standard input is empty. A zero exit status is success; anything else is
// an [*ExecError] carrying the exit status or the signal that ended the
// program, and the last 4 KiB ([WithOutputLimit]) of its standard output
// and error, read together.
//
// Nothing the program starts outlives the attempt, by default. On Unix the
// program leads a process group of its own, and the whole group is killed
// with SIGKILL when ctx is done, at once, and when the program exits,
// whether it succeeded or not: a script that runs "sleep 1000 &" leaves no
// sleep behind. A repair that starts a daemon should do it through a
// service manager (systemctl restart, docker restart) or else with setsid
// and its output redirected ("setsid mydaemon >log 2>&1 &");
// [WithLeaveRunning] leaves the group alive after the program exits
// instead. A process that leaves the group (setsid) is beyond reach;
// if it keeps the program's output open, Remediate stops reading it a
// second after the program exits. Elsewhere than on Unix only the program
// itself is killed, when ctx is done.
//
// Options: [WithEnv], [WithInheritEnv], [WithDir], [WithOutputLimit],
// [WithLeaveRunning].
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

// ExecError reports a program run by [Exec] that failed: its exit status or
// the signal that ended it, whether it was killed because ctx was done (Err
// is then ctx's error), and the end of its output. It is the same type as
// pulse.ExecError. Remediate returns it wrapped, with an "intervene: "
// prefix; use [errors.As].
type ExecError = proc.Error

// Remediate runs the program once for inc and waits for it.
func (e *ExecRemediator) Remediate(ctx context.Context, inc Incident) error {
	outputCap := e.cfg.outputLimit
	if outputCap == 0 {
		outputCap = -1 // keep none
	}
	cmd := proc.Cmd{
		Path:         e.path,
		Args:         append([]string{e.path}, e.args...),
		Env:          e.environ(inc),
		Dir:          e.cfg.dir,
		OutputCap:    outputCap,
		LeaveRunning: e.cfg.leaveRunning,
	}
	if err := cmd.Run(ctx); err != nil {
		return fmt.Errorf("intervene: %w", err)
	}
	return nil
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

var _ Remediator = (*ExecRemediator)(nil)
