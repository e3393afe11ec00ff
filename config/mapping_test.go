package config

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

// oneMonitor loads a file holding a single monitor whose pulse_check has
// the given type and config (YAML flow or block text indented under config).
func checkerFor(t *testing.T, typ, config string) pulse.Checker {
	t.Helper()
	text := fmt.Sprintf("monitors:\n  - name: m\n    pulse_check:\n      type: %s\n      config: %s\n", typ, config)
	f := mustLoad(t, text)
	return f.Monitors[0].Check
}

func testServer(t *testing.T) *httptest.Server {
	var flaky atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status": {"db": "up"}, "note": "all ok"}`)
	})
	mux.HandleFunc("/teapot", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s probe=%s %s", r.Method, r.Header.Get("X-Probe"), body)
	})
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1)%3 != 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		pulse.CloseIdleConnections()
	})
	return srv
}

func TestHTTPMapping(t *testing.T) {
	srv := testServer(t)
	u := srv.URL
	for _, tc := range []struct {
		name, config string
		pass         bool
	}{
		{"plain 2xx", `{url: "` + u + `/ok"}`, true},
		{"status fails by default", `{url: "` + u + `/teapot"}`, false},
		{"expected_status", `{url: "` + u + `/teapot", expected_status: 418}`, true},
		{"status list", `{url: "` + u + `/teapot", status: [200, 418]}`, true},
		{"status list without it", `{url: "` + u + `/ok", status: [418]}`, false},
		{"body_contains", `{url: "` + u + `/ok", body_contains: "all ok"}`, true},
		{"body_contains missing", `{url: "` + u + `/ok", body_contains: "nope"}`, false},
		{"body_regex", `{url: "` + u + `/ok", body_regex: "all o+k"}`, true},
		{"body_match", `{url: "` + u + `/ok", body_match: "^x"}`, false},
		{"json field", `{url: "` + u + `/ok", json_field: status.db, json_value: up}`, true},
		{"json field differs", `{url: "` + u + `/ok", json_field: status.db, json_value: down}`, false},
		{"redirect followed", `{url: "` + u + `/redirect"}`, true},
		{"redirect not followed", `{url: "` + u + `/redirect", follow_redirects: false}`, false},
		{"method, header, body", "\n        url: " + u + "/echo\n        method: put\n        headers: {X-Probe: \"1\"}\n        body: hello\n        body_contains: PUT probe=1 hello\n", true},
		{"retries", `{url: "` + u + `/flaky", retries: 2}`, true},
		{"max_latency", `{url: "` + u + `/slow", max_latency: 20ms}`, false},
		{"insecure and server name", `{url: "` + u + `/ok", insecure_skip_verify: true, server_name: x.test}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ck := checkerFor(t, "http", tc.config)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := ck.Check(ctx)
			if (err == nil) != tc.pass {
				t.Errorf("got %v, want pass=%v", err, tc.pass)
			}
		})
	}
}

func TestTCPAndExecMapping(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4)
			io.ReadFull(c, buf)
			io.WriteString(c, "PONG "+string(buf))
			c.Close()
		}
	}()
	defer func() { ln.Close(); <-done }()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	sh, err := lookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, tc := range []struct {
		name, typ, config string
		pass              bool
	}{
		{"tcp address", "tcp", `{address: "` + ln.Addr().String() + `", send: ping, expect: PONG}`, true},
		{"tcp host and port", "tcp", `{host: ` + host + `, port: ` + port + `, send: ping, expect_prefix: "PONG ping"}`, true},
		{"tcp reply differs", "tcp", `{address: "` + ln.Addr().String() + `", send: ping, expect: nope}`, false},
		{"exec exit 0", "exec", `{path: ` + sh + `, args: [-c, "exit 0"]}`, true},
		{"exec exit 1", "exec", `{command: ` + sh + `, args: [-c, "exit 1"]}`, false},
		{"exec env mapping", "exec", `{path: ` + sh + `, args: [-c, 'test "$FOO" = bar'], env: {FOO: bar}}`, true},
		{"exec env list", "exec", `{path: ` + sh + `, args: [-c, 'test "$FOO" = bar'], env: [FOO=baz]}`, false},
		{"exec dir", "exec", `{path: ` + sh + `, args: [-c, 'test "$(pwd)" = /'], dir: /}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ck := checkerFor(t, tc.typ, tc.config)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := ck.Check(ctx); (err == nil) != tc.pass {
				t.Errorf("got %v, want pass=%v", err, tc.pass)
			}
		})
	}
}

func lookPath(name string) (string, error) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", os.ErrNotExist
}

// TestBuiltCheckers checks the targets of checkers that need the network to
// run, by their descriptions.
func TestBuiltCheckers(t *testing.T) {
	for _, tc := range []struct {
		typ, config, want string
	}{
		{"dns", `{name: example.com, server: "127.0.0.1:5353", record_type: mx, contains: mail}`, "127.0.0.1:5353"},
		{"dns", `{name: gone.example.com, rcode: nxdomain}`, "gone.example.com"},
		{"icmp", `{host: 192.0.2.1, count: 3}`, "192.0.2.1"},
		{"tls", `{host: example.com, min_validity: 336h}`, "example.com:443"},
		{"tls", `{address: "example.com:8443", insecure_skip_verify: true}`, "example.com:8443"},
		{"grpc", `{host: 127.0.0.1, port: 50051, service: payments, tls: true}`, "127.0.0.1:50051"},
	} {
		t.Run(tc.typ+" "+tc.want, func(t *testing.T) {
			ck := checkerFor(t, tc.typ, tc.config)
			if got := fmt.Sprint(ck); !strings.Contains(got, tc.want) {
				t.Errorf("checker %s, want it to mention %s", got, tc.want)
			}
		})
	}
}

func TestThresholdAliases(t *testing.T) {
	for _, tc := range []struct {
		fields string
		want   int
		err    string
	}{
		{"max_failures: 4", 4, ""},
		{"unhealthy_threshold: 5", 5, ""},
		{"max_failures: 6\n      unhealthy_threshold: 6", 6, ""},
		{"max_failures: 6\n      unhealthy_threshold: 7", 0, `monitors[0] "m": pulse_check.unhealthy_threshold: conflicts with max_failures (line 4), another name for the same setting (line 5)`},
		{"max_failures: 70000", 0, `monitors[0] "m": pulse_check.max_failures: 70000 is above the maximum 65535 (line 4)`},
	} {
		text := "monitors:\n  - name: m\n    pulse_check:\n      " + tc.fields + "\n      healthy_threshold: 2\n      type: tcp\n      config: {address: \"h:1\"}\n"
		f, err := load(t, text)
		if got := errorText(err); got != tc.err {
			t.Errorf("%q: error %q, want %q", tc.fields, got, tc.err)
			continue
		}
		if err == nil && (f.Monitors[0].FailureThreshold != tc.want || f.Monitors[0].SuccessThreshold != 2) {
			t.Errorf("%q: thresholds %d/%d, want %d/2", tc.fields, f.Monitors[0].FailureThreshold, f.Monitors[0].SuccessThreshold, tc.want)
		}
	}
}

func TestInterventions(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.Store(fmt.Sprintf("%s %s %s %s", r.Method, r.URL.Path, r.Header.Get("Authorization"), body))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	dir := t.TempDir()
	sh, err := lookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	text := fmt.Sprintf(`monitors:
  - name: web
    pulse_check: {type: tcp, config: {address: "h:1"}}
    intervention:
      action: webhook
      max_attempts: 3
      config:
        url: %s/restart
        headers: {Authorization: "${TOKEN}"}
        expected_status: 202
  - name: script
    pulse_check: {type: tcp, timeout: 2s, config: {address: "h:1"}}
    intervention:
      type: exec
      config:
        path: %s
        args: [-c, 'echo "$CPRA_MONITOR $GREETING" > %s/out']
        env: {GREETING: hi}
        timeout: 1s
  - name: docker
    pulse_check: {type: tcp, config: {address: "h:1"}}
    intervention:
      type: docker_restart
      config: {container: web-1, socket: /tmp/none.sock, stop_timeout: 5s, api_version: "1.45"}
`, srv.URL, sh, dir)
	f := mustLoad(t, text, env("TOKEN", "Bearer t0k"))
	if len(f.Warnings) != 0 {
		t.Errorf("warnings: %v", f.Warnings)
	}
	web, script, docker := f.Monitors[0], f.Monitors[1], f.Monitors[2]
	if web.MaxRemediations != 3 {
		t.Errorf("max attempts %d, want 3", web.MaxRemediations)
	}
	ctx := context.Background()
	if err := web.Remediate.Remediate(ctx, intervene.Incident{Monitor: "web", Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if s, _ := got.Load().(string); !strings.HasPrefix(s, "POST /restart Bearer t0k {") || !strings.Contains(s, `"monitor":"web"`) {
		t.Errorf("server saw %q", s)
	}
	if err := script.Remediate.Remediate(ctx, intervene.Incident{Monitor: "script", Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if out, _ := os.ReadFile(filepath.Join(dir, "out")); string(out) != "script hi\n" {
		t.Errorf("script wrote %q", out)
	}
	if s := fmt.Sprint(docker.Remediate); !strings.Contains(s, "web-1") {
		t.Errorf("docker remediator %s", s)
	}
}

func TestNotifiers(t *testing.T) {
	type req struct{ path, sig, body string }
	reqs := make(chan req, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reqs <- req{r.URL.Path, r.Header.Get(alert.SignatureHeader), string(body)}
		switch {
		case strings.Contains(r.URL.Path, "enqueue"):
			w.WriteHeader(http.StatusAccepted)
		case strings.Contains(r.URL.Path, "Messages"):
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer srv.Close()
	var stdout syncBuffer
	text := fmt.Sprintf(`monitors:
  - name: m
    pulse_check: {type: tcp, config: {address: "h:1"}}
    codes:
      yellow: {notify: log}
      red:
        notify: pagerduty
        config: {routing_key: "${PD}", endpoint: %[1]s/v2/enqueue, source: edge}
      green:
        notify: webhook
        config: {url: %[1]s/hook, secret: s3cret, headers: {X-Team: core}}
      cyan:
        notify: sms
        config: {account_sid: AC1, auth_token: tok, from: "+15550000000", to: "+15551111111", base_url: %[1]s}
      gray:
        dispatch: false
        notify: slack
        config: {url: "https://hooks.slack.test/services/x"}
  - name: n
    pulse_check: {type: tcp, config: {address: "h:1"}}
    codes:
      red: {notify: email, config: {addr: "127.0.0.1:25", from: cpra@example.com, to: [ops@example.com, dev@example.com], username: u, password: p}}
      green: {notify: slack, config: {webhook_url: "https://hooks.slack.test/services/x"}}
`, srv.URL)
	f := mustLoad(t, text, env("PD", "pd-key"), WithStdout(&stdout))
	route := f.Monitors[0].Notify.(alert.Route)
	if len(route) != 4 {
		t.Errorf("route has %d codes, want 4 (gray not dispatched)", len(route))
	}
	ctx := context.Background()
	a := alert.Alert{Monitor: "m", At: time.Now(), Since: time.Now()}
	for _, code := range []alert.Code{alert.Yellow, alert.Red, alert.Green, alert.Cyan} {
		a.Code = code
		if err := route.Notify(ctx, a); err != nil {
			t.Fatalf("%v: %v", code, err)
		}
	}
	if !strings.Contains(stdout.String(), `"code":"yellow"`) {
		t.Errorf("stdout log %q", stdout.String())
	}
	pd, hook, sms := <-reqs, <-reqs, <-reqs
	if pd.path != "/v2/enqueue" || !strings.Contains(pd.body, `"routing_key":"pd-key"`) || !strings.Contains(pd.body, `"source":"edge"`) {
		t.Errorf("pagerduty got %+v", pd)
	}
	if hook.path != "/hook" || !alert.VerifySignature("s3cret", []byte(hook.body), hook.sig) {
		t.Errorf("webhook got %+v, want a body signed with the secret", hook)
	}
	var p alert.Payload
	if json.Unmarshal([]byte(hook.body), &p); p.Code != "green" {
		t.Errorf("webhook payload %+v", p)
	}
	if sms.path != "/2010-04-01/Accounts/AC1/Messages.json" || !strings.Contains(sms.body, "To=%2B15551111111") {
		t.Errorf("sms got %+v", sms)
	}
	r2 := f.Monitors[1].Notify.(alert.Route)
	if s := fmt.Sprint(r2[alert.Red]); !strings.Contains(s, "127.0.0.1:25") {
		t.Errorf("email notifier %s", s)
	}
	if _, ok := r2[alert.Green].(*alert.SlackNotifier); !ok {
		t.Errorf("green is %T, want slack", r2[alert.Green])
	}
}
