package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ziad/cpra/alert"
)

// memLogs records the log files a load opens instead of creating them.
type memLogs struct {
	mu     sync.Mutex
	opened map[string]int
	files  map[string]*syncBuffer
}

func newMemLogs() *memLogs {
	return &memLogs{opened: map[string]int{}, files: map[string]*syncBuffer{}}
}

func (m *memLogs) open(path string) (io.Writer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opened[path]++
	b := &syncBuffer{}
	m.files[path] = b
	return b, nil
}

// syncBuffer is a bytes.Buffer safe for concurrent writers, with a channel
// signalled on every write.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	if s.wrote != nil {
		select {
		case s.wrote <- struct{}{}:
		default:
		}
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(kv ...string) Option {
	return WithLookupEnv(func(k string) (string, bool) {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1], true
			}
		}
		return "", false
	})
}

// load loads YAML text with in-memory logs and an empty environment (plus
// extra options).
func load(t *testing.T, text string, opts ...Option) (*File, error) {
	t.Helper()
	logs := newMemLogs()
	all := append([]Option{WithOpenLog(logs.open), env(), WithStdout(io.Discard)}, opts...)
	f, err := Load(strings.NewReader(text), all...)
	if f != nil {
		t.Cleanup(func() { f.Close() })
	}
	return f, err
}

func mustLoad(t *testing.T, text string, opts ...Option) *File {
	t.Helper()
	f, err := load(t, text, opts...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return f
}

// errorText returns the message of a load error, or "" for none.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestSeedREADME(t *testing.T) {
	text, err := os.ReadFile("testdata/seed-readme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	logs := newMemLogs()
	f, err := Load(bytes.NewReader(text), WithOpenLog(logs.open), env("CPRA_PAGERDUTY_ROUTING_KEY", "R0UT1NG"))
	if err != nil {
		t.Fatalf("the seed README's example does not load: %v", err)
	}
	defer f.Close()
	if len(f.Monitors) != 1 {
		t.Fatalf("got %d monitors, want 1", len(f.Monitors))
	}
	m := f.Monitors[0]
	if m.Name != "my-service-health-check" || m.Interval != 30*time.Second || m.Timeout != 5*time.Second || m.FailureThreshold != 3 {
		t.Errorf("got name %q interval %v timeout %v failures %d, want my-service-health-check 30s 5s 3", m.Name, m.Interval, m.Timeout, m.FailureThreshold)
	}
	if m.Check == nil {
		t.Error("no checker")
	}
	// The intervention's timeout bounds each attempt, in place of the
	// monitor's 5s.
	if got := fmt.Sprint(m.Remediate); !strings.Contains(got, "/scripts/restart-service.sh") || m.Policy.Timeout != 30*time.Second {
		t.Errorf("remediator %s, policy timeout %v; want the script, 30s", got, m.Policy.Timeout)
	}
	route, ok := m.Notify.(alert.Route)
	if !ok {
		t.Fatalf("Notify is %T, want alert.Route", m.Notify)
	}
	if got := fmt.Sprint(route[alert.Red]); !strings.Contains(got, "PagerDuty(https://events.pagerduty.com)") {
		t.Errorf("red goes to %s, want PagerDuty at the seed's URL", got)
	}
	if _, ok := route[alert.Yellow].(*alert.LogNotifier); !ok {
		t.Errorf("yellow goes to %T, want a log notifier", route[alert.Yellow])
	}
	if len(route) != 2 {
		t.Errorf("route has %d codes, want 2", len(route))
	}
	if logs.opened["/var/log/cpra-alerts.log"] != 1 {
		t.Errorf("log files opened: %v, want /var/log/cpra-alerts.log once", logs.opened)
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings: %v", f.Warnings)
	}

	// Without a routing key anywhere, the pagerduty code says where to put one.
	_, err = Load(bytes.NewReader(text), WithOpenLog(logs.open), env())
	want := `monitors[0] "my-service-health-check": codes.red.config.routing_key: missing (give it here, as ${NAME} to read it from the environment, or in CPRA_PAGERDUTY_ROUTING_KEY) (line 21)`
	if got := errorText(err); got != want {
		t.Errorf("error:\n%s\nwant\n%s", got, want)
	}
}

// TestJSONMatchesYAML loads the seed's example written as JSON and checks
// that it builds the same monitor, with the same digest.
func TestJSONMatchesYAML(t *testing.T) {
	yamlText, err := os.ReadFile("testdata/seed-readme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	jsonText := `{
  "monitors": [
    {
      "name": "my-service-health-check",
      "pulse_check": {
        "type": "http", "interval": "30s", "timeout": "5s", "max_failures": 3,
        "config": {"method": "GET", "url": "http://my-service.example.com/health", "retries": 2}
      },
      "intervention": {"type": "script", "config": {"script": "/scripts/restart-service.sh", "timeout": "30s"}},
      "codes": {
        "red": {"dispatch": true, "notify": "pagerduty", "config": {"url": "https://events.pagerduty.com/v2/enqueue"}},
        "yellow": {"dispatch": true, "notify": "log", "config": {"file": "/var/log/cpra-alerts.log"}}
      }
    }
  ]
}`
	key := env("CPRA_PAGERDUTY_ROUTING_KEY", "k")
	fy := mustLoad(t, string(yamlText), key)
	fj := mustLoad(t, jsonText, key)
	if len(fj.Monitors) != 1 {
		t.Fatalf("got %d monitors from JSON, want 1", len(fj.Monitors))
	}
	my, mj := fy.Monitors[0], fj.Monitors[0]
	if my.Name != mj.Name || my.Interval != mj.Interval || my.Timeout != mj.Timeout || my.FailureThreshold != mj.FailureThreshold {
		t.Errorf("JSON monitor %+v differs from YAML %+v", mj, my)
	}
	if fy.Digests[0] != fj.Digests[0] {
		t.Errorf("digests differ: YAML %x, JSON %x", fy.Digests[0], fj.Digests[0])
	}
	if got, want := fmt.Sprint(mj.Notify), fmt.Sprint(my.Notify); got != want {
		t.Errorf("JSON notify %s, want %s", got, want)
	}
}

func TestSharing(t *testing.T) {
	var b strings.Builder
	b.WriteString("monitors:\n")
	for i := range 50 {
		fmt.Fprintf(&b, `  - name: m%d
    labels: {team: core}
    pulse_check:
      type: tcp
      config: {address: "127.0.0.1:%d"}
    intervention:
      type: http
      config: {url: "http://127.0.0.1:1/restart"}
    codes:
      red: {notify: log, config: {file: a.log}}
      green:
        notify: log
        config:
          file: ./a.log
      yellow: {notify: webhook, config: {url: "http://127.0.0.1:1/hook", secret: s}}
`, i, 1000+i)
	}
	// One monitor with a different block that uses the same notifiers.
	b.WriteString(`  - name: other
    pulse_check: {type: tcp, config: {host: 127.0.0.1, port: 9}}
    codes:
      cyan: [{notify: log, config: {file: a.log}}, {notify: webhook, config: {secret: s, url: "http://127.0.0.1:1/hook"}}]
`)
	logs := newMemLogs()
	f := mustLoad(t, b.String(), WithOpenLog(logs.open))
	if len(f.Monitors) != 51 {
		t.Fatalf("got %d monitors, want 51", len(f.Monitors))
	}
	if logs.opened["a.log"] != 1 || len(logs.opened) != 1 {
		t.Errorf("opened %v, want a.log once", logs.opened)
	}
	first := f.Monitors[0]
	r0 := first.Notify.(alert.Route)
	if r0[alert.Red] != r0[alert.Green] {
		t.Error("red and green log to the same file through different notifiers")
	}
	for _, m := range f.Monitors[1:50] {
		if reflect.ValueOf(m.Notify).Pointer() != reflect.ValueOf(first.Notify).Pointer() {
			t.Fatalf("%s has its own route", m.Name)
		}
		if m.Remediate != first.Remediate {
			t.Fatalf("%s has its own remediator", m.Name)
		}
		if reflect.ValueOf(m.Labels).Pointer() != reflect.ValueOf(first.Labels).Pointer() {
			t.Fatalf("%s has its own labels map", m.Name)
		}
		if m.Check == first.Check {
			t.Fatalf("%s shares a checker with another target", m.Name)
		}
	}
	// The other monitor's Multi holds the very same notifiers.
	if got := fmt.Sprint(f.Monitors[50].Notify.(alert.Route)[alert.Cyan]); got == "" {
		t.Error("no cyan notifier")
	}
}

func TestDisabledAndDigests(t *testing.T) {
	f := mustLoad(t, `monitors:
  - name: a
    enabled: false
    pulse_check: {type: tcp, config: {address: "127.0.0.1:1"}}
  - name: b
    pulse_check: {type: tcp, config: {address: "127.0.0.1:2"}}
  - name: c
    enabled: true
    pulse_check: {config: {address: "127.0.0.1:2"}, type: tcp}
`)
	if len(f.Monitors) != 2 || f.Monitors[0].Name != "b" || f.Monitors[1].Name != "c" {
		t.Fatalf("monitors %v, want b and c", names(f))
	}
	if !reflect.DeepEqual(f.Disabled, []string{"a"}) {
		t.Errorf("disabled %v, want [a]", f.Disabled)
	}
	if f.Digests[0] == f.Digests[1] {
		t.Error("different monitors have the same digest")
	}
	// Reordered keys keep the digest; a changed value changes it.
	g := mustLoad(t, `monitors:
  - pulse_check: {config: {address: "127.0.0.1:2"}, type: tcp}
    name: b
  - name: c
    enabled: true
    pulse_check: {config: {address: "127.0.0.1:3"}, type: tcp}
`)
	if g.Digests[0] != f.Digests[0] {
		t.Error("reordering keys changed the digest")
	}
	if g.Digests[1] == f.Digests[1] {
		t.Error("changing the address kept the digest")
	}
}

func names(f *File) []string {
	var out []string
	for _, m := range f.Monitors {
		out = append(out, m.Name)
	}
	return out
}

func TestAnchorsNeedWholeDocument(t *testing.T) {
	text := `x-codes: &codes
  red: {notify: log}
monitors:
  - name: a
    pulse_check: &tcp
      type: tcp
      config: {address: "127.0.0.1:1"}
    codes: *codes
  - name: b
    pulse_check:
      <<: *tcp
      interval: 1m
    codes: *codes
`
	_, err := load(t, text)
	// The extra top-level key is still an unknown field on this path.
	want := `x-codes: unknown field (the file holds a monitors list, a defaults block and a maintenance list) (line 1)`
	if got := errorText(err); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	text = strings.Replace(text, "x-codes: &codes\n  red: {notify: log}\n", "", 1)
	text = strings.Replace(text, "    codes: *codes\n  - name: b", "    codes: &codes\n      red: {notify: log}\n  - name: b", 1)
	f := mustLoad(t, text)
	if len(f.Monitors) != 2 || f.Monitors[1].Interval != time.Minute {
		t.Fatalf("got %+v", f.Monitors)
	}
	if f.Monitors[0].Notify == nil || reflect.ValueOf(f.Monitors[0].Notify).Pointer() != reflect.ValueOf(f.Monitors[1].Notify).Pointer() {
		t.Error("aliased codes blocks do not share a route")
	}
	// Not seekable: the whole-document path cannot restart.
	_, err = Load(io.MultiReader(strings.NewReader(text)), WithOpenLog(newMemLogs().open))
	if err == nil || !strings.Contains(err.Error(), "needs a seekable input") {
		t.Errorf("got %v, want a request for a seekable input", err)
	}
}

func TestUnusualItemsUseLibrary(t *testing.T) {
	// A block scalar and a multi-line flow mapping are outside the fast
	// subset; their monitors are parsed by the library and later line numbers
	// stay right.
	f, err := load(t, `monitors:
  - name: a
    pulse_check:
      type: http
      config:
        url: http://127.0.0.1:1/
        method: POST
        body: |
          {"probe": true}
  - name: b
    pulse_check: {type: tcp,
      config: {address: "127.0.0.1:1"}}
  - name: c
    pulse_check:
      type: tcp
      interval: 3x
      config: {address: "127.0.0.1:1"}
`)
	want := `monitors[2] "c": pulse_check.interval: "3x" is not a duration (line 16)`
	if got := errorText(err); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	_ = f
}

func TestDuplicateMonitorsKey(t *testing.T) {
	_, err := load(t, "monitors: []\nmonitors: []\n")
	want := `syntax error: mapping key "monitors" already defined at line 1 (line 2)`
	if got := errorText(err); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestEmptyList: an empty list of monitors loads; a file without one, or
// with monitors: null, is refused the same way in every format.
func TestEmptyList(t *testing.T) {
	for _, text := range []string{"monitors: []\n", "# nothing yet\nmonitors: []", `{"monitors": []}`, "---\nmonitors: []\n", "monitors: [] # none yet\n"} {
		f := mustLoad(t, text)
		if len(f.Monitors) != 0 {
			t.Errorf("%q: got %d monitors", text, len(f.Monitors))
		}
	}
	for _, tc := range []struct{ text, want string }{
		{"", "monitors: missing: the file has no monitors list"},
		{"# nothing\n", "monitors: missing: the file has no monitors list"},
		{"maintenance: []\n", "monitors: missing: the file has no monitors list"},
		{"monitors:\n", "monitors: missing: the file has no monitors list (line 1)"},
		{"monitors: null\n", "monitors: missing: the file has no monitors list (line 1)"},
		{"# c\nmonitors: ~\n", "monitors: missing: the file has no monitors list (line 2)"},
		{"monitors:\nmaintenance: []\n", "monitors: missing: the file has no monitors list (line 1)"},
		{"{\"monitors\": null}", "monitors: missing: the file has no monitors list (line 1)"},
		{"{}", "monitors: missing: the file has no monitors list"},
		{"x: &a 1\nmonitors:\n", "x: unknown field (the file holds a monitors list, a defaults block and a maintenance list) (line 1)\n" +
			"monitors: missing: the file has no monitors list (line 2)"},
	} {
		_, err := load(t, tc.text)
		if got := errorText(err); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestMaxErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("monitors:\n")
	for i := range 30 {
		fmt.Fprintf(&b, "  - name: m%d\n    pulse_check: {type: tcp, interval: bad, config: {address: \"h:1\"}}\n", i)
	}
	_, err := load(t, b.String(), WithMaxErrors(5))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %T, want Errors", err)
	}
	if len(es) != 6 || es[5].Error() != "and 25 more errors" {
		t.Errorf("got %d errors ending %q, want 5 and a count of 25 more", len(es), es[len(es)-1])
	}
	if es[0].Line != 3 || es[4].Line != 11 {
		t.Errorf("lines %d..%d, want 3..11", es[0].Line, es[4].Line)
	}
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	if err := Generate(&buf, Fleet{Count: 25_000, BaseURL: "http://127.0.0.1:9"}); err != nil {
		t.Fatal(err)
	}
	var calls []Progress
	f := mustLoad(t, buf.String(), WithProgress(func(p Progress) { calls = append(calls, p) }))
	if len(f.Monitors) != 25_000 {
		t.Fatalf("got %d monitors", len(f.Monitors))
	}
	last := calls[len(calls)-1]
	if len(calls) < 3 || !last.Done || last.Monitors != 25_000 || last.Errors != 0 {
		t.Errorf("progress calls %v, want two in flight and a final one for 25000", calls)
	}
}

func TestCloseClosesLogFiles(t *testing.T) {
	dir := t.TempDir()
	text := fmt.Sprintf("monitors:\n  - name: a\n    pulse_check: {type: tcp, config: {address: \"h:1\"}}\n    codes: {red: {notify: log, config: {file: %q}}}\n", dir+"/alerts.log")
	f, err := Load(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	n := f.Monitors[0].Notify.(alert.Route)[alert.Red].(*alert.LogNotifier)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(t.Context(), alert.Alert{Monitor: "a", Code: alert.Red}); !errors.Is(err, alert.ErrClosed) {
		t.Errorf("after Close, Notify returned %v, want ErrClosed", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestFlowStyleYAML(t *testing.T) {
	f := mustLoad(t, `{monitors: [{name: a, pulse_check: {type: tcp, config: {address: "h:1"}}}]}`)
	if len(f.Monitors) != 1 || f.Monitors[0].Name != "a" {
		t.Fatalf("got %v", names(f))
	}
	// Broken JSON that is not YAML either keeps the JSON parser's message.
	_, err := load(t, "{\"monitors\": [}\n")
	if got, want := errorText(err), `syntax error: unexpected '}', want a value (line 1)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
