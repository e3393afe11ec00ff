package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// screenOf renders what a terminal width columns wide shows after out: it
// interprets carriage return, newline (as a terminal with output
// processing does: to the start of the next line), erase to the end of
// the line (ESC [ K) and skips colour sequences (ESC [ ... m); a line
// longer than the width wraps onto the next one, as on a terminal.
func screenOf(out string, width int) []string {
	lines := [][]rune{nil}
	row, col := 0, 0
	put := func(r rune) {
		if col == width {
			row, col = row+1, 0
			if row == len(lines) {
				lines = append(lines, nil)
			}
		}
		l := lines[row]
		for len(l) <= col {
			l = append(l, ' ')
		}
		l[col] = r
		lines[row] = l
		col++
	}
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\r':
			col = 0
		case r == '\n':
			row, col = row+1, 0
			if row == len(lines) {
				lines = append(lines, nil)
			}
		case r == '\033' && i+1 < len(rs) && rs[i+1] == '[':
			j := i + 2
			for j < len(rs) && (rs[j] < '@' || rs[j] > '~') {
				j++
			}
			if j < len(rs) && rs[j] == 'K' && col < len(lines[row]) {
				lines[row] = lines[row][:col]
			}
			i = j
		default:
			put(r)
		}
	}
	var text []string
	for _, l := range lines {
		text = append(text, strings.TrimRight(string(l), " "))
	}
	for len(text) > 0 && text[len(text)-1] == "" {
		text = text[:len(text)-1]
	}
	return text
}

// TestScreenOf checks the terminal model the other tests judge by.
func TestScreenOf(t *testing.T) {
	tests := []struct {
		out   string
		width int
		want  []string
	}{
		{"abc\ndef\n", 80, []string{"abc", "def"}},
		{"status\r\033[Klog\n", 80, []string{"log"}},
		{"status\r\033[Klog\n\r\033[Kstatus2", 80, []string{"log", "status2"}},
		{"longer line\rshort", 80, []string{"shortr line"}},
		{"\033[31mred\033[0m x\n", 80, []string{"red x"}},
		{"abcdef", 4, []string{"abcd", "ef"}},
		{"status\nlog\n", 80, []string{"status", "log"}},
	}
	for _, tc := range tests {
		if got := screenOf(tc.out, tc.width); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("screenOf(%q, %d) = %q, want %q", tc.out, tc.width, got, tc.want)
		}
	}
}

// TestConsoleKeepsLinesWhole writes log and alert lines, whole and in
// pieces, between status lines longer than the terminal: on the screen
// every line is whole, none is glued to the status line, and the status
// line, cut to the width, is the last.
func TestConsoleKeepsLinesWhole(t *testing.T) {
	const width = 40
	var tty bytes.Buffer
	c := newConsole(&tty, func() int { return width })
	logs, alerts := c.writer(&tty), c.writer(&tty) // standard error and standard output on one terminal
	long := "1000 monitors: 990 up (3 failing), 10 down | 5000 checks/s (12 failed) | 7 remediations"
	c.setStatus("loading f.yaml: 10 monitors")
	c.finish()
	c.setStatus(long)
	io.WriteString(logs, "time=1 level=INFO msg=one\n")
	c.setStatus(long)
	io.WriteString(alerts, "12:00:00.000 red    api  refused\n")
	io.WriteString(logs, "time=2 level=WARN ")
	c.setStatus(long) // drawn only once the log line has ended
	io.WriteString(alerts, "12:00:01.000 green  db\n")
	io.WriteString(logs, "msg=two\n")
	c.setStatus("short")
	c.setStatus(long)
	got := screenOf(tty.String(), width)
	want := []string{
		"loading f.yaml: 10 monitors",
		"time=1 level=INFO msg=one",
		"12:00:00.000 red    api  refused",
		"time=2 level=WARN 12:00:01.000 green  db", // two streams' halves: the terminal shows what was written
		"msg=two",
		long[:width-1],
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen:\n%s\nwant:\n%s\n(raw %q)", strings.Join(got, "\n"), strings.Join(want, "\n"), tty.String())
	}
	c.finish()
	if !strings.HasSuffix(tty.String(), long[:width-1]+"\n") {
		t.Errorf("finish did not end the status line: %q", tty.String())
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		s     string
		width int
		want  string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"ünïcödé", 4, "ünïc"},
		{"abc", 0, "a"},
	}
	for _, tc := range tests {
		if got := fit(tc.s, tc.width); got != tc.want {
			t.Errorf("fit(%q, %d) = %q, want %q", tc.s, tc.width, got, tc.want)
		}
	}
}

// openPTY returns a pseudo-terminal of the given width: the side a program
// writes to and the side a test reads what it shows from.
func openPTY(t *testing.T, cols int) (tty, ptmx *os.File) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: uint16(cols)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close(); ptmx.Close() })
	return tty, ptmx
}

// drain reads everything the terminal shows until its program side is
// closed; wait returns it.
func drain(ptmx *os.File) (wait func() string) {
	var b bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(&b, ptmx) // ends with EIO once the other side is closed
	}()
	return func() string { <-done; return b.String() }
}

func TestTerminalWidth(t *testing.T) {
	tty, _ := openPTY(t, 47)
	if got := terminalWidth(tty); got != 47 {
		t.Errorf("width of a 47-column terminal: got %d, want 47", got)
	}
	t.Setenv("COLUMNS", "33")
	if got := terminalWidth(nil); got != 33 {
		t.Errorf("no terminal, COLUMNS=33: got %d, want 33", got)
	}
	t.Setenv("COLUMNS", "")
	if got := terminalWidth(nil); got != 80 {
		t.Errorf("no terminal, no COLUMNS: got %d, want 80", got)
	}
	f, err := os.CreateTemp(t.TempDir(), "plain")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := terminalWidth(f); got != 80 {
		t.Errorf("a plain file: got %d, want 80", got)
	}
}

func TestUseColour(t *testing.T) {
	tty, _ := openPTY(t, 80)
	tests := []struct {
		name          string
		w             io.Writer
		noColor, term string
		want          bool
	}{
		{"terminal", tty, "", "xterm", true},
		{"terminal, NO_COLOR=1", tty, "1", "xterm", false},
		{"terminal, dumb", tty, "", "dumb", false},
		{"buffer", new(bytes.Buffer), "", "xterm", false},
		{"pipe", func() io.Writer { r, w, _ := os.Pipe(); r.Close(); t.Cleanup(func() { w.Close() }); return w }(), "", "xterm", false},
	}
	for _, tc := range tests {
		t.Setenv("NO_COLOR", tc.noColor)
		t.Setenv("TERM", tc.term)
		if got := useColour(tc.w); got != tc.want {
			t.Errorf("%s: got colour %v, want %v", tc.name, got, tc.want)
		}
	}
}

// terminalFleet is a monitors file of a monitor that passes, one that
// fails and goes down and one that fails without reaching down, none with
// codes.
func terminalFleet(t *testing.T) string {
	return writeFile(t, "m.yaml", `monitors:
  - name: closed
    pulse_check: {type: tcp, interval: 100ms, max_failures: 2, config: {address: "127.0.0.1:1"}}
  - name: shaky
    pulse_check: {type: tcp, interval: 100ms, max_failures: 60000, config: {address: "127.0.0.1:1"}}
`)
}

// runOnTerminal runs the program with standard error (and standard output,
// unless out is given) on a pseudo-terminal cols wide for about d, and
// returns what the terminal received and what out holds.
func runOnTerminal(t *testing.T, cols int, d time.Duration, out io.Writer, args ...string) string {
	t.Helper()
	return runOnTerminalThen(t, cols, d, out, nil, args...)
}

// runOnTerminalThen is runOnTerminal that calls then (unless nil) on a
// goroutine of its own while the program runs.
func runOnTerminalThen(t *testing.T, cols int, d time.Duration, out io.Writer, then func(), args ...string) string {
	t.Helper()
	tty, ptmx := openPTY(t, cols)
	wait := drain(ptmx)
	stdout := io.Writer(tty)
	if out != nil {
		stdout = out
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	if then != nil {
		wg.Go(then)
	}
	if code := run(ctx, args, stdout, tty); code != 0 {
		t.Errorf("exit %d", code)
	}
	wg.Wait()
	tty.Close()
	return wait()
}

var (
	statusRE = regexp.MustCompile(`^\d+ monitors: \d+ up \(\d+ failing\), \d+ down \| `)
	logRE    = regexp.MustCompile(`^time=\S+ level=(DEBUG|INFO|WARN|ERROR) msg=`)
	alertRE  = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (yellow|red|green|cyan|gray) +(closed|shaky|late)`)
)

// TestTerminalRun runs a file on a 72-column pseudo-terminal: every line on
// the screen is a whole log line, a whole alert line or the load progress,
// the status line (cut to 71 columns) is the last one and counts the
// failing monitor, and the alert codes are coloured.
func TestTerminalRun(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")
	const cols = 72
	path := terminalFleet(t)
	// Halfway, a reload adds a monitor that fails: its log and alert lines
	// come while the status line is on the screen.
	reload := func() {
		time.Sleep(1600 * time.Millisecond)
		text, _ := os.ReadFile(path)
		text = append(text, "  - name: late\n    pulse_check: {type: tcp, interval: 100ms, max_failures: 2, config: {address: \"127.0.0.1:1\"}}\n"...)
		if err := os.WriteFile(path, text, 0o644); err != nil {
			t.Error(err)
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Error(err)
		}
	}
	raw := runOnTerminalThen(t, cols, 4500*time.Millisecond, nil, reload, "--yaml", path, "--state", "")
	// Log lines may be longer than the terminal and wrap; the status line
	// must not, so its length is what is checked.
	screen := screenOf(raw, 1<<30)
	if len(screen) < 4 {
		t.Fatalf("screen:\n%s", strings.Join(screen, "\n"))
	}
	var status string // the last status line
	for i, l := range screen {
		switch {
		case logRE.MatchString(l), alertRE.MatchString(l), strings.HasPrefix(l, "loaded "):
			if strings.Contains(l, "monitors: ") && !strings.HasPrefix(l, "loaded ") {
				t.Errorf("line %d glued to the status line: %q", i, l)
			}
		case statusRE.MatchString(l):
			status = l
			if n := len([]rune(l)); n != cols-1 && n != cols-2 { // cols-2: cut after a blank, which the screen model trims
				t.Errorf("status line of %d characters on a %d-column terminal, want it cut to %d: %q", n, cols, cols-1, l)
			}
		default:
			t.Errorf("line %d is neither a log, an alert nor the status line: %q", i, l)
		}
	}
	if !strings.Contains(status, "(1 failing), 2 down") {
		t.Errorf("last status line %q: want 1 failing (shaky) and 2 down (closed, late)", status)
	}
	if !strings.Contains(raw, "\033[31mred\033[0m    closed") || !strings.Contains(raw, "\033[33myellow\033[0m closed") {
		t.Errorf("no coloured red and yellow for closed in %q", raw)
	}
	if n := strings.Count(raw, "\033[31mred"); n != 2 {
		t.Errorf("red shown %d times, want once for closed and once for late", n)
	}
	if !slices.ContainsFunc(screen, regexp.MustCompile(`msg=reloaded .* added=1`).MatchString) {
		t.Errorf("no reload logged:\n%s", strings.Join(screen, "\n"))
	}
}

// TestTerminalNoColor: NO_COLOR set, the terminal shows no colour at all.
func TestTerminalNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	raw := runOnTerminal(t, 100, 1500*time.Millisecond, nil, "--yaml", terminalFleet(t), "--state", "")
	if !regexp.MustCompile(`red +closed`).MatchString(raw) {
		t.Fatalf("no red alert for closed in %q", raw)
	}
	if regexp.MustCompile(`\033\[[0-9;]*m`).MatchString(raw) {
		t.Errorf("colour with NO_COLOR=1: %q", raw)
	}
}

// TestTerminalStdoutRedirected: standard output to a file while standard
// error is a terminal: the alerts in the file are JSON lines with no colour,
// and the terminal still has its status line.
func TestTerminalStdoutRedirected(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	f, err := os.Create(t.TempDir() + "/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw := runOnTerminal(t, 100, 2500*time.Millisecond, f, "--yaml", terminalFleet(t), "--state", "")
	out, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"monitor":"closed","code":"red"`) || bytes.Contains(out, []byte("\033")) {
		t.Errorf("alerts in the file: %q; want JSON lines without escapes", out)
	}
	if !slices.ContainsFunc(screenOf(raw, 1<<30), statusRE.MatchString) {
		t.Errorf("no status line on the terminal: %q", raw)
	}
}

// TestTerminalJSON: with --log.format json a terminal gets JSON objects
// only, no status line drawn in place and no colour.
func TestTerminalJSON(t *testing.T) {
	raw := runOnTerminal(t, 100, 2500*time.Millisecond, nil, "--yaml", terminalFleet(t), "--state", "", "--log.format", "json")
	if strings.Contains(raw, "\033") {
		t.Errorf("escape sequences with --log.format json: %q", raw)
	}
	for _, l := range strings.Split(strings.TrimSpace(strings.ReplaceAll(raw, "\r\n", "\n")), "\n") {
		if !strings.HasPrefix(l, "{") || !strings.HasSuffix(l, "}") {
			t.Errorf("not a JSON object: %q", l)
		}
	}
}

// errWriter fails every write.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("broken") }

// TestConsoleWriterError: a stream's write error reaches its writer, and
// the status line is still drawn.
func TestConsoleWriterError(t *testing.T) {
	var tty bytes.Buffer
	c := newConsole(&tty, func() int { return 80 })
	c.setStatus("st")
	if _, err := c.writer(errWriter{}).Write([]byte("x\n")); err == nil {
		t.Error("write error lost")
	}
	c.setStatus("st2")
	if got := screenOf(tty.String(), 80); len(got) != 1 || got[0] != "st2" {
		t.Errorf("screen %q, want the status line only", got)
	}
}

// TestTerminalDemo runs the demo on a pseudo-terminal: its banner and
// coloured alert lines sit above the status line, none glued to it.
func TestTerminalDemo(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")
	const cols = 90
	raw := runOnTerminal(t, cols, 3*time.Second, nil, "--demo.duration", "2500ms")
	if !regexp.MustCompile(`\033\[3[1236]m(red|green|cyan|yellow)\033\[0m +svc-\d+`).MatchString(raw) {
		t.Errorf("no coloured alert line in %q", raw)
	}
	demoAlert := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (yellow|red|green|cyan|gray) +svc-\d+`)
	var statuses int
	for i, l := range screenOf(raw, 1<<30) {
		switch {
		case statusRE.MatchString(l):
			statuses++
			if n := len([]rune(l)); n != cols-1 && n != cols-2 { // cols-2: cut after a blank, which the screen model trims
				t.Errorf("status line of %d characters, want %d: %q", n, cols-1, l)
			}
		case demoAlert.MatchString(l), logRE.MatchString(l), strings.HasPrefix(l, "cpra demo: "), strings.HasPrefix(l, "Codes: "):
			if strings.Contains(l, " monitors: ") {
				t.Errorf("line %d glued to the status line: %q", i, l)
			}
		default:
			t.Errorf("line %d is neither a log, an alert, the banner nor the status line: %q", i, l)
		}
	}
	if statuses != 1 {
		t.Errorf("%d status lines left on the screen, want the last one only", statuses)
	}
}
