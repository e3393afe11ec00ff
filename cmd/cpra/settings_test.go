package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestConfigSettings(t *testing.T) {
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	monitors := writeFile(t, "m.yaml", "monitors: []\n")
	settings := writeFile(t, "engine.yaml", `# engine settings
workers:
  min: 5
  max: 5
queue_capacity: 1024
slo: 50ms
headroom: 0.5
shutdown_timeout: 7s
notify:
  timeout: 2s
  retries: 1
  backoff: 10ms
  max_elapsed: 1m
capacity: 10
`)
	_, stderr, stop := started(t, "--yaml", monitors, "--config", settings, "--metrics.addr", "127.0.0.1:0")
	metricsURL := waitFor(t, stderr, regexp.MustCompile(`server=metrics url=(\S+)`))

	// With min = max = 5, every pipeline runs exactly five workers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get(t, c, "GET", metricsURL)
		if code != 200 {
			t.Fatalf("metrics: status %d", code)
		}
		s := checkExposition(t, body)
		got := s[`cpra_pipeline_workers{pipeline="pulse"}`]
		if got == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pulse workers = %v, want 5 (workers: {min: 5, max: 5})", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "msg=\"shutting down\" timeout=7s") {
		t.Errorf("want the shutdown timeout of the file (7s); stderr:\n%s", stderr.String())
	}
}

func TestConfigSettingsErrors(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		want       []string // each must appear in stderr
	}{
		{"unknown key", "workers: {min: 2}\nwrokers: 3\n",
			[]string{`wrokers: unknown field; known fields are workers, queue_capacity`, "(line 2)"}},
		{"unknown nested key", "notify:\n  timeout: 1s\n  retry: 2\n",
			[]string{`notify.retry: unknown field; known fields are timeout, retries, backoff, max_elapsed (line 3)`}},
		{"bad duration", "slo: 3x\n", []string{`slo: "3x" is not a duration such as 500ms or 2m (line 1)`}},
		{"negative duration", "shutdown_timeout: -1s\n", []string{`shutdown_timeout: -1s is not positive (line 1)`}},
		{"not an integer", "queue_capacity: lots\n", []string{`queue_capacity: "lots" is not an integer (line 1)`}},
		{"too small", "workers:\n  min: 0\n", []string{`workers.min: 0 is less than 1 (line 2)`}},
		{"min above max", "\nworkers: {min: 9, max: 3}\n", []string{`workers: min 9 is more than max 3 (line 2)`}},
		{"not a mapping", "notify: 3\n", []string{`notify: want a mapping with keys timeout, retries, backoff, max_elapsed (line 1)`}},
		{"twice", "slo: 1s\nslo: 2s\n", []string{`slo: set twice (first on line 1) (line 2)`}},
		{"bad headroom", "headroom: -0.5\n", []string{`headroom: -0.5 is negative (line 1)`}},
		{"all at once", "slo: x\ncapacity: -1\nnotify: {backoff: soon}\n", []string{
			`slo: "x" is not a duration`, `capacity: -1 is less than 0 (line 2)`, `notify.backoff: "soon" is not a duration`}},
		{"not YAML", "workers: [\n", []string{"yaml:"}},
		{"group_wait alone", "group_wait: 10s\n", []string{`group_wait: needs group_by, the label to group alerts by (line 1)`}},
		{"group_wait too long", "group_by: team\ngroup_wait: 2h\n", []string{`group_wait: 2h0m0s is above the maximum 1h (line 2)`}},
		{"group_by empty", "group_by: \"\"\n", []string{`group_by: empty: give the label whose value groups alerts (line 1)`}},
		{"group_by a list", "group_by: [a, b]\n", []string{`group_by: want a value (line 1)`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, "engine.yaml", tt.text)
			code, _, stderr := runSync("--config", file, "--yaml", "unused.yaml", "--validate")
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if !strings.HasPrefix(stderr, "cpra: --config "+file+": ") {
				t.Errorf("stderr does not start with the flag and the file:\n%s", stderr)
			}
		})
	}
	code, _, stderr := runSync("--config", "no-such-file.yaml")
	if code != 2 || !strings.Contains(stderr, "no-such-file.yaml") {
		t.Errorf("missing file: exit %d, stderr:\n%s", code, stderr)
	}
}
