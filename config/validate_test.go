package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/intervene"
)

// TestRulesAreValidates builds a file of one monitor for every combination
// of a grid of schedule values, in range and out of it: config must refuse
// exactly the monitors cpra.Monitor.Validate refuses, naming the same
// fields, so that no rule is added or lost on the way.
func TestRulesAreValidates(t *testing.T) {
	intervals := []string{"", "5ms", "10ms", "30s", "800h"}
	timeouts := []string{"", "-1s", "5s", "745h"}
	retries := []string{"", "5ms", "20s", "1m"}
	thresholds := []string{"", "-1", "4", "70000"}
	windows := []string{"", "3", "4", "65"}
	dur := func(s string) time.Duration {
		if s == "" {
			return 0
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	num := func(s string) int {
		var v int
		if s != "" {
			fmt.Sscan(s, &v)
		}
		return v
	}
	var text strings.Builder
	text.WriteString("monitors:\n")
	var want []cpra.Monitor
	set := func(key, val string) {
		if val != "" {
			fmt.Fprintf(&text, "      %s: %s\n", key, val)
		}
	}
	for _, iv := range intervals {
		for _, to := range timeouts {
			for _, ri := range retries {
				for _, ft := range thresholds {
					for _, fw := range windows {
						name := fmt.Sprintf("m%d", len(want))
						fmt.Fprintf(&text, "  - name: %s\n    pulse_check:\n      type: tcp\n      config: {address: \"127.0.0.1:1\"}\n", name)
						set("interval", iv)
						set("timeout", to)
						set("retry_interval", ri)
						set("max_failures", ft)
						set("failure_window", fw)
						want = append(want, cpra.Monitor{Name: name, Check: placeholderCheck, Interval: dur(iv), Timeout: dur(to),
							RetryInterval: dur(ri), FailureThreshold: num(ft), FailureWindow: num(fw)})
					}
				}
			}
		}
	}
	_, err := load(t, text.String(), WithMaxErrors(1<<20))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %v, want Errors", err)
	}
	got := map[int][]string{}
	for _, e := range es {
		if !errors.Is(e, cpra.ErrInvalidMonitor) {
			t.Errorf("%v: not a cpra.ErrInvalidMonitor", e)
		}
		got[e.Index] = append(got[e.Index], e.Field)
	}
	refused := 0
	for i, m := range want {
		err := m.Validate()
		var me *cpra.MonitorError
		switch {
		case err == nil && got[i] != nil:
			t.Errorf("monitors[%d]: config refuses %v, Validate takes it", i, got[i])
		case err != nil && got[i] == nil:
			t.Errorf("monitors[%d]: Validate refuses it (%v), config takes it", i, err)
		case err != nil:
			refused++
			errors.As(err, &me)
			path, _ := locateKeys(&node{}, fileKeys[me.Field])
			if !slices.Contains(got[i], path) {
				t.Errorf("monitors[%d]: config names %v, not %s where Validate refuses %s", i, got[i], path, me.Field)
			}
		}
	}
	t.Logf("%d monitors, %d refused", len(want), refused)
	if refused == 0 || refused == len(want) {
		t.Fatalf("%d of %d refused: the grid tells nothing", refused, len(want))
	}
}

// TestValidateFields: each field Validate refuses is reported at the key
// and line of the file that set it, in the file's words.
func TestValidateFields(t *testing.T) {
	head := "monitors:\n  - name: a\n    pulse_check:\n      type: tcp\n      config: {address: \"127.0.0.1:1\"}\n"
	for _, tc := range []struct{ more, want string }{
		{"      interval: 40d\n", `pulse_check.interval: "40d" is not a duration (line 6)`},
		{"      interval: 800h\n", `pulse_check.interval: 800h0m0s is above the maximum 744h0m0s (line 6)`},
		{"      unhealthy_threshold: 70000\n", `pulse_check.unhealthy_threshold: 70000 is above the maximum 65535 (line 6)`},
		{"      healthy_threshold: -2\n", `pulse_check.healthy_threshold: negative (-2) (line 6)`},
		{"    repeat_interval: 1ms\n", `repeat_interval: 1ms is below the minimum 10ms (line 6)`},
		{"    flap: {high: 10, low: -1}\n", `flap.low: -1: want a percentage from 0 to below high (10) (line 6)`},
		{"    intervention:\n      type: http\n      max_attempts: -1\n      config: {url: \"http://127.0.0.1:1/\"}\n",
			`intervention.max_attempts: negative (-1) (line 8)`},
		{"    intervention:\n      type: http\n      config: {url: \"http://127.0.0.1:1/\"}\n      policy:\n        jitter: 150%\n",
			`intervention.policy.jitter: 1.5 is not a share from 0 to 1 (line 10)`},
		{"    intervention:\n      type: http\n      config: {url: \"http://127.0.0.1:1/\"}\n      policy: {limit: 3, backoff: -1s}\n",
			"intervention.policy.backoff: negative (-1s) (line 9)\n" +
				`monitors[0] "a": intervention.policy.window: a limit needs a positive window (line 9)`},
		{"    intervention:\n      type: http\n      config: {url: \"http://127.0.0.1:1/\"}\n      policy: {verify: x, dry_run: maybe, cooldwn: 1s}\n",
			"intervention.policy.verify: \"x\" is not an integer (line 9)\n" +
				`monitors[0] "a": intervention.policy.dry_run: "maybe" is not a boolean (true or false) (line 9)` + "\n" +
				`monitors[0] "a": intervention.policy.cooldwn: unknown field (did you mean "cooldown"?) (line 9)`},
		{"    depends_on: [b, a]\n", `depends_on: a monitor cannot depend on itself (line 6)`},
		{"    intervention:\n      type: http\n      config: {url: \"http://127.0.0.1:1/\", timeout: -1s}\n",
			`intervention.config.timeout: negative (-1s) (line 8)`},
		{"    intervention:\n      type: http\n      config: {url: \"http://127.0.0.1:1/\", timeout: 1m}\n      policy: {timeout: 2m}\n",
			`intervention.config.timeout: conflicts with policy.timeout (line 9), the same setting (line 8)`},
		{"    maintenance:\n      - {start: \"2025-06-01 02:00\", duration: 1h, repeat: weekly, until: \"2025-05-01 00:00\"}\n",
			`maintenance[0].until: 2025-05-01T00:00:00Z is before start 2025-06-01T02:00:00Z (line 7)`},
	} {
		_, err := load(t, head+tc.more)
		if got, want := errorText(err), `monitors[0] "a": `+tc.want; got != want {
			t.Errorf("%q:\ngot  %s\nwant %s", tc.more, got, want)
		}
	}
}

// TestPolicy reads intervention.policy into the monitor's Policy.
func TestPolicy(t *testing.T) {
	f := mustLoad(t, `monitors:
  - name: a
    pulse_check: {type: tcp, config: {address: "127.0.0.1:1"}}
    intervention:
      type: http
      max_attempts: 3
      config: {url: "http://127.0.0.1:1/"}
      policy: {backoff: 10s, max_backoff: 5m, jitter: 20%, verify: 2, cooldown: 1m, limit: 5, window: 1h, dry_run: true, timeout: 2m}
  - name: b
    pulse_check: {type: tcp, config: {address: "127.0.0.1:1"}}
    intervention:
      type: http
      max_attempts: 3
      config: {url: "http://127.0.0.1:1/", timeout: 2m}
      policy: {backoff: 10s, max_backoff: 5m, jitter: 0.2, verify: 2, cooldown: 1m, limit: 5, window: 1h, dry_run: true}
`)
	want := intervene.Policy{Backoff: 10 * time.Second, MaxBackoff: 5 * time.Minute, Jitter: 0.2, Verify: 2,
		Cooldown: time.Minute, Limit: 5, Window: time.Hour, DryRun: true, Timeout: 2 * time.Minute}
	for _, m := range f.Monitors {
		if m.Policy != want || m.MaxRemediations != 3 {
			t.Errorf("%s: got %+v, %d attempts; want %+v, 3", m.Name, m.Policy, m.MaxRemediations, want)
		}
	}
}

const defaultsYAML = `defaults:
  pulse_check:
    interval: 1m
    timeout: 5s
    max_failures: 2
  intervention:
    max_attempts: 2
    policy: {backoff: 30s, limit: 3, window: 1h}
  codes:
    red: {notify: log}
    green: {notify: log}
  repeat_interval: 4h
monitors:
  - name: plain
    pulse_check: {type: tcp, config: {address: "127.0.0.1:1"}}
  - name: own
    pulse_check: {type: tcp, interval: 10s, unhealthy_threshold: 5, config: {address: "127.0.0.1:1"}}
    repeat_interval: 0s
    codes: {red: {notify: webhook, config: {url: "http://127.0.0.1:1/"}}}
  - name: repaired
    pulse_check: {type: tcp, config: {address: "127.0.0.1:1"}}
    intervention:
      type: http
      config: {url: "http://127.0.0.1:1/"}
      policy: {backoff: 5s}
  - name: null-codes
    pulse_check: {type: tcp, config: {address: "127.0.0.1:1"}}
    codes:
`

// TestDefaults: a monitor takes each setting of the defaults block it does
// not set itself; the codes of the block make one route for all.
func TestDefaults(t *testing.T) {
	f := mustLoad(t, defaultsYAML)
	byName := map[string]cpra.Monitor{}
	for _, m := range f.Monitors {
		byName[m.Name] = m
	}
	plain, own, rep, nc := byName["plain"], byName["own"], byName["repaired"], byName["null-codes"]
	if plain.Interval != time.Minute || plain.Timeout != 5*time.Second || plain.FailureThreshold != 2 || plain.RepeatInterval != 4*time.Hour {
		t.Errorf("plain: %v %v %d %v; want the defaults 1m 5s 2 4h", plain.Interval, plain.Timeout, plain.FailureThreshold, plain.RepeatInterval)
	}
	if plain.Remediate != nil || plain.MaxRemediations != 0 {
		t.Errorf("plain: the intervention defaults apply without an intervention")
	}
	if own.Interval != 10*time.Second || own.Timeout != 5*time.Second || own.FailureThreshold != 5 || own.RepeatInterval != 0 {
		t.Errorf("own: %v %v %d %v; want its own 10s, the default 5s, its own 5 and 0s", own.Interval, own.Timeout, own.FailureThreshold, own.RepeatInterval)
	}
	wantPolicy := intervene.Policy{Backoff: 5 * time.Second, Limit: 3, Window: time.Hour}
	if rep.Remediate == nil || rep.MaxRemediations != 2 || rep.Policy != wantPolicy {
		t.Errorf("repaired: %d attempts, policy %+v; want 2 and %+v", rep.MaxRemediations, rep.Policy, wantPolicy)
	}
	r, ok := plain.Notify.(alert.Route)
	if !ok || r[alert.Red] == nil || r[alert.Green] == nil || r[alert.Yellow] != nil {
		t.Fatalf("plain: notify %v, want the default route of red and green", plain.Notify)
	}
	if fmt.Sprint(nc.Notify) != fmt.Sprint(plain.Notify) || fmt.Sprint(rep.Notify) != fmt.Sprint(plain.Notify) {
		t.Errorf("the monitors without codes do not share the default route: %v, %v, %v", plain.Notify, rep.Notify, nc.Notify)
	}
	if r2, _ := own.Notify.(alert.Route); r2 == nil || r2[alert.Green] != nil {
		t.Errorf("own: notify %v, want its own codes alone", own.Notify)
	}
	// The same file in JSON and read whole (with an anchor) builds the
	// same monitors, with the same digests.
	js := mustLoad(t, `{"defaults": {"pulse_check": {"interval": "1m", "timeout": "5s", "max_failures": 2},
  "intervention": {"max_attempts": 2, "policy": {"backoff": "30s", "limit": 3, "window": "1h"}},
  "codes": {"red": {"notify": "log"}, "green": {"notify": "log"}}, "repeat_interval": "4h"},
 "monitors": [
  {"name": "plain", "pulse_check": {"type": "tcp", "config": {"address": "127.0.0.1:1"}}},
  {"name": "own", "pulse_check": {"type": "tcp", "interval": "10s", "unhealthy_threshold": 5, "config": {"address": "127.0.0.1:1"}},
   "repeat_interval": "0s", "codes": {"red": {"notify": "webhook", "config": {"url": "http://127.0.0.1:1/"}}}},
  {"name": "repaired", "pulse_check": {"type": "tcp", "config": {"address": "127.0.0.1:1"}},
   "intervention": {"type": "http", "config": {"url": "http://127.0.0.1:1/"}, "policy": {"backoff": "5s"}}},
  {"name": "null-codes", "pulse_check": {"type": "tcp", "config": {"address": "127.0.0.1:1"}}, "codes": null}]}`)
	whole := mustLoad(t, strings.Replace(defaultsYAML, "  - name: plain\n", "  - name: &n plain\n", 1))
	for name, g := range map[string]*File{"json": js, "whole": whole} {
		if fmt.Sprint(g.Digests) != fmt.Sprint(f.Digests) {
			t.Errorf("%s: digests %x, want %x", name, g.Digests, f.Digests)
		}
	}
}

// TestDefaultsDigest: changing the defaults changes the digest of the
// monitors that take the setting, and of no other.
func TestDefaultsDigest(t *testing.T) {
	a := mustLoad(t, defaultsYAML)
	b := mustLoad(t, strings.Replace(defaultsYAML, "    timeout: 5s\n", "    timeout: 6s\n", 1))
	c := mustLoad(t, strings.Replace(defaultsYAML, "    max_failures: 2\n", "    max_failures: 4\n", 1))
	for i, m := range a.Monitors {
		if a.Digests[i] == b.Digests[i] {
			t.Errorf("%s: digest unchanged by the default timeout", m.Name)
		}
		if changed, own := a.Digests[i] != c.Digests[i], m.Name == "own"; changed == own {
			t.Errorf("%s: digest changed %v by the default max_failures", m.Name, changed)
		}
	}
}

// TestDefaultsErrors: a problem of the defaults block is reported once,
// named defaults.<key> at its line, and for the first monitor it
// concerns when it depends on the monitor's own settings.
func TestDefaultsErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`defaults:
  pulse_check: {interval: 5ms, type: tcp}
  codes: {red: {notify: pager}}
  labels: {a: b}
monitors:
  - name: a
    pulse_check: {type: tcp, config: {address: "127.0.0.1:1"}}
  - name: b
    pulse_check: {type: tcp, config: {address: "127.0.0.1:1"}}
`, `defaults.pulse_check.type: unknown field (line 2)
defaults.pulse_check.interval: 5ms is below the minimum 10ms (line 2)
defaults.codes.red.notify: "pager" is not a notifier (log, webhook, slack, pagerduty, email, sms) (line 3)
defaults.labels: unknown field (line 4)`},
		{`defaults:
  pulse_check: {retry_interval: 20s}
monitors:
  - name: a
    pulse_check: {type: tcp, interval: 10s, config: {address: "127.0.0.1:1"}}
  - name: b
    pulse_check: {type: tcp, interval: 10s, config: {address: "127.0.0.1:1"}}
  - name: c
    pulse_check: {type: tcp, interval: 15s, config: {address: "127.0.0.1:1"}}
`, `monitors[0] "a": defaults.pulse_check.retry_interval: 20s is longer than the interval 10s (line 2)
monitors[2] "c": defaults.pulse_check.retry_interval: 20s is longer than the interval 15s (line 2)`},
		{`monitors: []
defaults:
  pulse_check: {interval: 1m}
`, `defaults: must come before the monitors list, which is read as a stream (line 2)`},
		{`defaults: {}
defaults: {}
monitors: []
`, "syntax error: mapping key \"defaults\" already defined at line 1 (line 2)\nmonitors: missing: the file has no monitors list"},
		{`{"monitors": [], "defaults": {}}`, `defaults: must come before the monitors list, which is read as a stream (line 1)`},
		{`defaults: [1]
monitors: []
`, `defaults: want a mapping, found a sequence (line 1)`},
	} {
		_, err := load(t, tc.text)
		if got := errorText(err); got != tc.want {
			t.Errorf("%s\ngot\n%s\nwant\n%s", tc.text, got, tc.want)
		}
	}
}
