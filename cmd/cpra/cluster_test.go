package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/cluster/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestClusterOfThreeProcesses runs the command three times as child
// processes on one real etcd, on the same file: every monitor is checked
// by exactly one of them (the targets count the checks); an outage opens
// one PagerDuty incident per target; the process that runs most of them is
// killed with SIGKILL, and within TTL + 5 s the other two hold all its
// shards, check its monitors, carry its incidents on (no second trigger)
// and resolve each once.
func TestClusterOfThreeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs three of it on etcd; runs without -short")
	}
	const (
		services = 150
		shards   = 48
		ttl      = 4 * time.Second
		interval = 200 * time.Millisecond
		bad      = 30
	)
	dir := t.TempDir()
	bin := buildCommand(t)
	ep := etcdtest.Start(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	var mu sync.Mutex
	down := map[int]bool{}
	hits := map[int]int{}
	targets := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/svc/"))
		mu.Lock()
		hits[i]++
		d := down[i]
		mu.Unlock()
		if d {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer targets.Close()
	setDown := func(d bool) {
		mu.Lock()
		for i := range bad {
			down[i] = d
		}
		mu.Unlock()
	}
	// checkedOnce checks that over a few seconds every target was checked
	// at the rate of one checker, not two and not none.
	checkedOnce := func(when string) {
		t.Helper()
		mu.Lock()
		clear(hits)
		mu.Unlock()
		const window = 3 * time.Second
		time.Sleep(window)
		mu.Lock()
		defer mu.Unlock()
		want := int(window / interval)
		for i := range services {
			if n := hits[i]; n < 1 || n > want*8/5 {
				t.Errorf("%s: svc-%d was checked %d times in %v, want about %d (one checker)", when, i, n, window, want)
			}
		}
	}

	// PagerDuty-shaped receiver: events by dedup key.
	var pdMu sync.Mutex
	events := map[string][]string{} // monitor -> "trigger key" / "resolve key"
	seen := map[string]int{}
	pd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Action string `json:"event_action"`
			Key    string `json:"dedup_key"`
		}
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &ev)
		mon := strings.Split(strings.TrimPrefix(ev.Key, "cpra/"), "/")[0]
		pdMu.Lock()
		seen[ev.Action+" "+ev.Key]++
		if seen[ev.Action+" "+ev.Key] == 1 {
			events[mon] = append(events[mon], ev.Action+" "+ev.Key)
		}
		pdMu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"success"}`)
	}))
	defer pd.Close()
	count := func(action string) (n int) {
		pdMu.Lock()
		defer pdMu.Unlock()
		for i := range bad {
			for _, ev := range events[fmt.Sprintf("svc-%03d", i)] {
				if strings.HasPrefix(ev, action) {
					n++
					break
				}
			}
		}
		return n
	}

	var y strings.Builder
	y.WriteString("monitors:\n")
	for i := range services {
		fmt.Fprintf(&y, "  - name: svc-%03d\n    pulse_check:\n      type: http\n      interval: %v\n      timeout: 1s\n"+
			"      max_failures: 2\n      config: {url: %q}\n", i, interval, targets.URL+fmt.Sprintf("/svc/%d", i))
		fmt.Fprintf(&y, "    codes:\n      red: {notify: pagerduty, config: {routing_key: k, endpoint: %q}}\n"+
			"      green: {notify: pagerduty, config: {routing_key: k, endpoint: %q}}\n", pd.URL, pd.URL)
	}
	file := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(file, []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	procs := map[string]*exec.Cmd{}
	for _, name := range []string{"m1", "m2", "m3"} {
		cmd := exec.Command(bin, "--yaml", file, "--cluster.etcd", ep, "--cluster.name", name,
			"--cluster.ttl", ttl.String(), "--cluster.shards", strconv.Itoa(shards))
		log, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		defer log.Close()
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[name] = cmd
		defer func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		}()
	}
	logs := func() string {
		var b strings.Builder
		for name := range procs {
			out, _ := os.ReadFile(filepath.Join(dir, name+".log"))
			fmt.Fprintf(&b, "--- %s\n%s", name, out)
		}
		return b.String()
	}
	// owners reads who holds each shard from etcd.
	owners := func() map[int]string {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := cli.Get(ctx, "/cpra/owner/", clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		o := map[int]string{}
		for _, kv := range r.Kvs {
			s, _ := strconv.Atoi(strings.TrimPrefix(string(kv.Key), "/cpra/owner/"))
			o[s] = string(kv.Value)
		}
		return o
	}
	held := func(names ...string) bool {
		o := owners()
		if len(o) != shards {
			return false
		}
		by := map[string]int{}
		for _, n := range o {
			by[n]++
		}
		for _, n := range names {
			if by[n] == 0 {
				return false
			}
		}
		return len(by) == len(names)
	}
	wait := func(what string, limit time.Duration, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > limit {
				t.Fatalf("%s: not within %v\n%s", what, limit, logs())
			}
			time.Sleep(50 * time.Millisecond)
		}
		return time.Since(start)
	}
	wait("three members hold the shards", 60*time.Second, func() bool { return held("m1", "m2", "m3") })
	checkedOnce("three members")

	setDown(true)
	wait("an incident per target down", 30*time.Second, func() bool { return count("trigger") == bad })
	time.Sleep(500 * time.Millisecond) // the deliveries' records are settled
	o := owners()
	per := map[string]int{}
	for i := range bad {
		per[o[cpra.ShardOf(fmt.Sprintf("svc-%03d", i), shards)]]++
	}
	victim := "m1"
	for name, n := range per {
		if n > per[victim] {
			victim = name
		}
	}
	var survivors []string
	for name := range procs {
		if name != victim {
			survivors = append(survivors, name)
		}
	}
	procs[victim].Process.Signal(syscall.SIGKILL)
	procs[victim].Wait()
	// Within TTL + 5 s on a machine that is not overloaded; the limit
	// leaves a busy one room, and the log says what it took.
	failover := wait("the survivors hold every shard", 30*time.Second, func() bool { return held(survivors...) })
	t.Logf("killed %s, which ran %d of the %d targets down; its shards moved within %v", victim, per[victim], bad, failover.Round(time.Millisecond))
	checkedOnce("after the kill")

	setDown(false)
	wait("every incident resolved", 30*time.Second, func() bool { return count("resolve") == bad })
	time.Sleep(500 * time.Millisecond)
	pdMu.Lock()
	for i := range bad {
		mon := fmt.Sprintf("svc-%03d", i)
		evs := events[mon]
		if len(evs) != 2 || !strings.HasPrefix(evs[0], "trigger") || !strings.HasPrefix(evs[1], "resolve") ||
			strings.Fields(evs[0])[1] != strings.Fields(evs[1])[1] {
			t.Errorf("%s: events %v, want one trigger and one resolve of the same key", mon, evs)
		}
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	if dups != 0 {
		t.Errorf("%d events delivered twice; none were in flight at the kill", dups)
	}
	for i := bad; i < services; i++ {
		if evs := events[fmt.Sprintf("svc-%03d", i)]; len(evs) != 0 {
			t.Errorf("svc-%03d was never down, yet: %v", i, evs)
		}
	}
	pdMu.Unlock()
	for _, name := range survivors {
		procs[name].Process.Signal(syscall.SIGTERM)
		if err := procs[name].Wait(); err != nil {
			t.Errorf("%s after SIGTERM: %v", name, err)
		}
	}
	if t.Failed() {
		t.Log(logs())
	}
}
