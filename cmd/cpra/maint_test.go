package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// maintFile writes a monitors file of monitors a (label team: core) and b
// (team: edge), which check a closed port once an hour and log their gray
// alerts to grays, followed by the top-level maintenance list of the
// selectors given, each with a window open from an hour ago for two hours.
func maintFile(t *testing.T, path, grays string, selectors ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("monitors:\n")
	for _, m := range [][2]string{{"a", "core"}, {"b", "edge"}} {
		fmt.Fprintf(&b, "  - name: %s\n    labels: {team: %s}\n    pulse_check: {type: tcp, interval: 1h, config: {address: \"127.0.0.1:1\"}}\n"+
			"    codes: {gray: {notify: log, config: {file: %q}}}\n", m[0], m[1], grays)
	}
	if len(selectors) > 0 {
		start := time.Now().Add(-time.Hour).UTC().Truncate(time.Hour).Format(time.RFC3339)
		b.WriteString("maintenance:\n")
		for _, sel := range selectors {
			fmt.Fprintf(&b, "  - selector: {team: %s}\n    windows: [{start: %s, duration: 3h}]\n", sel, start)
		}
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestReloadMaintenanceSignal runs a file with a maintenance list and
// reloads it on SIGHUP, as TestReload does for monitors.
func TestReloadMaintenanceSignal(t *testing.T) {
	dir := t.TempDir()
	path, grays := filepath.Join(dir, "m.yaml"), filepath.Join(dir, "grays.log")
	maintFile(t, path, grays, "core")
	settings := writeFile(t, "engine.yaml", "group_by: team\ngroup_wait: 1s\n")
	_, stderr, stop := started(t, "--yaml", path, "--config", settings)
	waitFor(t, stderr, regexp.MustCompile(`msg="monitors added" monitors=2 disabled=0 maintenance=1`))
	hup := func() {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	maintFile(t, path, grays, "core", "edge")
	hup()
	waitFor(t, stderr, regexp.MustCompile(`msg=reloaded .*unchanged=2 failed=0 monitors=2 maintenance=2`))
	maintFile(t, path, grays)
	hup()
	waitFor(t, stderr, regexp.MustCompile(`msg=reloaded .*unchanged=2 failed=0 monitors=2 maintenance=0`))
	if code := stop(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
}

func TestValidateMaintenance(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	maintFile(t, path, filepath.Join(dir, "grays.log"), "core")
	code, stdout, stderr := runSync("--yaml", path, "--validate")
	if code != 0 || stdout != "ok: 2 monitors, 1 maintenance selector\n" {
		t.Errorf("exit %d, stdout %q; stderr:\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "grays.log")); !os.IsNotExist(err) {
		t.Errorf("validation touched the alert log: %v", err)
	}
}

// TestDemoGrouping runs the demo with group_by on its services' pool label:
// alerts of one pool raised together arrive as one line listing them.
func TestDemoGrouping(t *testing.T) {
	settings := writeFile(t, "engine.yaml", "group_by: pool\ngroup_wait: 1s\n")
	var stdout, stderr buffer
	code := run(context.Background(), []string{"--config", settings, "--demo.duration", "4s"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if !regexp.MustCompile(`(?m) pool=\d +(?:[2-9]|\d{2,}) monitors: svc-\d+ svc-\d+`).MatchString(stdout.String()) {
		t.Errorf("no grouped alert; stdout:\n%s", stdout.String())
	}
}
