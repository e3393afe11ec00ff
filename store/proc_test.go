//go:build unix

package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// startChild starts a copy of the test binary in role on the store at path.
func startChild(t *testing.T, role, path string) (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, childArg+"="+path)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, in, bufio.NewScanner(out)
}

func TestLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	cmd, in, out := startChild(t, "hold", path)
	defer func() {
		in.Close()
		cmd.Wait()
	}()
	if !out.Scan() || out.Text() != "ready" {
		t.Fatalf("child: got %q, want ready", out.Text())
	}

	const wait = 300 * time.Millisecond
	for name, call := range map[string]func() error{
		"Open":  func() error { f, err := Open(path, LockTimeout(wait)); closeIf(f); return err },
		"Reset": func() error { _, err := Reset(path, LockTimeout(wait)); return err },
	} {
		start := time.Now()
		err := call()
		took := time.Since(start)
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("%s: got %v, want ErrLocked", name, err)
		}
		want := fmt.Sprintf("store: %s: locked by another process (waited %v)", path, wait)
		if err.Error() != want {
			t.Errorf("%s: got %q, want %q", name, err, want)
		}
		// Bounded: it waited, and gave up (generous bound for a busy machine).
		if took < wait || took > wait+10*time.Second {
			t.Errorf("%s: gave up after %v, want about %v", name, took, wait)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Reset moved a file in use: %v", err)
	}

	in.Close() // the child closes the store and exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	f, err := Open(path, LockTimeout(wait))
	if err != nil {
		t.Fatalf("Open once the child let go: %v", err)
	}
	f.Close()
}

func closeIf(f *File) {
	if f != nil {
		f.Close()
	}
}

// TestKilledMidWrite kills a process writing batches at random moments and
// checks after each kill that the file opens, holds together, and holds
// every batch that was reported written, whole: each batch sets all keys to
// its number, so the keys must agree, on the last batch reported or the one
// after it (written, but killed before reporting).
func TestKilledMidWrite(t *testing.T) {
	kills := 20
	if testing.Short() {
		kills = 5
	}
	path := filepath.Join(t.TempDir(), "state")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	last := int64(-1)
	for k := range kills {
		cmd, in, out := startChild(t, "writer", path)
		var reported atomic.Int64
		reported.Store(last)
		done := make(chan struct{})
		var childErr string
		go func() {
			defer close(done)
			for out.Scan() {
				line := out.Text()
				n, err := strconv.ParseInt(line, 10, 64)
				if err != nil {
					childErr = line
					continue
				}
				reported.Store(n)
			}
		}()
		// Let it write a few batches at least, then kill it at a random moment.
		deadline := time.Now().Add(30 * time.Second)
		for reported.Load() < last+3 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(r.IntN(50)) * time.Millisecond)
		cmd.Process.Kill()
		<-done
		cmd.Wait()
		in.Close()
		if childErr != "" {
			t.Fatalf("kill %d: child: %s", k, childErr)
		}
		got := reported.Load()
		if got < last+3 {
			t.Fatalf("kill %d: the child wrote no batch in 30 s", k)
		}

		f, err := Open(path)
		if err != nil {
			t.Fatalf("kill %d: Open after the kill: %v", k, err)
		}
		values := map[string]int{}
		n, data := 0, int64(0)
		if err := f.Load(func(k, v []byte) error {
			values[string(v)]++
			n++
			data += int64(elemSize + len(k) + len(v))
			return nil
		}); err != nil {
			t.Fatalf("kill %d: Load: %v", k, err)
		}
		if st, _ := f.Stats(); st.Records != int64(n) || st.Data != data {
			t.Errorf("kill %d: Stats says %d records of %d bytes, Load gave %d of %d", k, st.Records, st.Data, n, data)
		}
		f.Close()
		if len(values) != 1 || n != crashKeys {
			t.Fatalf("kill %d: %d records of %d values, want %d of one (a batch torn apart)", k, n, len(values), crashKeys)
		}
		for v := range values {
			stored, _ := strconv.ParseInt(v, 10, 64)
			if stored != got && stored != got+1 {
				t.Fatalf("kill %d: stored batch %d, reported %d: want it or the next", k, stored, got)
			}
			last = stored
		}
	}
	t.Logf("%d kills, %d batches", kills, last+1)
}

// TestTruncatedWhileOpen cuts the file short under an open store: reading
// the missing pages faults, and Load reports it instead of crashing.
func TestTruncatedWhileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	f := mustOpen(t, path)
	fill(t, f, 0, 5000, 1000, 1)
	cut := int64(4 * os.Getpagesize())
	if err := os.Truncate(path, cut); err != nil {
		t.Fatal(err)
	}
	err := f.Load(func(k, v []byte) error { return nil })
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("Load: got %v, want a *CorruptError", err)
	}
	if ce.Path != path || ce.Offset < cut {
		t.Errorf("got path %s offset %d, want %s and an offset past %d", ce.Path, ce.Offset, path, cut)
	}
	t.Log(err)
	if !strings.Contains(err.Error(), path) {
		t.Errorf("%q does not name the file", err)
	}
}
