package cpra_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/metrics"
	"github.com/ziad/cpra/pulse"
)

// pluginSecrets are the credentials one set of HTTP plug-ins is given: a
// checker, a remediator, a webhook and a Slack notifier, each with secrets
// of its own. Every value is distinctive, and some hold characters that
// URLs escape, so that their escaped forms differ from them. Without
// spaces, for a receiver that turns spaces into separators.
type pluginSecrets struct {
	chkUser, chkPass, chkPath, chkQuery, chkHeader          string
	fixUser, fixPass, fixPath, fixQuery, fixHeader, fixAuth string
	hookUser, hookPass, hookPath, hookQuery, hookHeader     string
	hookHMAC, slackToken                                    string
}

func newPluginSecrets(set string, spaces bool) pluginSecrets {
	v := func(part string) string {
		s := set + part + "Zq7Wx"
		if !spaces {
			s = strings.ReplaceAll(s, " ", "!")
		}
		return s
	}
	return pluginSecrets{
		chkUser: v("ChkUsr"), chkPass: v("ChkPw:@/+ %"), chkPath: v("ChkPathTok"),
		chkQuery: v("Chk Qry+Key/="), chkHeader: v("ChkHdrKey"),
		fixUser: v("FixUsr"), fixPass: v("FixPw:@/+ %"), fixPath: v("FixPathTok"),
		fixQuery: v("Fix Qry+Key/="), fixHeader: v("FixHdrKey"), fixAuth: v("FixBearer"),
		hookUser: v("HookUsr"), hookPass: v("HookPw:@/+ %"), hookPath: v("HookPathTok"),
		hookQuery: v("Hook Qry+Key/="), hookHeader: v("HookHdrKey"), hookHMAC: v("HookHmac"),
		slackToken: v("SlackTok"),
	}
}

// named lists the secrets with a name for reports.
func (s pluginSecrets) named(set string) map[string]string {
	m := map[string]string{}
	rv := reflect.ValueOf(s)
	for i := range rv.NumField() {
		m[set+"."+rv.Type().Field(i).Name] = rv.Field(i).String()
	}
	return m
}

// secretURL builds base + "/" + path with the user information and the
// query key escaped as a client would write them.
func secretURL(base, user, pass, path, query string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.User = url.UserPassword(user, pass)
	u.Path = "/" + path
	u.RawQuery = url.Values{"api_key": {query}}.Encode()
	return u.String()
}

// plugins is one set of the built-ins, against one receiver.
type plugins struct {
	check  *pulse.HTTPChecker
	fix    *intervene.HTTPRemediator
	hook   *alert.WebhookNotifier
	slack  *alert.SlackNotifier
	others []any // everything else printed as a plug-in
}

func newPlugins(t *testing.T, base, mode string, s pluginSecrets) plugins {
	t.Helper()
	chk, err := pulse.HTTP(secretURL(base, s.chkUser, s.chkPass, mode+"/check/"+s.chkPath, s.chkQuery),
		pulse.WithHeader("X-Api-Key", s.chkHeader), pulse.WithJSONField("status", "ok"))
	if err != nil {
		t.Fatal(err)
	}
	fix, err := intervene.HTTP("POST", secretURL(base, s.fixUser, s.fixPass, mode+"/fix/"+s.fixPath, s.fixQuery),
		intervene.WithHeader("X-Api-Key", s.fixHeader), intervene.WithHeader("Authorization", "Bearer "+s.fixAuth))
	if err != nil {
		t.Fatal(err)
	}
	hook, err := alert.Webhook(secretURL(base, s.hookUser, s.hookPass, mode+"/hook/"+s.hookPath, s.hookQuery),
		alert.WithHeader("X-Api-Key", s.hookHeader), alert.WithSecret(s.hookHMAC))
	if err != nil {
		t.Fatal(err)
	}
	slack, err := alert.Slack(base + "/" + mode + "/services/T0CPRA/B0CPRA/" + s.slackToken)
	if err != nil {
		t.Fatal(err)
	}
	return plugins{check: chk, fix: fix, hook: hook, slack: slack}
}

// echoOf is everything a request carried, as an echoing receiver quotes it
// back: the request line, the path and query both escaped and decoded,
// every header, the decoded Basic credentials and the body.
func echoOf(r *http.Request, body []byte) string {
	parts := []string{r.Method, r.RequestURI, r.URL.Path, r.URL.RawQuery}
	for _, vs := range r.URL.Query() {
		parts = append(parts, vs...)
	}
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+": "+strings.Join(r.Header[k], ", "))
	}
	if u, p, ok := r.BasicAuth(); ok {
		parts = append(parts, "user="+u, "password="+p)
	}
	parts = append(parts, string(body))
	return strings.Join(parts, " ")
}

// roleOf reads a receiver path /<mode>/<role>/...: mode "echo" quotes the
// request back whole, mode "cut" puts the X-Api-Key value where the
// plug-in cuts the answer it quotes; role is check, fix, hook or services.
func roleOf(path string) (mode, role string) {
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(seg) < 2 {
		return "", ""
	}
	return seg[0], seg[1]
}

// received keeps what the receivers got.
type received struct {
	mu       sync.Mutex
	requests []string            // each request, echoed
	bodies   map[string][]string // bodies by role
}

func (rc *received) add(r *http.Request, body []byte) {
	_, role := roleOf(r.URL.Path)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests = append(rc.requests, echoOf(r, body))
	if rc.bodies == nil {
		rc.bodies = map[string][]string{}
	}
	rc.bodies[role] = append(rc.bodies[role], string(body))
}

func (rc *received) text() (requests string, bodies map[string]string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	bodies = map[string]string{}
	for role, bs := range rc.bodies {
		bodies[role] = strings.Join(bs, "\n")
	}
	return strings.Join(rc.requests, "\n"), bodies
}

// echoHandler is a receiver that fails every request and quotes it back:
// checks get 200 with the echo in the JSON field they want "ok", the rest
// 500 with the echo as the body.
func echoHandler(rc *received) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.add(r, body)
		echo := echoOf(r, body)
		mode, role := roleOf(r.URL.Path)
		if mode == "cut" {
			// A pulse check quotes the first 200 bytes of a JSON field,
			// the others the first 512 of an answer: the key straddles the
			// cut, 12 bytes of it before it.
			pad := 185
			if role != "check" {
				pad = 497
			}
			echo = strings.Repeat("x", pad) + r.Header.Get("X-Api-Key") + " " + echo
		}
		if role == "check" {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"status": echo})
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, echo)
	})
}

// rawEcho is a TCP server that answers each HTTP request with one line
// that is not HTTP and holds the whole request: Go's client quotes such a
// line in its error ("malformed HTTP response ...").
type rawEcho struct {
	ln net.Listener
	rc *received
	wg sync.WaitGroup
}

func newRawEcho(t *testing.T, rc *received) *rawEcho {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawEcho{ln: ln, rc: rc}
	s.wg.Go(s.serve)
	return s
}

func (s *rawEcho) URL() string { return "http://" + s.ln.Addr().String() }

func (s *rawEcho) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				return
			}
			body, _ := io.ReadAll(req.Body)
			s.rc.add(req, body)
			line := strings.NewReplacer(" ", "|", "\r", "|", "\n", "|").Replace(echoOf(req, body))
			io.WriteString(c, "ECHO|"+line+"\r\n")
		})
	}
}

func (s *rawEcho) Close() {
	s.ln.Close()
	s.wg.Wait()
}

// sinkRecorder records the alerts it is given.
type sinkRecorder struct {
	mu     sync.Mutex
	alerts []alert.Alert
}

func (r *sinkRecorder) Notify(_ context.Context, a alert.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
	return nil
}

func (r *sinkRecorder) all() []alert.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.alerts)
}

func (r *sinkRecorder) has(monitor string, code alert.Code) bool {
	for _, a := range r.all() {
		if a.Monitor == monitor && a.Code == code {
			return true
		}
	}
	return false
}

// sinkLetters records what the dead-letter hook is given.
type sinkLetters struct {
	mu     sync.Mutex
	alerts []alert.Alert
	errs   []error
}

func (d *sinkLetters) hook(a alert.Alert, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.alerts = append(d.alerts, a)
	d.errs = append(d.errs, err)
}

func (d *sinkLetters) all() ([]alert.Alert, []error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.alerts), slices.Clone(d.errs)
}

func (d *sinkLetters) count(monitor string) int {
	as, _ := d.all()
	n := 0
	for _, a := range as {
		if a.Monitor == monitor {
			n++
		}
	}
	return n
}

// sinkBuffer is a buffer for a log handler, safe to read while the engine
// writes.
type sinkBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *sinkBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *sinkBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// fanout is a slog.Handler that hands every record to each of its handlers.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	return slices.ContainsFunc(f, func(h slog.Handler) bool { return h.Enabled(ctx, l) })
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}

// secretForms lists the forms in which a secret could be seen: as is,
// URL-escaped (upper and lower case hex), quoted as Go, JSON and HTML
// quote it, and base64 in both alphabets, alone and as the part of a
// longer base64 text that depends on it alone.
func secretForms(s string) []string {
	var out []string
	add := func(f string) {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	add(s)
	for _, f := range []string{url.QueryEscape(s), url.PathEscape(s)} {
		add(f)
		add(lowerHex(f))
	}
	q := strconv.Quote(s)
	add(q[1 : len(q)-1])
	j, _ := json.Marshal(s)
	add(string(j[1 : len(j)-1]))
	add(html.EscapeString(s))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		add(enc.EncodeToString([]byte(s)))
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for shift := range 3 {
			// The characters of the encoding of shift bytes then s whose
			// six bits all come from s: present whatever precedes s.
			e := enc.EncodeToString(append(make([]byte, shift), s...))
			first, last := (8*shift+5)/6, 8*(shift+len(s))/6
			add(e[first:last])
		}
	}
	return out
}

func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = bytes.ToLower(b[i+1 : i+2])[0]
			b[i+2] = bytes.ToLower(b[i+2 : i+3])[0]
		}
	}
	return string(b)
}

// partialLen is the shortest piece of a secret counted as a leak where a
// text was cut.
const partialLen = 8

// leakReport counts, in one text, the occurrences of each secret in any of
// its forms, and, once those are taken out, of pieces of partialLen bytes
// of it.
type leakReport struct {
	full, partial int
	what          []string // "secret: text around it"
}

func findLeaks(text string, secrets map[string]string) leakReport {
	var r leakReport
	names := make([]string, 0, len(secrets))
	for n := range secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	around := func(i, n int) string {
		return strconv.Quote(text[max(0, i-40):min(len(text), i+n+40)])
	}
	rest := text
	for _, name := range names {
		for _, f := range secretForms(secrets[name]) {
			for i := 0; ; {
				j := strings.Index(text[i:], f)
				if j < 0 {
					break
				}
				r.full++
				r.what = append(r.what, name+" (as "+strconv.Quote(f)+"): "+around(i+j, len(f)))
				i += j + 1
			}
			rest = strings.ReplaceAll(rest, f, "\x00")
		}
	}
	// Pieces: each stretch of text covered by pieces of secrets counts
	// once.
	cover := make([]string, len(rest))
	for _, name := range names {
		s := secrets[name]
		for k := 0; k+partialLen <= len(s); k++ {
			piece := s[k : k+partialLen]
			for i := 0; ; {
				j := strings.Index(rest[i:], piece)
				if j < 0 {
					break
				}
				for p := i + j; p < i+j+partialLen; p++ {
					if cover[p] == "" {
						cover[p] = name
					}
				}
				i += j + 1
			}
		}
	}
	for i := 0; i < len(rest); i++ {
		if cover[i] == "" {
			continue
		}
		j := i
		for j < len(rest) && cover[j] != "" {
			j++
		}
		r.partial++
		r.what = append(r.what, cover[i]+" (piece "+strconv.Quote(rest[i:j])+"): "+strconv.Quote(rest[max(0, i-40):min(len(rest), j+40)]))
		i = j
	}
	return r
}

// stackTrace matches the header of a goroutine's stack.
var stackTrace = regexp.MustCompile(`goroutine \d+ \[`)

// errText renders err and every error it wraps with %v, %+v and %#v: what
// a user sees printing it, or any error errors.As finds in it.
func errText(err error) string {
	var b strings.Builder
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		fmt.Fprintf(&b, "%v\n%+v\n%#v\n", e, e, e)
		switch x := e.(type) {
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		case interface{ Unwrap() []error }:
			for _, inner := range x.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return b.String()
}

// TestSecretsNeverLeaveTheEngine runs a real engine whose monitors use the
// HTTP built-ins with credentials everywhere a user may put them (user
// information, a path token, a query key, headers, a signing secret, a bare
// Slack token), against receivers that fail and quote back everything they
// got: a 500 or a JSON field holding the request, a non-HTTP answer holding
// it (quoted by Go's client in its error), and answers that put a key where
// the plug-in cuts what it quotes. Every sink is searched for every secret,
// in every form: the logs (text and JSON, at debug level), Status and its
// errors, Stats, /metrics, the alerts delivered and their errors, the alerts
// and errors given to the dead-letter hook, the bodies the plug-ins sent,
// and each plug-in and monitor printed. Panics in a check, a remediation
// and a notifier are reported in one line.
func TestSecretsNeverLeaveTheEngine(t *testing.T) {
	rc := &received{}
	srv := httptest.NewServer(echoHandler(rc))
	defer srv.Close()
	raw := newRawEcho(t, rc)
	defer raw.Close()
	defer pulse.CloseIdleConnections()

	sets := map[string]pluginSecrets{
		"echo": newPluginSecrets("echo", true),
		"raw":  newPluginSecrets("raw", false),
		"cut":  newPluginSecrets("cut", true),
	}
	secrets := map[string]string{}
	for set, s := range sets {
		for n, v := range s.named(set) {
			secrets[n] = v
		}
	}
	ps := map[string]plugins{
		"echo": newPlugins(t, srv.URL, "echo", sets["echo"]),
		"raw":  newPlugins(t, raw.URL(), "echo", sets["raw"]),
		"cut":  newPlugins(t, srv.URL, "cut", sets["cut"]),
	}

	var textLog, jsonLog sinkBuffer
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	logger := slog.New(fanout{slog.NewTextHandler(&textLog, opts), slog.NewJSONHandler(&jsonLog, opts)})
	rec, dl := &sinkRecorder{}, &sinkLetters{}
	e, err := cpra.New(cpra.WithLogger(logger), cpra.WithUndelivered(dl.hook),
		cpra.WithNotifyRetries(1, 10*time.Millisecond), cpra.WithNotifyTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}

	boom := func() { panic("boom") }
	panicky := alert.NotifierFunc(func(context.Context, alert.Alert) error { boom(); return nil })
	base := cpra.Monitor{Interval: 50 * time.Millisecond, Timeout: 3 * time.Second, FailureThreshold: 2, MaxRemediations: 1}
	var monitors []cpra.Monitor
	for _, set := range []string{"echo", "raw", "cut"} {
		p := ps[set]
		m := base
		m.Name, m.Check, m.Remediate = "api-"+set, p.check, p.fix
		m.Notify = alert.Multi(rec, p.hook, p.slack)
		monitors = append(monitors, m)
	}
	m := base
	m.Name, m.Notify = "panics", rec
	m.Check = pulse.CheckerFunc(func(context.Context) error { boom(); return nil })
	m.Remediate = intervene.RemediatorFunc(func(context.Context, intervene.Incident) error { boom(); return nil })
	monitors = append(monitors, m)
	m = base
	m.Name, m.Check, m.Notify = "panic-notify", pulse.CheckerFunc(failing), panicky
	monitors = append(monitors, m)
	m = base
	m.Name, m.Check, m.Notify = "panic-multi", pulse.CheckerFunc(failing), alert.Multi(panicky)
	monitors = append(monitors, m)

	ids := map[string]cpra.ID{}
	for _, m := range monitors {
		id, err := e.Add(m)
		if err != nil {
			t.Fatal(err)
		}
		ids[m.Name] = id
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Wait until every monitor is red and every failing notifier has had
	// an alert dead-lettered.
	deadline := time.Now().Add(45 * time.Second)
	for {
		var missing []string
		for _, name := range []string{"api-echo", "api-raw", "api-cut", "panics"} {
			if !rec.has(name, alert.Red) {
				missing = append(missing, name+" red")
			}
		}
		for _, name := range []string{"api-echo", "api-raw", "api-cut", "panic-notify", "panic-multi"} {
			if dl.count(name) < 2 {
				missing = append(missing, name+" dead letters")
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 45s still waiting for %v", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}

	ms := httptest.NewServer(metrics.Handler(e))
	resp, err := ms.Client().Get(ms.URL)
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ms.Close()
	if !bytes.Contains(metricsText, []byte("cpra_alerts_failed_total")) {
		t.Fatalf("/metrics lacks cpra_alerts_failed_total:\n%s", metricsText)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	// The sinks.
	sinks := map[string]string{
		"log text": textLog.String(),
		"log json": jsonLog.String(),
		"stats":    fmt.Sprintf("%+v", e.Stats()),
		"metrics":  string(metricsText),
	}
	statuses := map[string]cpra.Status{}
	var status strings.Builder
	for _, m := range monitors {
		st, err := e.Status(ids[m.Name])
		if err != nil {
			t.Fatal(err)
		}
		statuses[m.Name] = st
		fmt.Fprintf(&status, "%v\n%+v\n%#v\n%s%s", st, st, st, errText(st.LastError), errText(st.LastRemediationError))
	}
	sinks["status"] = status.String()
	var delivered strings.Builder
	for _, a := range rec.all() {
		fmt.Fprintf(&delivered, "%v\n%+v\n%#v\n%s", a, a, a, errText(a.Err))
	}
	sinks["alerts delivered"] = delivered.String()
	var dead strings.Builder
	dlAlerts, dlErrs := dl.all()
	for i, a := range dlAlerts {
		fmt.Fprintf(&dead, "%v\n%+v\n%#v\n%s%s", a, a, a, errText(a.Err), errText(dlErrs[i]))
	}
	sinks["dead letters"] = dead.String()
	var printed strings.Builder
	for _, set := range []string{"echo", "raw", "cut"} {
		p := ps[set]
		for _, v := range []any{p.check, p.fix, p.hook, p.slack, *p.check, *p.fix, *p.hook, *p.slack} {
			fmt.Fprintf(&printed, "%v %+v %#v %s %q\n", v, v, v, v, v)
		}
	}
	for _, m := range monitors {
		fmt.Fprintf(&printed, "%v\n%+v\n%#v\n%v %+v %#v\n", m, m, m, m.Notify, m.Notify, m.Notify)
	}
	sinks["plug-ins printed"] = printed.String()
	requests, bodies := rc.text()
	for role, b := range bodies {
		if role != "check" { // checks send no body
			sinks["payloads sent to "+role] = b
		}
	}

	// The test means something only if the secrets went out and came back:
	// the receivers saw them, and the plug-ins masked what they quoted.
	for _, n := range []string{"echo.chkHeader", "echo.chkPath", "echo.fixAuth", "echo.hookHeader", "echo.slackToken",
		"raw.chkHeader", "raw.fixHeader", "raw.hookPath", "raw.slackToken", "cut.chkHeader", "cut.fixHeader", "cut.hookHeader"} {
		if !strings.Contains(requests, secrets[n]) {
			t.Errorf("the receivers never got %s: the test does not exercise it", n)
		}
	}
	for _, name := range []string{"api-echo", "api-raw", "api-cut"} {
		st := statuses[name]
		if st.LastError == nil || !strings.Contains(st.LastError.Error(), "[redacted]") {
			t.Errorf("%s: LastError %v, want the receiver's echo, masked", name, st.LastError)
		}
		if st.LastRemediationError == nil || !strings.Contains(st.LastRemediationError.Error(), "[redacted]") {
			t.Errorf("%s: LastRemediationError %v, want the receiver's echo, masked", name, st.LastRemediationError)
		}
	}
	for i, a := range dlAlerts {
		if strings.HasPrefix(a.Monitor, "api-") && !strings.Contains(dlErrs[i].Error(), "[redacted]") {
			t.Errorf("%s: dead letter error %q, want the receivers' echoes, masked", a.Monitor, dlErrs[i])
		}
	}

	// The count per sink.
	names := make([]string, 0, len(sinks))
	for n := range sinks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := findLeaks(sinks[n], secrets)
		t.Logf("%-28s %8d bytes: %d secrets, %d pieces of secrets", n, len(sinks[n]), r.full, r.partial)
		if r.full+r.partial > 0 {
			t.Errorf("%s shows secrets %d times and pieces of them %d times:\n%s", n, r.full, r.partial, strings.Join(r.what, "\n"))
		}
	}

	// Panics: one line each, the value once, no stack in any text but the
	// debug log's. (Errors joined by alert.Multi may span lines.)
	onePanicLine := func(where, text, want string) {
		t.Helper()
		if !strings.Contains(text, want) || strings.Count(text, "boom") != 1 || strings.Contains(text, "\n") {
			t.Errorf("%s: got %q, want one line with %q", where, text, want)
		}
	}
	sawPanic := map[string]bool{}
	for _, a := range rec.all() {
		if a.Monitor != "panics" || a.Err == nil {
			continue
		}
		want := "check panicked: boom"
		if a.Code == alert.Red {
			want = "remediation panicked: boom"
		}
		sawPanic[want] = true
		onePanicLine(fmt.Sprintf("alert %s of %s", a.Code, a.Monitor), a.Err.Error(), want)
	}
	for i, a := range dlAlerts {
		switch a.Monitor {
		case "panic-notify":
			sawPanic["notify panicked: boom"] = true
			onePanicLine("dead letter of "+a.Monitor, dlErrs[i].Error(), "notify panicked: boom")
		case "panic-multi":
			sawPanic["panic: boom"] = true
			onePanicLine("dead letter of "+a.Monitor, dlErrs[i].Error(), "panic: boom")
		}
	}
	if len(sawPanic) != 4 {
		t.Errorf("panics seen: %v, want those of the check, the remediation, the notifier and the Multi", sawPanic)
	}
	st := statuses["panics"]
	onePanicLine("panics: LastError", fmt.Sprint(st.LastError), "check panicked: boom")
	onePanicLine("panics: LastRemediationError", fmt.Sprint(st.LastRemediationError), "remediation panicked: boom")
	lines := 0
	for line := range strings.Lines(jsonLog.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == "DEBUG" {
			continue
		}
		lines++
		for k, v := range rec {
			if s, ok := v.(string); ok && stackTrace.MatchString(s) {
				t.Errorf("log %s %q: %s holds a stack: %q", rec["level"], rec["msg"], k, s)
			}
		}
	}
	if lines == 0 {
		t.Error("no log line above debug level: the test does not exercise the logs")
	}
}
