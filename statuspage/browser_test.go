package statuspage_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/pulse"
	"github.com/ziad/cpra/statuspage"
)

// Secrets the monitors of liveFleet are given; none may reach the page.
var secrets = []string{"pw-S3CRET", "tok-S3CRET", "hdr-S3CRET"}

// liveFleet runs an engine over real loopback services: checkout answers
// 503, inventory's port is closed, auth echoes its credentials back in a
// wrong JSON answer, and catalog is healthy. The monitors of auth and
// inventory carry secrets in their URLs and headers. It returns once the
// three are down.
func liveFleet(t *testing.T) (*cpra.Engine, *statuspage.AlertLog) {
	t.Helper()
	serve := func(h http.HandlerFunc) string {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		return s.URL
	}
	checkout := serve(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	})
	catalog := serve(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	auth := serve(func(w http.ResponseWriter, r *http.Request) {
		// A careless service that echoes what it was sent.
		fmt.Fprintf(w, `{"status": "bad credentials %s %s %s"}`, r.Header.Get("Authorization"), r.URL.RequestURI(), r.Header.Get("X-Api-Key"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	log := statuspage.NewAlertLog(100)
	// The alerts reach the log through the engine's hook; the notifier
	// accepts them.
	accept := alert.NotifierFunc(func(context.Context, alert.Alert) error { return nil })
	e, err := cpra.New(cpra.WithNotifier(accept), cpra.WithAlertHook(log.Record))
	if err != nil {
		t.Fatal(err)
	}
	add := func(name, url string, labels map[string]string, opts ...pulse.HTTPOption) {
		c, err := pulse.HTTP(url, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Add(cpra.Monitor{Name: name, Check: c, Interval: 100 * time.Millisecond, Timeout: 2 * time.Second,
			FailureThreshold: 2, Labels: labels}); err != nil {
			t.Fatal(err)
		}
	}
	add("checkout", checkout+"/health", map[string]string{"team": "shop"})
	add("catalog", catalog+"/health", map[string]string{"team": "shop"})
	add("inventory", "http://admin:pw-S3CRET@"+closed+"/health?token=tok-S3CRET", map[string]string{"team": "stock"})
	add("auth", strings.Replace(auth, "http://", "http://svc:pw-S3CRET@", 1)+"/health?token=tok-S3CRET", map[string]string{"team": "core"},
		pulse.WithHeader("Authorization", "Bearer hdr-S3CRET"), pulse.WithHeader("X-Api-Key", "hdr-S3CRET"),
		pulse.WithJSONField("status", "ok"))
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, e) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		c := e.Counts()
		if c.Down == 3 && c.Up == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: %+v, want 3 down and 1 up", c)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return e, log
}

// TestNoSecretOnThePage: the page, in HTML and JSON, on every path, shows
// the errors of monitors whose checks were given a URL password, a token
// in the query and header values, and the receiver echoed them back; none
// of them appears.
func TestNoSecretOnThePage(t *testing.T) {
	e, log := liveFleet(t)
	p := statuspage.New(e, statuspage.WithAlertLog(log))
	shown := 0
	for _, path := range []string{"/", "/monitors", "/monitors?q=team%3Dcore", "/monitors/auth", "/monitors/inventory"} {
		for _, asJSON := range []bool{false, true} {
			code, body := get(t, p, path, asJSON)
			if code != 200 {
				t.Fatalf("GET %s: %d", path, code)
			}
			for _, s := range secrets {
				if strings.Contains(body, s) {
					t.Errorf("GET %s (json %v) shows the secret %s:\n%s", path, asJSON, s, body)
				}
			}
			if strings.Contains(body, "json field") && strings.Contains(body, "connection refused") {
				shown++
			}
		}
	}
	// The errors are there, only scrubbed: the test would see a leak.
	if shown == 0 {
		t.Error("no page showed both errors: the check for secrets saw nothing")
	}
}

// chromium returns the path of a headless Chromium. Without one the test
// skips, saying so, so that the suite runs on a machine with only Go; CI
// installs Debian's chromium package and sets CPRA_REQUIRE_BROWSER, which
// makes a missing browser a failure.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CPRA_REQUIRE_BROWSER") != "" {
		t.Fatal("chromium not on PATH, and CPRA_REQUIRE_BROWSER is set: install it (Debian: apt-get install chromium)")
	}
	t.Skip("chromium not on PATH: the browser test needs it (Debian: apt-get install chromium); CI installs it")
	return ""
}

// browse runs headless Chromium with args and the URL and returns what it
// printed. Chromium and every process it started are ended when it
// returns.
func browse(t *testing.T, bin, url string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := cmd.Run()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // its helpers, if any are left
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, errs.Bytes())
	}
	return out.Bytes()
}

// node is a DOM element found by find.
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
		case html.ElementNode:
			b.WriteByte(' ') // cells and blocks read apart
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// find returns the elements for which match is true, in document order.
func find(root *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return out
}

func byID(root *html.Node, id string) string {
	if ns := find(root, func(n *html.Node) bool { return attr(n, "id") == id }); len(ns) > 0 {
		return text(ns[0])
	}
	return ""
}

// TestBrowser opens the page in headless Chromium, checks the DOM the
// browser built (counts, the down monitors with their errors first, the
// links to their pages, the recent reds, no secret), opens a monitor's
// page and a search by label, and takes a screenshot.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	e, log := liveFleet(t)
	srv := httptest.NewServer(http.StripPrefix("/status", statuspage.New(e, statuspage.WithAlertLog(log), statuspage.WithTitle("Shop status"))))
	defer srv.Close()
	url := srv.URL + "/status/"

	dom := browse(t, bin, url, "--dump-dom")
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatalf("parsing the DOM: %v", err)
	}
	if got := text(find(doc, func(n *html.Node) bool { return n.Data == "title" })[0]); got != "Shop status" {
		t.Errorf("title %q, want Shop status", got)
	}
	for id, want := range map[string]string{"count-down": "down 3", "count-up": "up 1", "count-failing": "failing 0", "count-monitors": "all 4"} {
		// The count is the <b> inside its <li>; read the <li>'s text.
		li := find(doc, func(n *html.Node) bool {
			return n.Data == "li" && len(find(n, func(b *html.Node) bool { return attr(b, "id") == id })) > 0
		})
		if len(li) != 1 || text(li[0]) != want {
			t.Errorf("count %s: %q, want %q", id, byID(doc, id), want)
		}
	}
	rows := find(doc, func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-monitor") != "" })
	got := map[string]string{}
	for _, r := range rows {
		if attr(r, "class") != "down" {
			t.Errorf("row of %s has class %q among the problems, want down", attr(r, "data-monitor"), attr(r, "class"))
		}
		got[attr(r, "data-monitor")] = text(r)
		links := find(r, func(n *html.Node) bool { return n.Data == "a" })
		if len(links) == 0 || attr(links[0], "href") != "monitors/"+attr(r, "data-monitor") {
			t.Errorf("row of %s has no link to its page", attr(r, "data-monitor"))
		}
	}
	for name, want := range map[string]string{
		"checkout":  "status 503, want 2xx",
		"inventory": "connection refused",
		"auth":      `json field "status"`,
	} {
		if !strings.Contains(got[name], want) || !strings.HasPrefix(got[name], name+" down ") || !strings.Contains(got[name], "ago") {
			t.Errorf("row of %s: %q, want down, since ... ago, and %q", name, got[name], want)
		}
	}
	if len(got) != 3 {
		t.Errorf("problem rows %v, want the three down monitors", got)
	}
	alerts := find(doc, func(n *html.Node) bool { return n.Data == "tr" && strings.HasPrefix(attr(n, "class"), "alert ") })
	reds := 0
	for _, a := range alerts {
		if attr(a, "class") == "alert red" {
			reds++
		}
	}
	if reds != 3 {
		t.Errorf("%d red alerts in the recent alerts, want 3", reds)
	}
	for _, s := range secrets {
		if bytes.Contains(dom, []byte(s)) {
			t.Errorf("the DOM holds the secret %s", s)
		}
	}

	// A monitor's page, reached by its link.
	dom = browse(t, bin, url+"monitors/inventory", "--dump-dom")
	doc, err = html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	if s := byID(doc, "state"); !strings.HasPrefix(s, "down") {
		t.Errorf("inventory's page: state %q, want down", s)
	}
	if s := byID(doc, "error"); !strings.Contains(s, "connection refused") {
		t.Errorf("inventory's page: error %q, want connection refused", s)
	}

	// A search by label, as the search box sends it.
	dom = browse(t, bin, url+"monitors?q=team%3Dshop&state=", "--dump-dom")
	doc, err = html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, r := range find(doc, func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-monitor") != "" }) {
		found[attr(r, "data-monitor")] = attr(r, "class")
	}
	if len(found) != 2 || found["checkout"] != "down" || found["catalog"] != "up" {
		t.Errorf("search team=shop shows %v, want checkout down and catalog up", found)
	}

	shot := filepath.Join(t.TempDir(), "status.png")
	browse(t, bin, url, "--screenshot="+shot, "--window-size=1280,900")
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if len(png) < 1000 || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot is %d bytes, not a PNG of a page", len(png))
	}
	t.Logf("screenshot: %d bytes", len(png))
	if dir := os.Getenv("CPRA_SCREENSHOT_DIR"); dir != "" {
		os.WriteFile(filepath.Join(dir, "status.png"), png, 0o644)
	}
}
