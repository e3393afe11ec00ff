package pulse

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "all ok") })
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.PathValue("code"), &code)
		w.WriteHeader(code)
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":{"db":"up","workers":3,"ready":true},"checks":[{"state":"pass"}],"note":null}`)
	})
	mux.HandleFunc("/notjson", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") })
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Token") != "s3cret" || r.Header.Get("User-Agent") != "probe/2" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	mux.HandleFunc("/host", func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "app.example.test" {
			w.WriteHeader(http.StatusMisdirectedRequest)
		}
	})
	mux.HandleFunc("/ua", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.UserAgent()) })
	mux.HandleFunc("/post", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || string(b) != `{"ping":1}` || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 64<<10)
		for range 32 { // 2 MiB
			io.WriteString(w, chunk)
		}
		io.WriteString(w, "needle")
	})
	return mux
}

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(testMux())
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTP(t *testing.T) {
	srv := newTestServer(t)
	tests := []struct {
		name string
		path string
		opts []HTTPOption
		want string // "" for healthy, else a substring of the error
	}{
		{"ok", "/ok", nil, ""},
		{"status 503", "/status/503", nil, "status 503, want 2xx"},
		{"status 204 default", "/status/204", nil, ""},
		{"expected status", "/status/404", []HTTPOption{WithStatus(404, 410)}, ""},
		{"unexpected status", "/status/200", []HTTPOption{WithStatus(404, 410)}, "status 200, want 404 or 410"},
		{"body contains", "/ok", []HTTPOption{WithBodyContains("ok")}, ""},
		{"body missing", "/ok", []HTTPOption{WithBodyContains("ready")}, `body missing "ready"`},
		{"body match", "/ok", []HTTPOption{WithBodyMatch(`^all \w+$`)}, ""},
		{"body no match", "/ok", []HTTPOption{WithBodyMatch(`^ready`)}, "body does not match /^ready/"},
		{"json string", "/json", []HTTPOption{WithJSONField("status.db", "up")}, ""},
		{"json number", "/json", []HTTPOption{WithJSONField("status.workers", "3")}, ""},
		{"json bool", "/json", []HTTPOption{WithJSONField("status.ready", "true")}, ""},
		{"json null", "/json", []HTTPOption{WithJSONField("note", "null")}, ""},
		{"json array", "/json", []HTTPOption{WithJSONField("checks.0.state", "pass")}, ""},
		{"json differs", "/json", []HTTPOption{WithJSONField("status.db", "down")}, `json field "status.db" = "up", want "down"`},
		{"json number differs", "/json", []HTTPOption{WithJSONField("status.workers", "4")}, `json field "status.workers" = 3, want "4"`},
		{"json missing", "/json", []HTTPOption{WithJSONField("status.cache", "up")}, `json field "status.cache" missing`},
		{"json index out of range", "/json", []HTTPOption{WithJSONField("checks.1.state", "pass")}, `json field "checks.1.state" missing`},
		{"not json", "/notjson", []HTTPOption{WithJSONField("status", "up")}, "body is not JSON"},
		{"headers sent", "/token", []HTTPOption{WithHeader("x-token", "s3cret"), WithHeader("User-Agent", "probe/2")}, ""},
		{"headers missing", "/token", nil, "status 401, want 2xx"},
		{"host header", "/host", []HTTPOption{WithHeader("Host", "app.example.test")}, ""},
		{"default user agent", "/ua", []HTTPOption{WithBodyContains(userAgent)}, ""},
		{"post body", "/post", []HTTPOption{WithMethod("POST"), WithHeader("Content-Type", "application/json"), WithRequestBody([]byte(`{"ping":1}`))}, ""},
		{"post body missing", "/post", []HTTPOption{WithMethod("POST")}, "status 400, want 2xx"},
		{"redirect followed", "/redirect", []HTTPOption{WithBodyContains("ok")}, ""},
		{"redirect not followed", "/redirect", []HTTPOption{WithFollowRedirects(false)}, "status 302, want 2xx"},
		{"redirect expected", "/redirect", []HTTPOption{WithFollowRedirects(false), WithStatus(302)}, ""},
		{"timeout", "/hang", []HTTPOption{WithTimeout(100 * time.Millisecond)}, "timeout after 100ms"},
		{"max latency", "/ok", []HTTPOption{WithMaxLatency(time.Nanosecond)}, "max 1ns"},
		{"big body contains", "/big", []HTTPOption{WithBodyContains("xxxx")}, ""},
		{"needle past the cap", "/big", []HTTPOption{WithBodyContains("needle")}, `body missing "needle"`},
		{"big body json", "/big", []HTTPOption{WithJSONField("a", "b")}, "body longer than 1048576 bytes"},
		{"big body drained", "/big", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := HTTP(srv.URL+tt.path, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			wantErr(t, c.Check(ctx), tt.want)
		})
	}
}

// A failing fleet keeps one error per status, not one per monitor: two
// checkers that get the same unwanted status return the same error value,
// which a failing monitor holds until it recovers.
func TestUnwantedStatusErrorIsShared(t *testing.T) {
	srv := newTestServer(t)
	a, b := MustHTTP(srv.URL+"/status/503"), MustHTTP(srv.URL+"/status/503?other")
	ea, eb := a.Check(t.Context()), b.Check(t.Context())
	if ea == nil || ea.Error() != "status 503, want 2xx" {
		t.Fatalf("got %v, want status 503, want 2xx", ea)
	}
	if ea != eb {
		t.Errorf("two checks got two errors for 503 (%p, %p), want one shared", ea, eb)
	}
	if e := MustHTTP(srv.URL + "/status/502").Check(t.Context()); e == ea || e == nil || e.Error() != "status 502, want 2xx" {
		t.Errorf("502: got %v, want its own error", e)
	}
	if e := MustHTTP(srv.URL+"/status/503", WithStatus(200)).Check(t.Context()); e == ea || e == nil || e.Error() != "status 503, want 200" {
		t.Errorf("503 with WithStatus(200): got %v", e)
	}
}

func TestHTTPTimeoutIsTyped(t *testing.T) {
	srv := newTestServer(t)
	c := MustHTTP(srv.URL + "/hang")
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	err := c.Check(ctx)
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v (%T), want a *TimeoutError", err, err)
	}
	if te.After <= 0 || te.After > 150*time.Millisecond {
		t.Errorf("got After %v, want (0, 150ms]", te.After)
	}
}

func TestHTTPCanceled(t *testing.T) {
	srv := newTestServer(t)
	c := MustHTTP(srv.URL + "/hang")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	wantErr(t, c.Check(ctx), "check canceled")
}

func TestHTTPConnectionRefused(t *testing.T) {
	addr := closedAddr(t)
	err := MustHTTP("http://" + addr + "/").Check(t.Context())
	want := "dial tcp " + addr + ": connect: connection refused"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(testMux())
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	tests := []struct {
		name string
		opts []HTTPOption
		want string
	}{
		{"verified by the CA", []HTTPOption{WithRootCAs(pool)}, ""},
		{"unknown authority", nil, "x509: certificate signed by unknown authority"},
		{"verification skipped", []HTTPOption{WithInsecureSkipVerify()}, ""},
		{"name mismatch", []HTTPOption{WithRootCAs(pool), WithServerName("other.test")}, "not other.test"},
		{"name override", []HTTPOption{WithRootCAs(pool), WithServerName("example.com")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MustHTTP(srv.URL+"/ok", tt.opts...)
			wantErr(t, c.Check(t.Context()), tt.want)
		})
	}
}

func TestHTTPSharesTransport(t *testing.T) {
	a, b := MustHTTP("http://a.test/"), MustHTTP("http://b.test/", WithStatus(200))
	if a.prof().client != b.prof().client {
		t.Error("two plain checkers use different clients, want one shared")
	}
	pool := x509.NewCertPool()
	c, d := MustHTTP("https://c.test/", WithRootCAs(pool)), MustHTTP("https://d.test/", WithRootCAs(pool))
	if c.prof().client != d.prof().client || c.prof().client == a.prof().client {
		t.Error("checkers with the same CA pool do not share a client of their own")
	}
	if n := MustHTTP("http://a.test/", WithFollowRedirects(false)); n.prof().client.Transport != a.prof().client.Transport {
		t.Error("a checker that does not follow redirects uses another transport")
	}
}

func TestHTTPConnectionReuse(t *testing.T) {
	var conns int
	srv := httptest.NewUnstartedServer(testMux())
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns++ // ConnState runs on the serving goroutines; the count is read after Close
		}
	}
	srv.Start()
	c1 := MustHTTP(srv.URL + "/ok")
	c2 := MustHTTP(srv.URL+"/big", WithBodyContains("x")) // reads 1 MiB+1 and drains no further
	c3 := MustHTTP(srv.URL+"/status/500", WithStatus(500))
	for range 20 {
		for _, c := range []Checker{c1, c3} {
			if err := c.Check(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c2.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	CloseIdleConnections()
	srv.Close()
	if conns > 2 {
		t.Errorf("got %d connections for 40 sequential small checks and one big one, want at most 2", conns)
	}
}

func TestHTTPConstructorErrors(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts []HTTPOption
		want string
	}{
		{"no scheme", "example.com/health", nil, "scheme must be http or https"},
		{"ftp", "ftp://example.com/", nil, "scheme must be http or https"},
		{"no host", "http:///x", nil, "no host"},
		{"unparsable", "http://[::1/", nil, "missing ']'"},
		{"bad regexp", "http://a.test/", []HTTPOption{WithBodyMatch("(")}, "WithBodyMatch"},
		{"bad status", "http://a.test/", []HTTPOption{WithStatus(42)}, "not a status code"},
		{"bad header", "http://a.test/", []HTTPOption{WithHeader("X Y", "z")}, "invalid header"},
		{"bad json path", "http://a.test/", []HTTPOption{WithJSONField("a..b", "c")}, "invalid path"},
		{"bad timeout", "http://a.test/", []HTTPOption{WithTimeout(0)}, "must be positive"},
		{"nil pool", "http://a.test/", []HTTPOption{WithRootCAs(nil)}, "WithRootCAs(nil)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := HTTP(tt.url, tt.opts...)
			if c != nil || !errors.Is(err, ErrOption) {
				t.Fatalf("got (%v, %v), want an ErrOption", c, err)
			}
			wantErr(t, err, tt.want)
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("MustHTTP did not panic on a bad URL")
		}
	}()
	MustHTTP("nope")
}

func FuzzHTTPBodyConditions(f *testing.F) {
	f.Add([]byte(`{"status":{"db":"up"}}`), "status.db", "up")
	f.Add([]byte(`[1,2,{"a":null}]`), "2.a", "null")
	f.Add([]byte(`not json`), "a", "b")
	f.Fuzz(func(t *testing.T, body []byte, path, want string) {
		if path == "" || strings.HasPrefix(path, ".") || strings.HasSuffix(path, ".") || strings.Contains(path, "..") {
			return
		}
		_ = jsonFieldErr(body, strings.Split(path, "."), want, strings.Clone) // must not panic
		sp := &httpSpec{contains: want, hasJSON: true, jsonPath: strings.Split(path, ".")}
		_ = sp.bodyErr(body, false, strings.Clone)
	})
}

// prof and kept are the two parts of a checker, for the tests.
func (c HTTPChecker) prof() *httpProfile { p, _ := c.parts(); return p }
func (c HTTPChecker) kept() string       { _, rest := c.parts(); return rest }

// TestHTTPCheckerSize pins the size of a checker: at a million HTTP
// monitors each byte is a megabyte. A value is one pointer, so that a
// Checker holding it needs no heap object; a plain GET's record is its
// path and 6 bytes in shared blocks, and names the profile its host's
// checkers share, scheme and host included.
func TestHTTPCheckerSize(t *testing.T) {
	if got := unsafe.Sizeof(HTTPChecker{}); got != 8 {
		t.Errorf("HTTPChecker is %d bytes, want 8", got)
	}
	a, b := MustHTTP("http://a.test:81/"), MustHTTP("http://a.test:81/x")
	if a.prof() != b.prof() || a.kept() != "/" || b.kept() != "/x" {
		t.Errorf("two plain checkers of one host: profiles shared %v, kept %q and %q, want shared, / and /x", a.prof() == b.prof(), a.kept(), b.kept())
	}
	if *(*byte)(a.r) == 0 || *(*byte)(b.r) == 0 {
		t.Error("a plain checker is not a record in the shared blocks")
	}
	// A record's head is 2 bytes for the first profiles, 6 past them
	// (other tests number hundreds of hosts' profiles, maybe before this
	// one). The whole-URL profile of a transport is numbered when the
	// transport is made, among the first: a checker of a URL no host
	// profile takes has the short form.
	q := MustHTTP("http://a.test:81/x?q=1")
	for i, c := range []*HTTPChecker{q, b} {
		pool.Lock()
		num := pool.nums[c.prof()]
		pool.Unlock()
		want := uintptr(recShortHead)
		if num > maxShortNum {
			if i == 0 {
				t.Fatalf("the transport's whole-URL profile is numbered %d", num)
			}
			want = recHead
		}
		if head := uintptr(unsafe.Pointer(unsafe.StringData(c.kept()))) - uintptr(c.r); head != want {
			t.Errorf("the record of %s (profile %d) keeps %d bytes before its path, want %d", c.URL(), num, head, want)
		}
	}
	if c := MustHTTP("http://b.test:81/x"); c.prof() == a.prof() {
		t.Error("checkers of two hosts share a profile")
	}
	for _, raw := range []string{"http://a.test:81/x?q=1", "http://u:p@a.test:81/x", "http://a.test:81/%41"} {
		if c := MustHTTP(raw); c.prof().base != "" || c.kept() != raw || c.URL() != raw {
			t.Errorf("%q: not a plain URL, kept base %q and %q, want the whole URL", raw, c.prof().base, c.kept())
		}
	}
	// A value goes into a Checker without an allocation of its own.
	v := *MustHTTP("http://a.test:81/y")
	var sink Checker
	if n := testing.AllocsPerRun(100, func() { sink = v }); n != 0 {
		t.Errorf("storing an HTTPChecker value in a Checker allocates %v times, want 0", n)
	}
	if sink.(HTTPChecker).URL() != "http://a.test:81/y" {
		t.Errorf("the stored value requests %q", sink.(HTTPChecker).URL())
	}
}

// Checkers no record holds (options of their own, a URL longer than a
// block keeps) are built on the heap and work the same; a value and a
// pointer check the same endpoint; the zero value fails with an error.
func TestHTTPCheckerForms(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Method + " " + r.RequestURI)
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	long := "/" + strings.Repeat("a", 600)
	edge := "/" + strings.Repeat("a", maxKept-1)
	short := "/" + strings.Repeat("s", maxShortKept-1)
	for _, tc := range []struct {
		name   string
		c      *HTTPChecker
		plain  bool
		want   string
		failed string
	}{
		{"plain", MustHTTP(srv.URL + "/ok"), true, "GET /ok", ""},
		{"plain, down", MustHTTP(srv.URL + "/down"), true, "GET /down", "status 503, want 2xx"},
		{"no redirects", MustHTTP(srv.URL+"/nr", WithFollowRedirects(false)), true, "GET /nr", ""},
		{"query", MustHTTP(srv.URL + "/q?a=1"), true, "GET /q?a=1", ""},
		{"long path", MustHTTP(srv.URL + long), false, "GET " + long, ""},
		{"longest path a short record keeps", MustHTTP(srv.URL + short), true, "GET " + short, ""},
		{"a byte longer: a long record", MustHTTP(srv.URL + short + "b"), true, "GET " + short + "b", ""},
		{"longest path a record keeps", MustHTTP(srv.URL + edge), true, "GET " + edge, ""},
		{"a byte longer", MustHTTP(srv.URL + edge + "b"), false, "GET " + edge + "b", ""},
		{"options", MustHTTP(srv.URL+"/h", WithMethod("HEAD"), WithStatus(200)), false, "HEAD /h", ""},
		{"options, down", MustHTTP(srv.URL+"/down", WithStatus(200)), false, "GET /down", "status 503, want 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if plain := *(*byte)(tc.c.r) != 0; plain != tc.plain {
				t.Errorf("kept as a record: %v, want %v", plain, tc.plain)
			}
			for _, ck := range []Checker{tc.c, *tc.c} {
				err := ck.Check(t.Context())
				if tc.failed == "" && err != nil || tc.failed != "" && (err == nil || err.Error() != tc.failed) {
					t.Errorf("%T: check error %v, want %q", ck, err, tc.failed)
				}
				if got.Load() != tc.want {
					t.Errorf("%T: the server got %q, want %q", ck, got.Load(), tc.want)
				}
			}
		})
	}
	var zero HTTPChecker
	if err := zero.Check(t.Context()); !errors.Is(err, errZeroHTTP) {
		t.Errorf("the zero value's check: %v, want %v", err, errZeroHTTP)
	}
	if zero.String() != "GET [no URL]" {
		t.Errorf("the zero value prints %q", zero.String())
	}
}

// Checkers of new hosts are built while others check: the profiles'
// numbers are read without the pool's lock (run with -race).
func TestHTTPProfilesGrowWhileChecking(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := *MustHTTP(srv.URL + "/a")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 300 {
			MustHTTP(fmt.Sprintf("http://grow-%d.test/p", i))
		}
	}()
	for range 50 {
		if err := c.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	last := MustHTTP("http://grow-299.test/p")
	if last.prof().base != "http://grow-299.test" || last.kept() != "/p" {
		t.Errorf("a checker built after the table grew has base %q and keeps %q", last.prof().base, last.kept())
	}
	// Its profile's number is past those a short record holds: the record
	// has the long form, and reads back the same.
	if head := uintptr(unsafe.Pointer(unsafe.StringData(last.kept()))) - uintptr(last.r); head != recHead {
		t.Errorf("the record of a checker of the 300th host keeps %d bytes before its path, want %d", head, recHead)
	}
	for i := range 300 {
		raw := fmt.Sprintf("http://grow-%d.test/p", i)
		if c := MustHTTP(raw); c.URL() != raw {
			t.Fatalf("a checker of %s requests %s", raw, c.URL())
		}
	}
}

// The checkers that keep only their path send the request url.Parse would
// have made of the whole URL, to the same host; URL gives the whole URL
// back.
func TestHTTPPlainURLRequests(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Host + " " + r.Method + " " + r.RequestURI)
	}))
	defer srv.Close()
	for _, path := range []string{"", "/", "/svc/1", "/a-b/c_d~e.html", "/x?q=1", "/%41b", "/a%2Fb"} {
		raw := srv.URL + path
		c := MustHTTP(raw)
		if c.URL() != raw {
			t.Errorf("URL() = %q, want %q", c.URL(), raw)
		}
		if err := c.Check(context.Background()); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		want := strings.TrimPrefix(srv.URL, "http://") + " GET " + cmp.Or(path, "/")
		if got.Load() != want {
			t.Errorf("%q: the server got %q, want %q", raw, got.Load(), want)
		}
	}
}

// Past maxBases hosts, plain checkers keep their whole URL and still work.
func TestHTTPManyHosts(t *testing.T) {
	// The hosts' profiles go again afterwards, so that the checkers of
	// tests run after this one (-count, -shuffle) find room for theirs.
	t.Cleanup(func() {
		pool.Lock()
		defer pool.Unlock()
		for _, c := range pool.m {
			for _, bases := range c.bases {
				for base := range bases {
					if strings.HasSuffix(base, ".many.test") {
						delete(bases, base)
					}
				}
			}
		}
	})
	var last *HTTPChecker
	for i := range maxBases + 10 {
		last = MustHTTP(fmt.Sprintf("http://h%d.many.test/p", i))
	}
	if last.prof().base != "" || last.kept() != fmt.Sprintf("http://h%d.many.test/p", maxBases+9) {
		t.Errorf("checker %d kept base %q and %q, want its whole URL", maxBases+9, last.prof().base, last.kept())
	}
}

// A value's record lives in a block of shared text that only such
// pointers keep: after the pointers HTTP returned are gone and the
// collector has run, every value still names its URL.
func TestHTTPCheckerValuesOutliveTheirPointers(t *testing.T) {
	const n = 5000
	vals := make([]Checker, n)
	for i := range vals {
		vals[i] = *MustHTTP(fmt.Sprintf("http://outlive-%d.test:8080/svc/%d/health", i%7, i))
	}
	for range 3 {
		runtime.GC()
		_ = make([]byte, 1<<20) // garbage over the freed blocks, if any were
	}
	for i, v := range vals {
		if got, want := v.(HTTPChecker).URL(), fmt.Sprintf("http://outlive-%d.test:8080/svc/%d/health", i%7, i); got != want {
			t.Fatalf("value %d names %q after collections, want %q", i, got, want)
		}
	}
}
