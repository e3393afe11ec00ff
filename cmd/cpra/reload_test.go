package main

import (
	"fmt"
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
