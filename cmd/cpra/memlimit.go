package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// The Go runtime keeps the heap under twice what is live, and knows nothing
// of a container's memory limit: a process near its limit is killed before
// the collector runs. So the command, by default, gives the runtime a soft
// limit (runtime/debug.SetMemoryLimit) of memoryShare of the limit of the
// cgroup it runs in, if it has one and GOMEMLIMIT is not set: near the
// limit, the collector runs more often instead. --memory.limit sets another
// limit, or none. The rest of the cgroup's limit holds the program's file
// pages, which the runtime does not count. Nor does it count the arrays the
// engine keeps outside the heap (cpra.OffHeapBytes: about 71 bytes a
// monitor, and 48 more for each failing one), so while the command runs,
// the runtime's limit is the limit set less those bytes (followOffHeap).
const memoryShare = 0.9

// cgroupRoot is where the cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// memoryLimit is the --memory.limit flag: "auto", "off", or a size.
type memoryLimit struct {
	auto  bool
	bytes int64 // with !auto: the limit; 0 for none
}

func (m *memoryLimit) String() string {
	switch {
	case m == nil || m.auto:
		return "auto"
	case m.bytes == 0:
		return "off"
	}
	return strconv.FormatInt(m.bytes, 10)
}

func (m *memoryLimit) Set(s string) error {
	switch s {
	case "auto":
		*m = memoryLimit{auto: true}
		return nil
	case "off", "0":
		*m = memoryLimit{}
		return nil
	}
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*m = memoryLimit{bytes: n}
	return nil
}

// parseBytes reads a size as GOMEMLIMIT writes it: a count of bytes with
// an optional unit B, KiB, MiB, GiB or TiB.
func parseBytes(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not auto, off or a size such as 300MiB", s)
	}
	return n * mult, nil
}

// apply sets the runtime's memory limit as m says and returns the limit set
// (0 for none) and where it came from, for the log; restore puts back the
// limit before.
func (m memoryLimit) apply(getenv func(string) string, cgroup func() (int64, bool)) (limit int64, from string, restore func()) {
	keep := func() {}
	switch {
	case !m.auto && m.bytes > 0:
		limit, from = m.bytes, "--memory.limit"
	case !m.auto:
		limit, from = math.MaxInt64, "--memory.limit"
	case getenv("GOMEMLIMIT") != "":
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT", keep
	default:
		cg, ok := cgroup()
		if !ok {
			return 0, "", keep
		}
		limit, from = int64(float64(cg)*memoryShare), fmt.Sprintf("%d%% of the cgroup's %d bytes", int(memoryShare*100), cg)
	}
	prev := debug.SetMemoryLimit(limit)
	if limit == math.MaxInt64 {
		limit = 0
	}
	return limit, from, func() { debug.SetMemoryLimit(prev) }
}

// followOffHeap keeps the runtime's memory limit at limit less the bytes
// that off says are held outside the heap, which the runtime does not
// count, so that the heap and those arrays together stay within limit. It
// reads off at once and at every tick, and sets the limit again when they
// changed by a MiB or more; the runtime's limit never goes below half of
// limit. stop ends it and waits for it.
func followOffHeap(limit int64, ticks <-chan time.Time, off func() int64) (stop func()) {
	set := func(o int64) { debug.SetMemoryLimit(max(limit-o, limit/2)) }
	last := off()
	set(last)
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		for {
			select {
			case <-done:
				return
			case <-ticks:
			}
			if o := off(); o-last >= 1<<20 || last-o >= 1<<20 {
				set(o)
				last = o
			}
		}
	}()
	return func() {
		close(done)
		<-ended
	}
}

// processCgroupLimit returns the memory limit of the cgroup this process
// runs in.
func processCgroupLimit() (int64, bool) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	return cgroupLimit(self, cgroupRoot)
}

// cgroupLimit returns the lowest memory limit of the cgroup that
// procSelfCgroup (the contents of /proc/self/cgroup) names and of its
// ancestors, read from the cgroup file systems under root: cgroup v2's
// memory.max, or v1's memory.limit_in_bytes in the memory hierarchy. In a
// container that has its own cgroup namespace, the path is "/" and the
// limit is the container's.
func cgroupLimit(procSelfCgroup []byte, root string) (int64, bool) {
	var best int64
	found := false
	consider := func(file string) {
		data, err := os.ReadFile(file)
		if err != nil {
			return
		}
		v := strings.TrimSpace(string(data))
		n, err := strconv.ParseInt(v, 10, 64)
		if v == "max" || err != nil || n <= 0 || n >= 1<<62 { // v1 writes its "none" as a number near 2^63
			return
		}
		if !found || n < best {
			best, found = n, true
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(procSelfCgroup))
	for sc.Scan() {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
			continue
		}
		var dir, file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, file = root, "memory.max"
		case hasController(parts[1], "memory"):
			dir, file = filepath.Join(root, "memory"), "memory.limit_in_bytes"
		default:
			continue
		}
		for p := path.Clean(parts[2]); ; p = path.Dir(p) {
			consider(filepath.Join(dir, filepath.FromSlash(p), file))
			if p == "/" {
				break
			}
		}
	}
	return best, found
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}
