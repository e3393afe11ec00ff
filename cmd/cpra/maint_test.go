package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/config"
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

// TestReloadMaintenance reloads a file whose maintenance list changes, on a
// running engine: the old maintenances are removed, the new ones added, and
// a monitor inside a window both files hold stays inside it (one gray).
func TestReloadMaintenance(t *testing.T) {
	dir := t.TempDir()
	path, grays := filepath.Join(dir, "m.yaml"), filepath.Join(dir, "grays.log")
	maintFile(t, path, grays, "core")
	f, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	r := newReloader(path, e, io.Discard, slog.New(slog.DiscardHandler))
	defer r.close()
	defer e.Shutdown(context.Background())
	// Started first, so that entering the window sends gray (before Start
	// it is only recorded).
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	mids, err := f.AddMaintenanceTo(e)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := f.AddMonitorsTo(e)
	if err != nil {
		t.Fatal(err)
	}
	r.adopt(f, ids)
	r.adoptMaintenance(mids)
	inside := func(name string) bool {
		t.Helper()
		st, err := e.Status(r.mons[name].id)
		if err != nil {
			t.Fatal(err)
		}
		return st.Maintenance
	}
	grayCount := func(name string) int {
		b, _ := os.ReadFile(grays)
		return strings.Count(string(b), `"monitor":"`+name+`","code":"gray"`)
	}
	poll(t, 5*time.Second, func() (bool, string) {
		return grayCount("a") == 1, fmt.Sprintf("%d grays for a", grayCount("a"))
	})
	if !inside("a") || inside("b") {
		t.Fatalf("in maintenance: a %v, b %v; want a only", inside("a"), inside("b"))
	}

	// The same window over core, and one over edge.
	old := r.maints
	maintFile(t, path, grays, "core", "edge")
	r.reload()
	if len(r.maints) != 2 || r.maints[0] == old[0] {
		t.Fatalf("maintenance IDs %v after %v, want two new ones", r.maints, old)
	}
	if err := e.RemoveMaintenance(old[0]); !errors.Is(err, cpra.ErrNotFound) {
		t.Errorf("the old maintenance: %v, want ErrNotFound (removed)", err)
	}
	if !inside("a") || !inside("b") {
		t.Errorf("in maintenance: a %v, b %v; want both", inside("a"), inside("b"))
	}
	poll(t, 5*time.Second, func() (bool, string) {
		return grayCount("b") == 1, fmt.Sprintf("%d grays for b", grayCount("b"))
	})
	time.Sleep(100 * time.Millisecond) // a second gray for a would have come by now
	if n := grayCount("a"); n != 1 {
		t.Errorf("%d grays for a, want 1: it stayed inside across the reload", n)
	}

	// A file that does not load keeps the maintenances.
	kept := append([]cpra.MaintenanceID(nil), r.maints...)
	if err := os.WriteFile(path, []byte("monitors: []\nmaintenance: [{selector: {}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.reload()
	if fmt.Sprint(r.maints) != fmt.Sprint(kept) || !inside("a") {
		t.Errorf("after a bad file: maintenance IDs %v, want %v", r.maints, kept)
	}

	// No maintenance list: both leave.
	maintFile(t, path, grays)
	r.reload()
	if len(r.maints) != 0 || inside("a") || inside("b") {
		t.Errorf("maintenance IDs %v, in maintenance a %v, b %v; want none", r.maints, inside("a"), inside("b"))
	}
	for _, id := range kept {
		if err := e.RemoveMaintenance(id); !errors.Is(err, cpra.ErrNotFound) {
			t.Errorf("maintenance %v: %v, want ErrNotFound (removed)", id, err)
		}
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
