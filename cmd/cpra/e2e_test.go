package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEndToEnd runs a generated fleet of monitors against a simulated fleet
// of services on loopback, breaks known services and reads the alert log:
// each service a restart heals gets cyan then green, each service that
// cannot be restarted gets red and, once it heals, green, and every other
// service gets nothing. Stopping the program delivers every alert.
func TestEndToEnd(t *testing.T) {
	const (
		count    = 2000
		interval = 500 * time.Millisecond
	)
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()

	// The simulated services change only when the test says so.
	fl := newFleet(count, 0, 1)
	fl.recover = 0
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stopFleet := serveFleet(context.Background(), fl, ln, time.Hour)
	defer stopFleet()
	base := "http://" + ln.Addr().String()

	dir := t.TempDir()
	file, alertLog := filepath.Join(dir, "m.yaml"), filepath.Join(dir, "alerts.log")
	if code, _, stderr := runSync("gen", "--count", fmt.Sprint(count), "--base-url", base,
		"--interval", interval.String(), "--remediate", "--alert-log", alertLog, "--out", file); code != 0 {
		t.Fatalf("gen: exit %d\n%s", code, stderr)
	}
	_, stderr, stop := started(t, "--yaml", file, "--metrics.addr", "127.0.0.1:0")
	metricsURL := waitFor(t, stderr, regexp.MustCompile(`server=metrics url=(\S+)`))

	// Let every monitor pass a check first (2·count checks take two
	// intervals), so that each failure below opens an episode.
	poll(t, 15*time.Second, func() (bool, string) {
		_, body := get(t, c, "GET", metricsURL)
		n := checkExposition(t, body)["cpra_checks_total"]
		return n >= 2*count, fmt.Sprintf("%v checks", n)
	})

	// One service in 40 breaks (a restart heals it), another one in 40
	// wedges (restarts fail, so remediation gives up: red).
	healed, wedgedSet := map[string]bool{}, map[string]bool{}
	fl.mu.Lock()
	for i := range count {
		switch i % 40 {
		case 1:
			fl.state[i] = broken
			healed[fmt.Sprintf("svc-%d", i)] = true
		case 2:
			fl.state[i] = wedged
			wedgedSet[fmt.Sprintf("svc-%d", i)] = true
		}
	}
	fl.mu.Unlock()

	// Once every wedged service is red, heal them all. The limits leave a
	// busy machine room: on an idle one this takes a few seconds.
	poll(t, time.Minute, func() (bool, string) {
		reds := countCodes(t, alertLog, "red")
		return reds >= len(wedgedSet), fmt.Sprintf("%d red alerts, want %d", reds, len(wedgedSet))
	})
	fl.mu.Lock()
	for i := range count {
		if i%40 == 2 {
			fl.state[i] = healthy
		}
	}
	fl.mu.Unlock()
	poll(t, time.Minute, func() (bool, string) {
		greens := countCodes(t, alertLog, "green")
		return greens >= len(healed)+len(wedgedSet), fmt.Sprintf("%d green alerts, want %d", greens, len(healed)+len(wedgedSet))
	})

	if code := stop(); code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
	}
	if !regexp.MustCompile(`msg=stopped .* alerts_failed=0`).MatchString(stderr.String()) {
		t.Errorf("want a clean stop with every alert delivered; stderr:\n%s", stderr.String())
	}

	seq := codesByMonitor(t, alertLog)
	for name, codes := range seq {
		got := strings.Join(codes, " ")
		switch {
		case healed[name]:
			if got != "cyan green" {
				t.Errorf("%s (healed by a restart): got %q, want \"cyan green\"", name, got)
			}
		case wedgedSet[name]:
			if got != "red green" {
				t.Errorf("%s (restarts fail): got %q, want \"red green\"", name, got)
			}
		default:
			t.Errorf("%s (never failed): got %q, want no alerts", name, got)
		}
	}
	for name := range healed {
		if _, ok := seq[name]; !ok {
			t.Errorf("%s (broken): no alerts", name)
		}
	}
	for name := range wedgedSet {
		if _, ok := seq[name]; !ok {
			t.Errorf("%s (wedged): no alerts", name)
		}
	}
}

// poll calls cond until it reports true, failing the test with its last
// description after timeout.
func poll(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, what := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// codesByMonitor reads an alert log and returns each monitor's codes in
// order.
func codesByMonitor(t *testing.T, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	seq := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var a struct {
			Monitor string `json:"monitor"`
			Code    string `json:"code"`
		}
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			// A line being written may be incomplete while the program runs.
			continue
		}
		seq[a.Monitor] = append(seq[a.Monitor], a.Code)
	}
	return seq
}

func countCodes(t *testing.T, path, code string) int {
	t.Helper()
	n := 0
	for _, codes := range codesByMonitor(t, path) {
		for _, c := range codes {
			if c == code {
				n++
			}
		}
	}
	return n
}
