package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"time"

	"fmt"
	"github.com/ziad/cpra"
	"github.com/ziad/cpra/config"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// monitorsYAML writes a monitors file of HTTP monitors of base, by name and
// interval.
func monitorsYAML(base string, mons ...[2]string) string {
	var b strings.Builder
	b.WriteString("monitors:\n")
	for _, m := range mons {
		fmt.Fprintf(&b, "  - name: %s\n    pulse_check:\n      type: http\n      interval: %s\n      config:\n        url: %s/svc/0\n", m[0], m[1], base)
	}
	return b.String()
}

func TestReload(t *testing.T) {
	mockOut, _, stopMock := started(t, "mock", "--count", "1", "--fail-rate", "0")
	base := waitFor(t, mockOut, baseURL)
	path := filepath.Join(t.TempDir(), "m.yaml")
	write := func(text string) {
		t.Helper()
		tmp := path + ".new"
		if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(monitorsYAML(base, [2]string{"a", "100ms"}, [2]string{"b", "100ms"}, [2]string{"c", "100ms"}))

	_, stderr, stop := started(t, "--yaml", path)
	waitFor(t, stderr, regexp.MustCompile(`msg="monitors added" monitors=3`))
	hup := func() {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}

	// a removed, b changed, c unchanged, d added.
	write(monitorsYAML(base, [2]string{"b", "200ms"}, [2]string{"c", "100ms"}, [2]string{"d", "100ms"}))
	hup()
	waitFor(t, stderr, regexp.MustCompile(`msg=reloaded .*added=1 changed=1 removed=1 unchanged=1 failed=0 monitors=3`))

	// A file that does not load changes nothing.
	write("monitors:\n  - name: x\n    pulse_check:\n      type: nope\n")
	hup()
	waitFor(t, stderr, regexp.MustCompile(`msg="reload failed; the running monitors are unchanged"`))
	if !strings.Contains(stderr.String(), `msg=reload problem="monitors[0] \"x\": pulse_check.type`) {
		t.Errorf("problem not logged:\n%s", stderr.String())
	}

	// Disabling a monitor removes it.
	write(monitorsYAML(base, [2]string{"b", "200ms"}, [2]string{"c", "100ms"}) +
		"  - name: d\n    enabled: false\n    pulse_check:\n      type: http\n      config:\n        url: " + base + "/svc/0\n")
	hup()
	waitFor(t, stderr, regexp.MustCompile(`msg=reloaded .*added=0 changed=0 removed=1 unchanged=2 failed=0 monitors=2`))

	if code := stop(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	stopMock()
}

func TestReloaderKeepsUnchanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.yaml")
	base := "http://127.0.0.1:9"
	if err := os.WriteFile(path, []byte(monitorsYAML(base, [2]string{"a", "1h"}, [2]string{"b", "1h"})), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	ids, err := f.AddTo(e)
	if err != nil {
		t.Fatal(err)
	}
	r := newReloader(path, e, io.Discard, slog.New(slog.DiscardHandler))
	defer r.close()
	r.adopt(f, ids)

	if err := os.WriteFile(path, []byte(monitorsYAML(base, [2]string{"a", "1h"}, [2]string{"b", "2h"})), 0o644); err != nil {
		t.Fatal(err)
	}
	before := maps.Clone(r.mons)
	r.reload()
	if got, want := r.mons["a"].id, before["a"].id; got != want {
		t.Errorf("unchanged a: id %v, want %v", got, want)
	}
	if got, old := r.mons["b"].id, before["b"].id; got == old {
		t.Errorf("changed b kept id %v", got)
	}
	if _, err := e.Status(before["b"].id); !errors.Is(err, cpra.ErrNotFound) {
		t.Errorf("old b: %v, want ErrNotFound", err)
	}
	st, err := e.Status(r.mons["b"].id)
	if err != nil || st.Interval != 2*time.Hour {
		t.Errorf("new b: interval %v, err %v; want 2h", st.Interval, err)
	}
	if len(r.refs) != 2 {
		t.Errorf("%d files held, want 2 (a from the first, b from the second)", len(r.refs))
	}
}
