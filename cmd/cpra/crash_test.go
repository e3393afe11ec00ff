package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestKillRestart runs the command as a child process on a fleet whose
// services break and heal at random, kills it with SIGKILL at random
// moments (mid-incident, mid-remediation, mid-delivery) and starts it again
// each time on the same state file. Half the monitors tell a
// PagerDuty-shaped receiver (one incident per dedup key), half a webhook
// receiver with no dedup. Across all the restarts, per monitor: the alerts
// follow the grammar, one outage never opens a second incident, every
// incident is resolved, the webhook sees at most two duplicates per kill
// (the deliveries in flight at the kill, each with its key),
// and remediation attempts go on counting instead of starting over.
func TestKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and kills it 50 times; runs without -short")
	}
	const (
		services = 200
		kills    = 50
	)
	dir := t.TempDir()
	bin := buildCommand(t)

	// The fleet: each service healthy (0), broken but repairable (1) or
	// wedged, repairs do not help (2).
	var state [services]atomic.Int32
	var fixMu sync.Mutex
	fixes := map[string][]int{} // monitor/since -> attempts seen, in order
	targets := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		i, _ := strconv.Atoi(parts[len(parts)-1])
		switch parts[0] {
		case "svc":
			if state[i].Load() != 0 {
				http.Error(w, "down", http.StatusServiceUnavailable)
			}
		case "fix":
			var inc struct {
				Monitor string    `json:"monitor"`
				Attempt int       `json:"attempt"`
				Since   time.Time `json:"since"`
			}
			json.NewDecoder(r.Body).Decode(&inc)
			fixMu.Lock()
			k := inc.Monitor + "/" + inc.Since.UTC().Format(time.RFC3339Nano)
			fixes[k] = append(fixes[k], inc.Attempt)
			fixMu.Unlock()
			if state[i].CompareAndSwap(1, 0) {
				return
			}
			http.Error(w, "still broken", http.StatusInternalServerError)
		}
	}))
	defer targets.Close()

	// The PagerDuty-shaped receiver: incidents by dedup key.
	type pdEvent struct {
		Action string `json:"event_action"`
		Key    string `json:"dedup_key"`
		Source string
	}
	var pdMu sync.Mutex
	pdEvents := map[string][]string{} // monitor -> "trigger key" / "resolve key", in order
	pd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Action  string `json:"event_action"`
			Key     string `json:"dedup_key"`
			Payload struct {
				Source string `json:"source"`
			} `json:"payload"`
		}
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &ev)
		mon := strings.Split(strings.TrimPrefix(ev.Key, "cpra/"), "/")[0]
		pdMu.Lock()
		pdEvents[mon] = append(pdEvents[mon], ev.Action+" "+ev.Key)
		pdMu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"success"}`)
	}))
	defer pd.Close()

	// The webhook receiver: every delivery, duplicates included.
	type delivery struct {
		Key, Code, Flap string
		Since           time.Time
		Repeat          int
	}
	var hookMu sync.Mutex
	hookSeen := map[string]int{}
	hookLog := map[string][]delivery{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Key     string    `json:"key"`
			Monitor string    `json:"monitor"`
			Code    string    `json:"code"`
			Flap    string    `json:"flap"`
			Since   time.Time `json:"since"`
			Repeat  int       `json:"repeat"`
		}
		json.NewDecoder(r.Body).Decode(&p)
		hookMu.Lock()
		hookSeen[p.Key]++
		if hookSeen[p.Key] == 1 {
			hookLog[p.Monitor] = append(hookLog[p.Monitor], delivery{p.Key, p.Code, p.Flap, p.Since, p.Repeat})
		}
		hookMu.Unlock()
	}))
	defer hook.Close()

	var y strings.Builder
	y.WriteString("monitors:\n")
	for i := range services {
		fmt.Fprintf(&y, "  - name: svc-%03d\n    pulse_check:\n      type: http\n      interval: 100ms\n      timeout: 1s\n"+
			"      max_failures: 2\n      config: {url: %q}\n", i, targets.URL+fmt.Sprintf("/svc/%d", i))
		fmt.Fprintf(&y, "    intervention:\n      type: http\n      max_attempts: 4\n      policy: {backoff: 150ms}\n"+
			"      config: {url: %q, method: POST}\n", targets.URL+fmt.Sprintf("/fix/%d", i))
		if i%2 == 0 {
			fmt.Fprintf(&y, "    codes:\n      red: {notify: pagerduty, config: {routing_key: k, endpoint: %q}}\n"+
				"      green: {notify: pagerduty, config: {routing_key: k, endpoint: %q}}\n", pd.URL, pd.URL)
		} else {
			y.WriteString("    codes:\n")
			for _, c := range []string{"yellow", "red", "cyan", "green", "gray"} {
				fmt.Fprintf(&y, "      %s: {notify: webhook, config: {url: %q}}\n", c, hook.URL)
			}
		}
	}
	file := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(file, []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	stateFile := filepath.Join(dir, "fleet.state")

	// Chaos: services break (a fifth of them wedged) and wedged ones heal.
	stop := make(chan struct{})
	chaosDone := make(chan struct{})
	rng := rand.New(rand.NewPCG(1, 2))
	go func() {
		defer close(chaosDone)
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			for range 3 {
				i := rng.IntN(services)
				switch s := state[i].Load(); {
				case s == 0 && rng.IntN(5) == 0:
					state[i].Store(2)
				case s == 0:
					state[i].Store(1)
				case s == 2 && rng.IntN(3) == 0:
					state[i].Store(0)
				}
			}
		}
	}()

	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "--yaml", file, "--state", stateFile)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	krng := rand.New(rand.NewPCG(3, 4))
	for range kills {
		cmd := start()
		time.Sleep(time.Duration(300+krng.IntN(1200)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	close(stop)
	<-chaosDone
	for i := range services {
		state[i].Store(0)
	}
	// A last run that may finish: every incident must close.
	cmd := start()
	open := func() (pdOpen, hookOpen int) {
		pdMu.Lock()
		for _, evs := range pdEvents {
			if len(evs) > 0 && strings.HasPrefix(evs[len(evs)-1], "trigger") {
				pdOpen++
			}
		}
		pdMu.Unlock()
		hookMu.Lock()
		for _, ds := range hookLog {
			if len(ds) > 0 && ds[len(ds)-1].Code != "green" {
				hookOpen++
			}
		}
		hookMu.Unlock()
		return
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, h := open()
		if p == 0 && h == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after 60s of a healthy fleet: %d PagerDuty incidents and %d webhook episodes still open", p, h)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()

	// PagerDuty: per monitor, an incident is triggered once, resolved
	// once, and no second one opens while one is open.
	pdMu.Lock()
	incidents, pdRepeats := 0, 0
	for mon, evs := range pdEvents {
		openKey, lastResolved := "", ""
		for _, ev := range evs {
			action, key, _ := strings.Cut(ev, " ")
			switch {
			case action == "resolve" && key == lastResolved, action == "trigger" && key == openKey:
				pdRepeats++ // the same event again (sent again after a kill): the receiver's dedup drops it
			case action == "trigger" && openKey == "":
				openKey = key
				incidents++
			case action == "trigger" && key != openKey:
				t.Errorf("%s: incident %s triggered while %s is open: a second incident for one outage (%v)", mon, key, openKey, evs)
			case action == "resolve" && key == openKey:
				openKey, lastResolved = "", key
			case action == "resolve":
				t.Errorf("%s: resolve of %s, which is not the open incident %q (%v)", mon, key, openKey, evs)
			}
		}
		if openKey != "" {
			t.Errorf("%s: incident %s never resolved (%v)", mon, openKey, evs)
		}
	}
	pdMu.Unlock()

	// Webhook: duplicates, and the grammar of every episode.
	hookMu.Lock()
	dups, episodes := 0, 0
	for _, n := range hookSeen {
		dups += n - 1
	}
	grammar := regexp.MustCompile(`^(yellow )?(cyan )*(red (r )*)?green$`)
	for mon, ds := range hookLog {
		var cur []string
		var since time.Time
		for _, d := range ds {
			if d.Code == "gray" {
				continue
			}
			if len(cur) > 0 && !d.Since.Equal(since) {
				t.Errorf("%s: %s of episode %v arrived while episode %v (%v) was open", mon, d.Code, d.Since, since, cur)
			}
			since = d.Since
			w := d.Code
			if d.Code == "red" && d.Repeat > 0 {
				w = "r"
			}
			cur = append(cur, w)
			if d.Code == "green" {
				if s := strings.Join(cur, " "); !grammar.MatchString(s) {
					t.Errorf("%s: episode %q breaks the grammar", mon, s)
				}
				episodes++
				cur = nil
			}
		}
	}
	hookMu.Unlock()
	// A kill repeats the deliveries whose fate was not yet written (a
	// write every 10 ms): about one per kill, more on a busy machine, where
	// writes lag; each repeat has its key, which a receiver drops.
	if dups > 2*kills {
		t.Errorf("%d duplicate webhook deliveries over %d kills, want at most two per kill", dups, kills)
	}
	t.Logf("%d duplicate webhook deliveries (same key) over %d kills", dups, kills)

	// Remediation: within an episode, attempt numbers go on counting
	// across the restarts, never back. An attempt is recorded before it
	// starts, so a kill at that moment may cost it: a number may be
	// skipped, never reset.
	fixMu.Lock()
	counted := 0
	for k, as := range fixes {
		for i := 1; i < len(as); i++ {
			if as[i] < as[i-1] {
				t.Errorf("%s: attempts %v, want them counting on", k, as)
				break
			}
		}
		if len(as) > 1 {
			counted++
		}
	}
	keys := make([]string, 0, len(fixes))
	for k := range fixes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fixMu.Unlock()
	t.Logf("%d kills: %d PagerDuty incidents (%d events sent again, dropped by their dedup key), %d webhook episodes, "+
		"%d duplicate webhook deliveries, %d episodes with several attempts", kills, incidents, pdRepeats, episodes, dups, counted)
	if incidents < 20 || episodes < 20 {
		t.Errorf("only %d incidents and %d episodes: the fleet did not break enough to test anything", incidents, episodes)
	}
}
