package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/config"
	"github.com/ziad/cpra/pulse"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// buffer is a bytes.Buffer safe for the concurrent writes of a running
// program and the reads of a test.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor polls until re matches what b holds and returns the first
// submatch (or the whole match).
func waitFor(t *testing.T, b *buffer, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(b.String()); m != nil {
			return m[len(m)-1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no match of %v in:\n%s", re, b.String())
	return ""
}

// started runs the program in the background; stop cancels it and returns
// its exit code.
func started(t *testing.T, args ...string) (stdout, stderr *buffer, stop func() int) {
	t.Helper()
	stdout, stderr = new(buffer), new(buffer)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, stdout, stderr) }()
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(40 * time.Second):
				t.Fatalf("%v did not stop", args)
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return stdout, stderr, stop
}

func runSync(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	alertLog := filepath.Join(dir, "alerts.log")
	var good bytes.Buffer
	if err := config.Generate(&good, config.Fleet{Count: 3, BaseURL: "http://127.0.0.1:9", AlertLog: alertLog}); err != nil {
		t.Fatal(err)
	}
	goodPath := writeFile(t, "good.yaml", good.String()+
		"  - name: off\n    enabled: false\n    pulse_check:\n      type: tcp\n      config:\n        address: 127.0.0.1:9\n")
	badPath := writeFile(t, "bad.yaml", `monitors:
  - name: api
    pulse_check:
      type: http
      interval: 3x
      config:
        url: http://127.0.0.1:9/
  - name: db
    pulse_check:
      type: tcp
      colour: blue
      config:
        address: 127.0.0.1:9
`)
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderrHas  []string
		stderrRows int // lines on stderr, -1: not checked
	}{
		{"good", []string{"--yaml", goodPath, "--validate"}, 0, "ok: 3 monitors (1 disabled)\n", nil, 0},
		{"bad", []string{"--validate", "--yaml", badPath}, 1, "", []string{
			`monitors[0] "api": pulse_check.interval: "3x"`, "(line 5)",
			`monitors[1] "db": pulse_check.colour`, "(line 11)",
		}, 2},
		{"missing file", []string{"--validate", "--yaml", filepath.Join(dir, "nope.yaml")}, 1, "", []string{"nope.yaml"}, 1},
		{"no yaml", []string{"--validate"}, 2, "", []string{"--validate needs --yaml"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runSync(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", stdout, tc.stdout)
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if rows := strings.Count(stderr, "\n"); tc.stderrRows >= 0 && rows != tc.stderrRows {
				t.Errorf("got %d stderr lines, want %d:\n%s", rows, tc.stderrRows, stderr)
			}
		})
	}
	if _, err := os.Stat(alertLog); !os.IsNotExist(err) {
		t.Errorf("validation touched the alert log: %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"extra"},
		{"--no-such-flag"},
		{"gen"},
		{"gen", "--count", "-1"},
		{"mock"},
		{"mock", "--count", "2", "--fail-rate", "1.5"},
	} {
		if code, _, _ := runSync(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, stdout, stderr := runSync("--help"); code != 0 || !strings.Contains(stdout, "-metrics.addr") || stderr != "" {
		t.Errorf("--help: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestGen(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.yaml")
	if code, stdout, stderr := runSync("gen", "--count", "5", "--base-url", "http://127.0.0.1:9", "--interval", "2s", "--remediate", "--out", out); code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	f, err := config.LoadFile(out, config.WithStdout(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Monitors) != 5 {
		t.Fatalf("got %d monitors, want 5", len(f.Monitors))
	}
	m := f.Monitors[4]
	if m.Name != "svc-4" || m.Interval != 2*time.Second || m.Remediate == nil {
		t.Errorf("got %s interval %v remediate %v, want svc-4 2s with a remediator", m.Name, m.Interval, m.Remediate)
	}

	// To standard output, with the defaults.
	code, stdout, _ := runSync("gen", "--count", "2")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	f2, err := config.Load(strings.NewReader(stdout), config.WithStdout(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	if len(f2.Monitors) != 2 || f2.Monitors[0].Remediate != nil || f2.Monitors[0].Interval != time.Minute {
		t.Errorf("defaults: %+v", f2.Monitors)
	}
	if !strings.Contains(stdout, "url: http://127.0.0.1:8080/svc/1") {
		t.Errorf("default base URL missing:\n%s", stdout)
	}
}

func get(t *testing.T, c *http.Client, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

var baseURL = regexp.MustCompile(`(?m)^(http://127\.0\.0\.1:\d+)$`)

func TestMock(t *testing.T) {
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()

	stdout, _, stop := started(t, "mock", "--count", "3", "--fail-rate", "0", "--addr", "127.0.0.1:0")
	base := waitFor(t, stdout, baseURL)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/svc/0", 200},
		{"GET", "/svc/2", 200},
		{"GET", "/svc/3", 404},
		{"GET", "/other", 404},
		{"GET", "/svc/1/restart", 405},
		{"POST", "/svc/1/restart", 200},
		{"POST", "/svc/1/reboot", 404},
	} {
		if got, _ := get(t, c, tc.method, base+tc.path); got != tc.want {
			t.Errorf("%s %s: got %d, want %d", tc.method, tc.path, got, tc.want)
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}

	// With every service failing at the first tick.
	defer func(d time.Duration) { mockTick = d }(mockTick)
	mockTick = 10 * time.Millisecond
	stdout, _, stop = started(t, "mock", "--count", "2", "--fail-rate", "1")
	base = waitFor(t, stdout, baseURL)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := get(t, c, "GET", base+"/svc/1")
		if code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service never failed: last status %d", code)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
}

func TestDemo(t *testing.T) {
	defer func(d time.Duration) { statusEvery = d }(statusEvery)
	statusEvery = 500 * time.Millisecond
	var stdout, stderr buffer
	code := run(context.Background(), []string{"--demo.duration", "3s"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	if !regexp.MustCompile(`(?m) (red|cyan) +svc-\d+`).MatchString(out) || !regexp.MustCompile(`(?m) green +svc-\d+`).MatchString(out) {
		t.Errorf("want red or cyan and green alerts; stdout:\n%s", out)
	}
	if !strings.Contains(stderr.String(), "msg=status monitors=200") {
		t.Errorf("no status line; stderr:\n%s", stderr.String())
	}
}

// sampleLine is one sample of the Prometheus text format.
var sampleLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? (\S+)$`)

// checkExposition fails the test for any line that is not a HELP, a TYPE
// or a well-formed sample, and returns the samples by series.
func checkExposition(t *testing.T, text string) map[string]float64 {
	t.Helper()
	series := map[string]float64{}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %d not in the text format: %q", i+1, line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		name := strings.TrimSuffix(line, " "+m[3])
		if _, dup := series[name]; dup {
			t.Fatalf("line %d: duplicate series %s", i+1, name)
		}
		series[name] = v
	}
	return series
}

func TestRunFile(t *testing.T) {
	defer func(d time.Duration) { mockTick = d }(mockTick)
	mockTick = 200 * time.Millisecond
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()

	mockOut, _, stopMock := started(t, "mock", "--count", "20", "--fail-rate", "0.3")
	base := waitFor(t, mockOut, baseURL)
	file := filepath.Join(t.TempDir(), "m.yaml")
	if code, _, stderr := runSync("gen", "--count", "20", "--base-url", base, "--interval", "100ms", "--remediate", "--out", file); code != 0 {
		t.Fatalf("gen: exit %d\n%s", code, stderr)
	}

	stdout, stderr, stop := started(t, "--yaml", file, "--debug",
		"--metrics.addr", "127.0.0.1:0", "--pprof", "--pprof.addr", "127.0.0.1:0")
	metricsURL := waitFor(t, stderr, regexp.MustCompile(`server=metrics url=(\S+)`))
	pprofURL := waitFor(t, stderr, regexp.MustCompile(`server=pprof url=(\S+)`))
	waitFor(t, stderr, regexp.MustCompile(`loaded \S+: 20 monitors, 0 errors`))

	// Scrape until checks have run and an alert was logged.
	alertLine := regexp.MustCompile(`"monitor":"svc-\d+","code":"(red|cyan|green)"`)
	deadline := time.Now().Add(15 * time.Second)
	var s map[string]float64
	for {
		code, body := get(t, c, "GET", metricsURL)
		if code != 200 {
			t.Fatalf("metrics: status %d", code)
		}
		s = checkExposition(t, body)
		if s["cpra_monitors"] != 20 {
			t.Fatalf("cpra_monitors = %v, want 20", s["cpra_monitors"])
		}
		if s["cpra_checks_total"] > 0 && s["cpra_alerts_sent_total"] > 0 && alertLine.MatchString(stdout.String()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checks or alert lines in 15s:\n%s\nstdout:\n%s", body, stdout.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Beside the engine's series: the Go runtime's and the process's.
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "process_resident_memory_bytes"} {
		if s[name] <= 0 {
			t.Errorf("%s = %v, want it served and positive", name, s[name])
		}
	}
	if up, down := s["cpra_monitors_up"], s["cpra_monitors_down"]; up+down > 20 || up+down == 0 {
		t.Errorf("cpra_monitors_up %v + cpra_monitors_down %v, want 1 to 20 once checks ran", up, down)
	}
	if code, _ := get(t, c, "POST", metricsURL); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: status %d, want 405", code)
	}
	if code, body := get(t, c, "GET", pprofURL); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof: status %d", code)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
	}
	stopMock()

	for _, want := range []string{"level=DEBUG", "msg=stopped"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestRunFileErrors(t *testing.T) {
	bad := writeFile(t, "bad.yaml", "monitors:\n  - name: x\n")
	code, _, stderr := runSync("--yaml", bad)
	if code != 1 || !strings.Contains(stderr, `monitors[0] "x"`) {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	good := writeFile(t, "good.yaml", "monitors: []\n")
	code, _, stderr = runSync("--yaml", good, "--metrics.addr", "256.0.0.1:bad")
	if code != 1 || !strings.Contains(stderr, "server=metrics") {
		t.Errorf("bad metrics address: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestStatusLineOnTerminal drives the status loop with a terminal writer:
// it redraws one line in place and ends it with a newline.
func TestStatusLineOnTerminal(t *testing.T) {
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	e.Add(cpra.Monitor{Name: "a", Interval: 10 * time.Millisecond, Check: pulse.CheckerFunc(func(context.Context) error { return nil })})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var tty bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	statusLoop(ctx, e, slog.New(slog.DiscardHandler), newConsole(&tty, func() int { return 300 }))
	e.Shutdown(context.Background())
	out := tty.String()
	if strings.Count(out, "\r\033[K") < 2 || !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("terminal output %q: want redrawn lines and one final newline", out)
	}
	if !strings.Contains(out, "1 monitors: 1 up (0 failing), 0 down") || !strings.Contains(out, "checks/s") || !strings.Contains(out, "lag p99") {
		t.Errorf("status line %q lacks the counts", out)
	}
}
