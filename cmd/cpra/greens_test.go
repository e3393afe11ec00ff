package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkTally wraps the simulated fleet and watches the checks it answers:
// for each service, the runs of failed checks. A run of one failed check
// is an episode the generated monitors (down on two failures, yellow not
// routed) tell nobody of: it must end with no green.
type checkTally struct {
	fl *fleet

	mu    sync.Mutex
	run   []int       // current run of failed checks per service
	runs  map[int]int // finished runs by length
	total int         // checks answered
}

func newCheckTally(fl *fleet) *checkTally {
	return &checkTally{fl: fl, run: make([]int, len(fl.state)), runs: map[int]int{}}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (c *checkTally) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	c.fl.ServeHTTP(sw, r)
	num, ok := strings.CutPrefix(r.URL.Path, "/svc/")
	i, err := strconv.Atoi(num)
	if !ok || err != nil || r.Method != http.MethodGet || i < 0 || i >= len(c.run) {
		return // a restart, or not a check
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	switch {
	case sw.status == http.StatusServiceUnavailable:
		c.run[i]++
	case c.run[i] > 0:
		c.runs[c.run[i]]++
		c.run[i] = 0
	}
}

// logLine is what the test reads of an alert log line.
type logLine struct {
	Monitor string `json:"monitor"`
	Code    string `json:"code"`
	Since   string `json:"since"`
}

// TestFleetGreensFollowToldAlerts runs a generated fleet with remediation
// (its alert log takes red, cyan and green, not yellow) against a
// simulated fleet whose services fail and recover often, for long enough
// to see many episodes, among them many short failures that only a yellow
// would tell of. Every green in the log must end an episode of which a red
// or a cyan was logged before: no monitor logs a green for an episode
// nobody heard of.
func TestFleetGreensFollowToldAlerts(t *testing.T) {
	const (
		count    = 300
		interval = 200 * time.Millisecond
		tick     = 250 * time.Millisecond
		runFor   = 15 * time.Second
	)
	fl := newFleet(count, 0.04, 7)
	fl.recover = 0.35
	tally := newCheckTally(fl)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Handler: tally, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ln) })
	wg.Go(func() { fl.run(ctx, tick) })
	defer func() {
		cancel()
		srv.Close()
		wg.Wait()
	}()

	dir := t.TempDir()
	file, alertLog := filepath.Join(dir, "m.yaml"), filepath.Join(dir, "alerts.log")
	if code, _, stderr := runSync("gen", "--count", strconv.Itoa(count), "--base-url", "http://"+ln.Addr().String(),
		"--interval", interval.String(), "--remediate", "--alert-log", alertLog, "--out", file); code != 0 {
		t.Fatalf("gen: exit %d\n%s", code, stderr)
	}
	_, stderr, stop := started(t, "--yaml", file)
	time.Sleep(runFor)
	if code := stop(); code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
	}
	if !regexp.MustCompile(`msg=stopped .* alerts_failed=0`).MatchString(stderr.String()) {
		t.Errorf("want a clean stop with every alert delivered; stderr:\n%s", stderr.String())
	}

	data, err := os.ReadFile(alertLog)
	if err != nil {
		t.Fatal(err)
	}
	told := map[string]map[string]bool{} // monitor: since of open episodes told of
	episodes := map[string]bool{}
	codes := map[string]int{}
	greens, lone := 0, 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var a logLine
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("alert log line %q: %v", sc.Text(), err)
		}
		codes[a.Code]++
		if a.Since == "" {
			t.Errorf("%s: %s without the episode's since: %s", a.Monitor, a.Code, sc.Text())
			continue
		}
		episodes[a.Monitor+" "+a.Since] = true
		if told[a.Monitor] == nil {
			told[a.Monitor] = map[string]bool{}
		}
		switch a.Code {
		case "red", "cyan":
			told[a.Monitor][a.Since] = true
		case "green":
			greens++
			if !told[a.Monitor][a.Since] {
				lone++
				if lone <= 10 {
					t.Errorf("%s: green for the episode since %s, of which no red or cyan was logged", a.Monitor, a.Since)
				}
			}
			delete(told[a.Monitor], a.Since)
		default:
			t.Errorf("%s: code %s in a log that takes red, cyan and green", a.Monitor, a.Code)
		}
	}
	tally.mu.Lock()
	blips, failRuns, checks := tally.runs[1], 0, tally.total
	for _, n := range tally.runs {
		failRuns += n
	}
	tally.mu.Unlock()
	t.Logf("%d checks answered; %d runs of failed checks ended, %d of them a single failure (told by a yellow only)", checks, failRuns, blips)
	open := 0
	for _, m := range told {
		open += len(m)
	}
	t.Logf("alert log: %v; %d episodes in it, %d greens checked, %d without an earlier red or cyan, %d told episodes still open at the stop",
		codes, len(episodes), greens, lone, open)
	if lone > 0 {
		t.Errorf("%d of %d greens end an episode nobody was told of", lone, greens)
	}
	// The test means something only if both kinds of episode were many:
	// short failures that must stay silent, and told ones ended by a green.
	if blips < 50 || greens < 100 || codes["red"] == 0 || codes["cyan"] == 0 {
		t.Errorf("%d single failures, %d greens, codes %v: want at least 50, 100, and reds and cyans, for the run to test anything", blips, greens, codes)
	}
	if lone > 10 {
		t.Errorf("(%d more not listed)", lone-10)
	}
}
