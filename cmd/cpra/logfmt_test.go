package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ziad/cpra/alert"
)

// TestLogFormatJSON runs a file with --log.format json: every line on
// standard error is a JSON log event with time, level and msg (the status
// events with their counts, the failing monitor among them), and every line
// on standard output is an alert in the payload schema.
func TestLogFormatJSON(t *testing.T) {
	defer func(d time.Duration) { statusEvery = d }(statusEvery)
	statusEvery = 300 * time.Millisecond
	stdout, stderr, stop := started(t, "--yaml", terminalFleet(t), "--state", "", "--log.format", "json")
	waitFor(t, stdout, regexp.MustCompile(`"monitor":"closed","code":"red"`))
	waitFor(t, stderr, regexp.MustCompile(`"msg":"status".*"failing":1`))
	if code := stop(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	var statuses int
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Errorf("stderr line %q: %v", l, err)
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := ev[k]; !ok {
				t.Errorf("stderr event %q lacks %q", l, k)
			}
		}
		if ev["msg"] != "status" {
			continue
		}
		statuses++
		for _, k := range []string{"monitors", "up", "failing", "down", "checks_per_s", "failed_per_s", "remediations", "remediations_failed", "alerts_sent", "lag_p99"} {
			if _, ok := ev[k].(float64); !ok {
				t.Errorf("status event %q: %q is %T, want a number", l, k, ev[k])
			}
		}
	}
	if statuses == 0 {
		t.Errorf("no status event in:\n%s", stderr)
	}
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var a struct {
			Version int
			Monitor string
			Code    string
			Time    time.Time
		}
		if err := json.Unmarshal([]byte(l), &a); err != nil || a.Version != 1 || a.Monitor == "" || a.Code == "" || a.Time.IsZero() {
			t.Errorf("stdout line %q: %+v, %v; want an alert payload", l, a, err)
		}
	}
}

// TestLogFormatText: --log.format text writes the alerts of monitors without
// codes as readable lines, with the full time and no colour, also when
// standard output is not a terminal; log lines are slog's text form.
func TestLogFormatText(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	stdout, stderr, stop := started(t, "--yaml", terminalFleet(t), "--state", "", "--log.format", "text")
	line := waitFor(t, stdout, regexp.MustCompile(`(?m)^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\S* red +closed +dial tcp 127\.0\.0\.1:1: .*)$`))
	if code := stop(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if strings.Contains(stdout.String(), "\033") || strings.Contains(stdout.String(), "{") {
		t.Errorf("stdout holds escapes or JSON:\n%s", stdout)
	}
	if !regexp.MustCompile(`(?m)^time=\S+ level=INFO msg="monitors added"`).MatchString(stderr.String()) || strings.Contains(stderr.String(), "\033") {
		t.Errorf("stderr is not plain slog text:\n%s", stderr)
	}
	t.Logf("alert line: %s", line)
}

// TestLogFormatDefault: without --log.format and with standard output not
// a terminal, the alerts of monitors without codes stay JSON lines, and
// an unknown format is a usage error.
func TestLogFormatDefault(t *testing.T) {
	stdout, _, stop := started(t, "--yaml", terminalFleet(t), "--state", "")
	waitFor(t, stdout, regexp.MustCompile(`"monitor":"closed","code":"red"`))
	stop()
	code, out, errs := runSync("--log.format", "xml")
	if code != 2 || out != "" || !strings.Contains(errs, `"xml" is not a log format: want text or json`) {
		t.Errorf("--log.format xml: exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
}

// TestFailedRepairToldOnce: a repair that fails twice, then the monitor is
// red: the red alert carries the error once, the log at the default level
// does not repeat each failed attempt (--debug shows them), and the status
// counts the failed attempts.
func TestFailedRepairToldOnce(t *testing.T) {
	defer func(d time.Duration) { statusEvery = d }(statusEvery)
	statusEvery = 200 * time.Millisecond
	path := writeFile(t, "m.yaml", `monitors:
  - name: closed
    pulse_check: {type: tcp, interval: 50ms, max_failures: 1, config: {address: "127.0.0.1:1"}}
    intervention: {type: script, max_attempts: 2, policy: {backoff: 50ms, timeout: 30s}, config: {script: /bin/false}}
`)
	for _, debug := range []bool{false, true} {
		args := []string{"--yaml", path, "--state", "", "--log.format", "text"}
		if debug {
			args = append(args, "--debug")
		}
		stdout, stderr, stop := started(t, args...)
		waitFor(t, stdout, regexp.MustCompile(`red +closed`))
		waitFor(t, stderr, regexp.MustCompile(`msg=status .*remediations_failed=2`))
		if code := stop(); code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		out, errs := stdout.String(), stderr.String()
		if n := strings.Count(out, "exit status 1"); n != 1 {
			t.Errorf("debug %v: the failed repair's error is on %d alert lines, want 1:\n%s", debug, n, out)
		}
		want := 0
		if debug {
			want = 2
		}
		if n := strings.Count(errs, `msg="remediation failed"`); n != want {
			t.Errorf("debug %v: %d log lines of failed attempts, want %d:\n%s", debug, n, want, errs)
		}
		if debug && !strings.Contains(errs, `level=DEBUG msg="remediation failed"`) {
			t.Errorf("--debug: failed attempts not at debug level:\n%s", errs)
		}
	}
}

// TestDemoteHandler: only the named warning is lowered, attributes and
// groups keep it lowered, and other records pass as they are.
func TestDemoteHandler(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var b bytes.Buffer
		log := newLogger(&b, formatText, level).With("a", 1).WithGroup("g")
		log.Warn("remediation failed", "monitor", "x")
		log.Warn("other")
		log.Info("remediation failed")
		got := b.String()
		wantDemoted := level == slog.LevelDebug
		if strings.Contains(got, `level=DEBUG msg="remediation failed" a=1 g.monitor=x`) != wantDemoted ||
			strings.Contains(got, `level=WARN msg="remediation failed"`) {
			t.Errorf("level %v: got\n%s", level, got)
		}
		if !strings.Contains(got, "level=WARN msg=other") || !strings.Contains(got, `level=INFO msg="remediation failed"`) {
			t.Errorf("level %v: other records lost:\n%s", level, got)
		}
	}
}

// TestVersion: --version prints one line naming the program, its version
// and the Go release on standard output and exits 0.
func TestVersion(t *testing.T) {
	code, stdout, stderr := runSync("--version")
	if code != 0 || stderr != "" || !regexp.MustCompile(`^cpra \S+.*, `+regexp.QuoteMeta(runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)+"\n$").MatchString(stdout) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	defer func(r string) { revision = r }(revision)
	revision = "0123abcd"
	if got := versionText(); !strings.Contains(got, ", revision 0123abcd") {
		t.Errorf("with a revision set at build time: %q", got)
	}
}

// TestHelp: asked for help, the command and its subcommands print their
// usage on standard output and exit 0; a bad flag prints it on standard
// error and exits 2.
func TestHelp(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStdout string
	}{
		{[]string{"--help"}, 0, "--yaml FILE --validate"},
		{[]string{"-h"}, 0, "-log.format format"},
		{[]string{"gen", "--help"}, 0, "-base-url"},
		{[]string{"mock", "-help"}, 0, "-fail-rate"},
		{[]string{"--bogus"}, 2, ""},
		{[]string{"gen", "--bogus"}, 2, ""},
	}
	for _, tc := range tests {
		code, stdout, stderr := runSync(tc.args...)
		switch {
		case code != tc.code:
			t.Errorf("%q: exit %d, want %d", tc.args, code, tc.code)
		case tc.code == 0 && (stderr != "" || !strings.Contains(stdout, tc.inStdout)):
			t.Errorf("%q: stdout lacks %q or stderr is not empty:\nstdout:\n%s\nstderr:\n%s", tc.args, tc.inStdout, stdout, stderr)
		case tc.code != 0 && (stdout != "" || !strings.Contains(stderr, "flag provided but not defined: -bogus") || !strings.Contains(stderr, "Usage")):
			t.Errorf("%q: want the error and the usage on stderr only:\nstdout:\n%s\nstderr:\n%s", tc.args, stdout, stderr)
		}
	}
}

// TestPrinterLine: what a readable alert line holds, on a terminal and
// off one.
func TestPrinterLine(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 123e6, time.UTC)
	tests := []struct {
		name          string
		a             alert.Alert
		short, colour bool
		want          string
	}{
		{"red with error", alert.Alert{Monitor: "api", Code: alert.Red, At: at, Attempt: 2, Err: errors.New("refused")}, true, false,
			"15:04:05.123 red    api      attempt 2 refused\n"},
		{"coloured", alert.Alert{Monitor: "api", Code: alert.Green, At: at}, true, true,
			"15:04:05.123 \033[32mgreen\033[0m  api\n"},
		{"full time", alert.Alert{Monitor: "api", Code: alert.Yellow, At: at}, false, false,
			"2026-01-02T15:04:05.123Z yellow api\n"},
		{"flap and reminder", alert.Alert{Monitor: "db", Code: alert.Red, At: at, Flap: alert.FlapEnd, Repeat: 3}, true, false,
			"15:04:05.123 red    db       flap-end reminder 3\n"},
		{"group", alert.Alert{Monitor: "zone=eu", Code: alert.Red, At: at, Group: []alert.Alert{{Monitor: "a"}, {Monitor: "b"}}}, true, false,
			"15:04:05.123 red    zone=eu  2 monitors: a b\n"},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		p := &printer{w: &b, short: tc.short, colour: tc.colour}
		if err := p.Notify(context.Background(), tc.a); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, b.String(), tc.want)
		}
	}
}
