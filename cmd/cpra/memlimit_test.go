package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// cgroupTree writes the files of a cgroup file system under a temporary
// root: each key is a path under it, each value the file's contents.
func cgroupTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCgroupLimit(t *testing.T) {
	tests := []struct {
		name  string
		self  string
		files map[string]string
		want  int64 // 0: none
	}{
		{"v2 container", "0::/\n", map[string]string{"memory.max": "536870912\n"}, 512 << 20},
		{"v2 no limit", "0::/\n", map[string]string{"memory.max": "max\n"}, 0},
		{"v2 nested, parent lower", "0::/kubepods/pod1/c1\n", map[string]string{
			"kubepods/pod1/c1/memory.max": "max\n",
			"kubepods/pod1/memory.max":    "268435456\n",
			"kubepods/memory.max":         "1073741824\n",
		}, 256 << 20},
		{"v1 container", "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n", map[string]string{
			"memory/docker/abc/memory.limit_in_bytes": "377487360\n",
			"memory/memory.limit_in_bytes":            "9223372036854771712\n",
		}, 360 << 20},
		{"v1 no limit", "4:memory:/\n", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0},
		{"v1 memory among others", "5:cpuset,memory:/x\n", map[string]string{"memory/x/memory.limit_in_bytes": "1048576\n"}, 1 << 20},
		{"no memory controller", "3:cpu:/x\n", map[string]string{"memory/x/memory.limit_in_bytes": "1048576\n"}, 0},
		{"no files", "0::/gone\n", nil, 0},
		{"garbage", "nonsense\n0::relative\n", map[string]string{"memory.max": "12x\n"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cgroupLimit([]byte(tt.self), cgroupTree(t, tt.files))
			if ok != (tt.want != 0) || got != tt.want {
				t.Fatalf("cgroupLimit = %d, %v; want %d", got, ok, tt.want)
			}
		})
	}
}

// The runtime gets 90% of the cgroup's limit, unless GOMEMLIMIT or the
// flag says otherwise; each run puts back the limit it found.
func TestMemoryLimitApply(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	noEnv := func(string) string { return "" }
	cgroup := func() (int64, bool) { return 400 << 20, true }
	none := func() (int64, bool) { return 0, false }

	auto := memoryLimit{auto: true}
	limit, from, restore := auto.apply(noEnv, cgroup)
	if want := int64(0.9 * (400 << 20)); limit != want || debug.SetMemoryLimit(-1) != want {
		t.Errorf("auto in a 400 MiB cgroup: limit %d (runtime %d), want %d", limit, debug.SetMemoryLimit(-1), want)
	}
	if from == "" {
		t.Error("auto: no source for the log")
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Fatalf("restore left %d, want %d", got, before)
	}

	if limit, _, restore := auto.apply(noEnv, none); limit != 0 || debug.SetMemoryLimit(-1) != before {
		t.Errorf("auto with no cgroup limit: limit %d, runtime %d; want none, unchanged", limit, debug.SetMemoryLimit(-1))
	} else {
		restore()
	}

	env := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "300MiB"
		}
		return ""
	}
	if _, from, restore := auto.apply(env, cgroup); from != "GOMEMLIMIT" || debug.SetMemoryLimit(-1) != before {
		t.Errorf("auto with GOMEMLIMIT set: from %q, runtime %d; want GOMEMLIMIT's, unchanged", from, debug.SetMemoryLimit(-1))
	} else {
		restore()
	}

	var set memoryLimit
	if err := set.Set("300MiB"); err != nil {
		t.Fatal(err)
	}
	limit, _, restore = set.apply(env, cgroup)
	if limit != 300<<20 || debug.SetMemoryLimit(-1) != 300<<20 {
		t.Errorf("--memory.limit 300MiB: limit %d, runtime %d", limit, debug.SetMemoryLimit(-1))
	}
	restore()

	if err := set.Set("off"); err != nil {
		t.Fatal(err)
	}
	limit, _, restore = set.apply(noEnv, cgroup)
	if limit != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("--memory.limit off: limit %d, runtime %d, want none", limit, debug.SetMemoryLimit(-1))
	}
	restore()
}

// While the command runs, the runtime's limit leaves room for the arrays
// kept outside the heap: it follows them when they change by a MiB or
// more, never falls below half the limit, and stays as it was once the
// following stops.
func TestFollowOffHeap(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	const limit = 400 << 20
	var off atomic.Int64
	off.Store(10 << 20)
	ticks := make(chan time.Time) // unbuffered: once a second tick is taken, the first is handled
	stop := followOffHeap(limit, ticks, off.Load)
	if got := debug.SetMemoryLimit(-1); got != limit-10<<20 {
		t.Fatalf("at start, 10 MiB outside the heap: runtime limit %d, want %d", got, limit-10<<20)
	}
	for _, c := range []struct{ off, want int64 }{
		{10<<20 + 512<<10, limit - 10<<20}, // less than a MiB more: unchanged
		{40 << 20, limit - 40<<20},
		{300 << 20, limit / 2},
		{0, limit},
	} {
		off.Store(c.off)
		ticks <- time.Time{}
		ticks <- time.Time{}
		if got := debug.SetMemoryLimit(-1); got != c.want {
			t.Errorf("%d bytes outside the heap: runtime limit %d, want %d", c.off, got, c.want)
		}
	}
	stop()
	off.Store(100 << 20)
	select {
	case ticks <- time.Time{}:
		t.Error("a stopped follower took a tick")
	case <-time.After(50 * time.Millisecond):
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("after stop: runtime limit %d, want %d, as it was", got, limit)
	}
}

func TestMemoryLimitFlag(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "512B": 512, "64KiB": 64 << 10, "300MiB": 300 << 20, "2GiB": 2 << 30, "1TiB": 1 << 40} {
		var m memoryLimit
		if err := m.Set(in); err != nil || m.auto || m.bytes != want {
			t.Errorf("Set(%q) = %+v, %v; want %d bytes", in, m, err, want)
		}
	}
	for _, in := range []string{"", "-1", "12MB", "MiB", "1.5GiB", "9999999999TiB", "lots"} {
		var m memoryLimit
		if err := m.Set(in); err == nil {
			t.Errorf("Set(%q) = %+v, want an error", in, m)
		}
	}
	var m memoryLimit
	if m.Set("auto") != nil || !m.auto || m.String() != "auto" {
		t.Errorf("auto: %+v", m)
	}
}

// buildCommand builds the command into a temporary directory and returns
// the binary's path.
func buildCommand(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cpra")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building the command: %v\n%s", err, out)
	}
	return bin
}

// The command run in a real cgroup with a memory limit, as in a container,
// gives the runtime 90% of it; GOMEMLIMIT wins, and --memory.limit off
// sets none. It needs a memory cgroup it can make (root, with cgroup v1's
// memory hierarchy or cgroup v2 mounted read-write).
func TestMemoryLimitInACgroup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command: not in -short")
	}
	var suffix [4]byte
	rand.Read(suffix[:])
	name := "cpra-test-" + hex.EncodeToString(suffix[:])
	var dir, limitFile string
	for _, c := range []struct{ dir, file string }{
		{filepath.Join(cgroupRoot, "memory"), "memory.limit_in_bytes"}, // v1
		{cgroupRoot, "memory.max"},                                     // v2
	} {
		if err := os.Mkdir(filepath.Join(c.dir, name), 0o755); err == nil {
			dir, limitFile = filepath.Join(c.dir, name), c.file
			break
		}
	}
	if dir == "" {
		t.Skip("no memory cgroup can be made here (not root, or no writable cgroup file system)")
	}
	t.Cleanup(func() {
		for range 50 { // the cgroup can be removed once its process is gone
			if err := os.Remove(dir); err == nil || os.IsNotExist(err) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	var limit int64 = 256 << 20
	if err := os.WriteFile(filepath.Join(dir, limitFile), []byte(strconv.FormatInt(limit, 10)), 0o644); err != nil {
		t.Skipf("the cgroup takes no memory limit here: %v", err)
	}
	bin := buildCommand(t)
	run := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command("sh", append([]string{"-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, dir, bin, "--demo.duration", "300ms"}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
		}
		return string(out)
	}
	want := fmt.Sprintf(`msg="memory limit" bytes=%d from="90%% of the cgroup's %d bytes"`, int64(float64(limit)*memoryShare), limit)
	if out := run(nil); !strings.Contains(out, want) {
		t.Errorf("in a cgroup of %d bytes the command logged no %s:\n%s", limit, want, out)
	}
	if out := run([]string{"GOMEMLIMIT=100MiB"}); !strings.Contains(out, fmt.Sprintf(`msg="memory limit" bytes=%d from=GOMEMLIMIT`, 100<<20)) {
		t.Errorf("with GOMEMLIMIT=100MiB in that cgroup, the command did not report GOMEMLIMIT's limit:\n%s", out)
	}
	if out := run(nil, "--memory.limit", "off"); strings.Contains(out, "memory limit") {
		t.Errorf("--memory.limit off: the command set a limit:\n%s", out)
	}
}
