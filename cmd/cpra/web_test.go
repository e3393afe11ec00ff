package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ziad/cpra/statuspage"
)

// TestStatusPageServed runs the command with --http.addr over a healthy
// and a dead loopback service: the status page at / shows the dead one
// down with its error and its red among the recent alerts, /metrics beside
// it and --metrics.addr both carry the per-monitor series of the monitors
// --metrics.monitors selects, and only those.
func TestStatusPageServed(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	file := writeFile(t, "m.yaml", fmt.Sprintf(`monitors:
  - name: web-up
    labels: {team: web}
    pulse_check: {type: http, interval: 100ms, max_failures: 1, config: {url: "%s/health"}}
  - name: web-dead
    labels: {team: web}
    pulse_check: {type: tcp, interval: 100ms, max_failures: 1, config: {address: "%s"}}
  - name: data-up
    labels: {team: data}
    pulse_check: {type: http, interval: 100ms, max_failures: 1, config: {url: "%s/health"}}
`, up.URL, dead, up.URL))
	_, stderr, stop := started(t, "--yaml", file, "--state", "", "--http.addr", "127.0.0.1:0",
		"--metrics.addr", "127.0.0.1:0", "--metrics.monitors", "team=web")
	page := waitFor(t, stderr, regexp.MustCompile(`server="status page" url=(\S+)`))
	metricsURL := waitFor(t, stderr, regexp.MustCompile(`server=metrics url=(\S+)`))
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()

	var o statuspage.Overview
	poll(t, 20*time.Second, func() (bool, string) {
		req, _ := http.NewRequest("GET", page, nil)
		req.Header.Set("Accept", "application/json")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		o = statuspage.Overview{}
		if err := json.NewDecoder(res.Body).Decode(&o); err != nil {
			t.Fatalf("status page JSON: %v", err)
		}
		return o.Counts.Down == 1 && o.Counts.Up == 2 && len(o.Alerts) > 0, fmt.Sprintf("overview %+v", o)
	})
	if len(o.Problems) != 1 || o.Problems[0].Name != "web-dead" || !strings.Contains(o.Problems[0].Error, "refused") {
		t.Errorf("problems %+v, want web-dead with its error", o.Problems)
	}
	if a := o.Alerts[0]; a.Monitor != "web-dead" || a.Code != "red" {
		t.Errorf("recent alerts %+v, want web-dead's red", o.Alerts)
	}
	code, html := get(t, c, "GET", page+"monitors/web-dead")
	if code != 200 || !strings.Contains(html, `<td id="state">down`) {
		t.Errorf("web-dead's page: %d\n%s", code, html)
	}
	for _, url := range []string{strings.TrimSuffix(page, "/") + "/metrics", metricsURL} {
		code, body := get(t, c, "GET", url)
		if code != 200 {
			t.Fatalf("%s: %d", url, code)
		}
		s := checkExposition(t, body)
		if s[`cpra_monitor_up{monitor="web-up"}`] != 1 || s[`cpra_monitor_up{monitor="web-dead"}`] != 0 ||
			s[`cpra_monitor_failing{monitor="web-dead"}`] != 1 || s[`cpra_monitor_last_check_timestamp_seconds{monitor="web-up"}`] <= 0 {
			t.Errorf("%s: per-monitor series of team=web wrong or missing:\n%s", url, body)
		}
		if strings.Contains(body, "data-up") {
			t.Errorf("%s: a series of data-up, which --metrics.monitors does not select", url)
		}
		if s["cpra_monitors"] != 3 {
			t.Errorf("%s: cpra_monitors = %v, want 3", url, s["cpra_monitors"])
		}
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
}

func TestWebFlagErrors(t *testing.T) {
	code, _, stderr := runSync("--yaml", "x.yaml", "--metrics.monitors", "team")
	if code != 2 || !strings.Contains(stderr, "--metrics.monitors") {
		t.Errorf("a bad selector: exit %d, stderr %q; want 2 naming the flag", code, stderr)
	}
	code, stdout, stderr := runSync("--help")
	if help := stdout + stderr; code != 0 || !strings.Contains(help, "-http.addr") || !strings.Contains(help, "-metrics.monitors") {
		t.Errorf("--help: exit %d, lacks the web flags:\n%s", code, help)
	}
}
