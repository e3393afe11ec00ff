package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileChecks: with WithFileChecks, programs that are missing or not
// executable and log files in missing directories are errors at their
// line; without it they load (and would fail when run).
func TestFileChecks(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "fix.sh")
	plain := filepath.Join(dir, "notes.txt")
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{script, 0o755}, {plain, 0o644}} {
		if err := os.WriteFile(p.path, []byte("#!/bin/sh\nexit 0\n"), p.mode); err != nil {
			t.Fatal(err)
		}
	}
	text := strings.NewReplacer("DIR", dir).Replace(`monitors:
  - name: ok
    pulse_check:
      type: exec
      config: {path: ./fix.sh, dir: DIR}
    intervention:
      type: script
      config: {script: DIR/fix.sh}
    codes: {red: {notify: log, config: {file: DIR/alerts.log}}}
  - name: missing
    pulse_check:
      type: exec
      config: {command: DIR/nothing.sh}
    intervention:
      type: script
      config: {script: DIR/gone.sh}
  - name: not-executable
    pulse_check:
      type: exec
      config: {path: true}
    intervention:
      type: script
      config: {script: ./notes.txt, dir: DIR}
  - name: log-nowhere
    pulse_check:
      type: exec
      config: {path: DIR}
    codes: {red: {notify: log, config: {file: DIR/no/such/dir/alerts.log}}}
`)
	want := strings.NewReplacer("DIR", dir).Replace(`monitors[1] "missing": pulse_check.config.command: DIR/nothing.sh does not exist (line 13)
monitors[1] "missing": intervention.config.script: DIR/gone.sh does not exist (line 16)
monitors[2] "not-executable": intervention.config.script: DIR/notes.txt is not executable (line 23)
monitors[3] "log-nowhere": pulse_check.config.path: DIR is a directory, not a program (line 27)
monitors[3] "log-nowhere": codes.red.config.file: the directory DIR/no/such/dir does not exist (line 28)`)
	_, err := load(t, text, WithFileChecks())
	if got := errorText(err); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := load(t, text); err != nil {
		t.Errorf("without file checks: %v", err)
	}
}

// TestStrictDependencies: a parent the file does not hold is a warning,
// or with WithStrictDependencies an error.
func TestStrictDependencies(t *testing.T) {
	text := "monitors:\n  - name: a\n    depends_on: [b, c]\n    pulse_check: {type: tcp, config: {address: \"127.0.0.1:1\"}}\n" +
		"  - name: b\n    enabled: false\n    pulse_check: {type: tcp, config: {address: \"127.0.0.1:1\"}}\n"
	f := mustLoad(t, text)
	want := `monitors[0] "a": depends_on: "b" is disabled: this monitor waits for a monitor of that name to be added (line 3)` + "\n" +
		`monitors[0] "a": depends_on: no monitor "c" in the file: this monitor waits for a monitor of that name to be added (line 3)`
	if got := f.Warnings.Error(); got != want {
		t.Errorf("warnings:\n%s\nwant\n%s", got, want)
	}
	_, err := load(t, text, WithStrictDependencies())
	if got, want := errorText(err), `monitors[0] "a": depends_on: no monitor "c" in the file (line 3)`; got != want {
		t.Errorf("strict: got %q, want %q", got, want)
	}
}

// TestTimeoutLongerThanInterval is a warning, named where the timeout is
// set; one of the defaults block is told once for each interval it meets.
func TestTimeoutLongerThanInterval(t *testing.T) {
	f := mustLoad(t, `defaults:
  pulse_check: {timeout: 40s}
monitors:
  - name: a
    pulse_check: {type: tcp, interval: 20s, timeout: 1m, config: {address: "127.0.0.1:1"}}
  - name: b
    pulse_check: {type: tcp, interval: 20s, config: {address: "127.0.0.1:1"}}
  - name: c
    pulse_check: {type: tcp, interval: 20s, config: {address: "127.0.0.1:1"}}
  - name: d
    pulse_check: {type: tcp, config: {address: "127.0.0.1:1"}}
`)
	// c has the same interval as b: its warning is b's.
	want := `monitors[1] "b": defaults.pulse_check.timeout: 40s is longer than the interval 20s, the time between checks (line 2)` + "\n" +
		`monitors[3] "d": defaults.pulse_check.timeout: 40s is longer than the interval 30s, the time between checks (line 2)` + "\n" +
		`monitors[0] "a": pulse_check.timeout: 1m0s is longer than the interval 20s, the time between checks (line 5)`
	if got := f.Warnings.Error(); got != want {
		t.Errorf("warnings:\n%s\nwant\n%s", got, want)
	}
}
