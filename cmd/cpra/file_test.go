package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// progress matches the progress lines of a load.
var progress = regexp.MustCompile(`(?m)^load(ing|ed) .*\n`)

// TestValidateRefusesWhatTheRunRefuses: --validate and a run refuse the
// same files, naming the line: a depends_on naming no monitor, a missing or
// non-executable program, a log file in a missing directory, monitors:
// null.
func TestValidateRefusesWhatTheRunRefuses(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.txt")
	if err := os.WriteFile(plain, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"unknown parent", "monitors:\n  - name: a\n    depends_on: b\n    pulse_check: {type: tcp, config: {address: \"127.0.0.1:9\"}}\n",
			`monitors[0] "a": depends_on: no monitor "b" in the file (line 3)`},
		{"missing script", "monitors:\n  - name: a\n    pulse_check: {type: tcp, config: {address: \"127.0.0.1:9\"}}\n" +
			"    intervention: {type: script, config: {script: " + filepath.Join(dir, "restart.sh") + "}}\n",
			`monitors[0] "a": intervention.config.script: ` + filepath.Join(dir, "restart.sh") + ` does not exist (line 4)`},
		{"not executable", "monitors:\n  - name: a\n    pulse_check: {type: exec, config: {path: " + plain + "}}\n",
			`monitors[0] "a": pulse_check.config.path: ` + plain + ` is not executable (line 3)`},
		{"log directory", "monitors:\n  - name: a\n    pulse_check: {type: tcp, config: {address: \"127.0.0.1:9\"}}\n" +
			"    codes: {red: {notify: log, config: {file: " + filepath.Join(dir, "logs", "alerts.log") + "}}}\n",
			`monitors[0] "a": codes.red.config.file: the directory ` + filepath.Join(dir, "logs") + ` does not exist (line 4)`},
		{"monitors null", "monitors:\n", "monitors: missing: the file has no monitors list (line 1)"},
		{"empty file", "", "monitors: missing: the file has no monitors list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "m.yaml", tc.text)
			// A run tells its progress before the problems.
			for _, args := range [][]string{{"--validate", "--yaml", path}, {"--yaml", path}} {
				code, stdout, stderr := runSync(args...)
				stderr = progress.ReplaceAllString(stderr, "")
				if code != 1 || stdout != "" || stderr != tc.want+"\n" {
					t.Errorf("%v: exit %d, stdout %q, stderr\n%s\nwant exit 1 and\n%s", args, code, stdout, stderr, tc.want)
				}
			}
			// A refused file leaves nothing behind: no state file either.
			if _, err := os.Stat(path + ".state"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("state file after a refused file: %v, want none", err)
			}
		})
	}
}

// TestValidateTellsWhereAlertsGo: --validate says which monitors log on
// standard output for want of codes, which alert nowhere and which send no
// red, and warns of a timeout longer than the interval.
func TestValidateTellsWhereAlertsGo(t *testing.T) {
	path := writeFile(t, "m.yaml", `monitors:
  - name: plain
    pulse_check: {type: tcp, config: {address: "127.0.0.1:9"}}
  - name: quiet
    pulse_check: {type: tcp, interval: 10s, timeout: 20s, config: {address: "127.0.0.1:9"}}
    codes: {red: {dispatch: false, notify: log}, green: {dispatch: false}}
  - name: greens
    pulse_check: {type: tcp, config: {address: "127.0.0.1:9"}}
    codes: {green: {notify: log}}
  - name: plain-too
    pulse_check: {type: tcp, config: {address: "127.0.0.1:9"}}
`)
	code, stdout, stderr := runSync("--validate", "--yaml", path)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	wantOut := "ok: 4 monitors\n2 monitors (plain, plain-too) have no codes: the alerts are logged on standard output\n"
	wantErr := `warning: monitors[1] "quiet": pulse_check.timeout: 20s is longer than the interval 10s, the time between checks (line 5)
warning: 1 monitor (quiet) alerts nowhere: every code of the codes says dispatch: false
warning: 1 monitor (greens) sends no red alert when down: the codes have no red
`
	if stdout != wantOut || stderr != wantErr {
		t.Errorf("stdout\n%s\nstderr\n%s\nwant\n%s\n%s", stdout, stderr, wantOut, wantErr)
	}
}

// TestRunFileWithoutCodes runs a plain file, with no codes at all, of a
// monitor that fails: its red alert is logged on standard output.
func TestRunFileWithoutCodes(t *testing.T) {
	path := writeFile(t, "m.yaml", "monitors:\n  - name: closed\n    pulse_check:\n      type: tcp\n      interval: 50ms\n      max_failures: 1\n      config: {address: \"127.0.0.1:1\"}\n")
	stdout, stderr, stop := started(t, "--yaml", path)
	waitFor(t, stdout, regexp.MustCompile(`"monitor":"closed","code":"red"`))
	if code := stop(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), `msg="monitors added" monitors=1`) {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}
