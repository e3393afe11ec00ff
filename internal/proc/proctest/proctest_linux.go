//go:build linux

package proctest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// MarkKey is the name of the environment variable [Mark] sets.
const MarkKey = "CPRA_PROCTEST_MARK"

var seq atomic.Uint64

// Mark returns a "KEY=value" environment entry no other test uses. It
// registers a cleanup that kills every process still carrying it when the
// test ends, so that a failing test leaves nothing behind.
func Mark(t testing.TB) string {
	t.Helper()
	m := fmt.Sprintf("%s=%d-%d-%d", MarkKey, os.Getpid(), time.Now().UnixNano(), seq.Add(1))
	t.Cleanup(func() {
		for _, pid := range Find(t, m) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return m
}

// Find returns the live processes (not zombies) whose environment holds
// mark and, if argv is given, whose command line is exactly argv.
func Find(t testing.TB, mark string, argv ...string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("reading /proc: %v", err)
	}
	var want []byte
	for _, a := range argv {
		want = append(append(want, a...), 0)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		env, err := os.ReadFile(filepath.Join(dir, "environ"))
		if err != nil || !hasEntry(env, mark) {
			continue // gone, someone else's, or unmarked
		}
		if len(argv) > 0 {
			cmd, err := os.ReadFile(filepath.Join(dir, "cmdline"))
			if err != nil || !bytes.Equal(cmd, want) {
				continue
			}
		}
		if live(dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// WaitGone waits up to limit for the processes Find reports to be gone and
// returns those still there. A process sent SIGKILL dies a moment later,
// not during the kill call, hence the wait.
func WaitGone(t testing.TB, limit time.Duration, mark string, argv ...string) []int {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		pids := Find(t, mark, argv...)
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitFor waits up to limit for n processes Find reports and returns them
// (fewer if the limit passed).
func WaitFor(t testing.TB, limit time.Duration, n int, mark string, argv ...string) []int {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		pids := Find(t, mark, argv...)
		if len(pids) >= n || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hasEntry reports whether the NUL-separated env holds entry exactly.
func hasEntry(env []byte, entry string) bool {
	for len(env) > 0 {
		e, rest, _ := bytes.Cut(env, []byte{0})
		if string(e) == entry {
			return true
		}
		env = rest
	}
	return false
}

// live reports whether the process in dir is neither a zombie nor dead.
func live(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	s := b[i+2]
	return s != 'Z' && s != 'X' && s != 'x'
}

// Sleep1001 is the argv of the process the tests start in the background
// and look for afterwards.
var Sleep1001 = []string{"sleep", "1001"}

// UntilSleeping, in a script right after "sleep 1001 &", waits until that
// process runs sleep, so that the script does not end before its child
// exists.
const UntilSleeping = `until [ "$(tr '\0' ' ' </proc/$!/cmdline 2>/dev/null)" = "sleep 1001 " ]; do sleep 0.01; done; `
