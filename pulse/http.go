package pulse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ziad/cpra/internal/plainurl"
	"github.com/ziad/cpra/internal/redact"
)

const (
	// maxBodyRead is how much of a response body the body conditions see.
	maxBodyRead = 1 << 20
	// maxDrain is how much of an unread body is discarded so that the
	// connection can be reused; a longer body closes the connection.
	maxDrain = 64 << 10
)

// userAgent is sent unless a WithHeader option sets one.
const userAgent = "cpra-pulse/1"

// defaultHeader is shared, read-only, by every request without headers of
// its own. net/http neither modifies a request's Header nor keeps it.
var defaultHeader = http.Header{"User-Agent": {userAgent}}

// HTTPOption configures an [HTTP] checker. [Option] and [VerifyOption]
// values are HTTPOptions too.
type HTTPOption interface{ applyHTTP(*settings) }

type httpOption func(*settings)

func (o httpOption) applyHTTP(s *settings) { o(s) }

// WithMethod sets the request method (default GET).
func WithMethod(method string) HTTPOption {
	return httpOption(func(s *settings) {
		if method == "" || strings.ContainsAny(method, " \t\r\n") {
			s.fail("WithMethod(%q): not a method", method)
			return
		}
		s.method = method
	})
}

// WithHeader adds a request header; repeat it for several. The key "Host"
// sets the Host header of the request.
func WithHeader(key, value string) HTTPOption {
	return httpOption(func(s *settings) {
		if key == "" || strings.ContainsAny(key, " :\r\n") || strings.ContainsAny(value, "\r\n") {
			// The value may be a credential: it is not quoted.
			s.fail("WithHeader(%q): invalid header name or value", key)
			return
		}
		s.header = append(s.header, [2]string{key, value})
	})
}

// WithRequestBody sends body with every request (set its Content-Type with
// [WithHeader]). The slice is kept and must not be modified afterwards.
func WithRequestBody(body []byte) HTTPOption {
	return httpOption(func(s *settings) { s.body = body })
}

// WithStatus sets the status codes that count as healthy (default: any
// 2xx).
func WithStatus(codes ...int) HTTPOption {
	return httpOption(func(s *settings) {
		for _, c := range codes {
			if c < 100 || c > 999 {
				s.fail("WithStatus(%d): not a status code", c)
				return
			}
		}
		s.status = append(s.status, codes...)
	})
}

// WithBodyContains requires the response body (its first MiB) to contain
// substr.
func WithBodyContains(substr string) HTTPOption {
	return httpOption(func(s *settings) {
		if substr == "" {
			s.fail("WithBodyContains(\"\")")
			return
		}
		s.bodyContains = substr
	})
}

// WithBodyMatch requires the response body (its first MiB) to match the
// regular expression pattern (RE2 syntax). An invalid pattern makes the
// constructor fail.
func WithBodyMatch(pattern string) HTTPOption {
	return httpOption(func(s *settings) { s.bodyRegexp = pattern })
}

// WithJSONField requires the response body to be JSON with the field at path
// equal to want. A path is a dotted list of object keys and array indexes,
// like "status.db" or "checks.0.state". A JSON string matches by its
// content, any other value by its compact JSON text ("true", "3", "null").
func WithJSONField(path, want string) HTTPOption {
	return httpOption(func(s *settings) {
		if path == "" || strings.HasPrefix(path, ".") || strings.HasSuffix(path, ".") || strings.Contains(path, "..") {
			s.fail("WithJSONField(%q): invalid path", path)
			return
		}
		s.jsonPath, s.jsonWant, s.hasJSON = path, want, true
	})
}

// WithFollowRedirects sets whether redirects are followed (default true, at
// most 10). When false, a redirect response is judged by its own status,
// which fails the default 2xx expectation.
func WithFollowRedirects(follow bool) HTTPOption {
	return httpOption(func(s *settings) { s.noRedirects = !follow })
}

// HTTPChecker checks an HTTP(S) endpoint; build one with [HTTP].
//
// A value is one pointer, so that a [Checker] holding the value needs no
// heap object of its own: a plain GET monitor's checker costs its path and
// 2 bytes, kept in blocks shared with other checkers (6 bytes for a path
// longer than 255 bytes, or past the first 250 or so hosts). The engine
// keeps the value of a *HTTPChecker it is given; the pointer [HTTP] returns
// costs 8 bytes only while its caller holds it. Copies of a value check the
// same endpoint, and both the value and the pointer are Checkers.
type HTTPChecker struct {
	// r is a plain checker's record in the shared text blocks (see
	// plainChecker), or an *httpRec; the first byte says which.
	r unsafe.Pointer
}

// httpRec is a checker that no plain record holds: one with options of its
// own, or whose URL is longer than a block keeps.
type httpRec struct {
	kind uint8 // 0, where a plain record's first byte is not
	// rest is the URL after the profile's base: its path, for a plain
	// GET of a plain URL; the whole URL otherwise (the base is "").
	rest string
	p    *httpProfile
}

// parts returns the checker's profile and what it keeps of its URL; a nil
// profile for the zero value.
func (c HTTPChecker) parts() (*httpProfile, string) {
	if c.r == nil {
		return nil, ""
	}
	b0 := *(*byte)(c.r)
	if b0 == 0 {
		h := (*httpRec)(c.r)
		return h.p, h.rest
	}
	if b0 != recLong {
		n := int(*(*byte)(unsafe.Add(c.r, 1)))
		return profileNumbered(uint32(b0 - recLong)), unsafe.String((*byte)(unsafe.Add(c.r, recShortHead)), n)
	}
	head := (*[recHead]byte)(c.r)
	num := uint32(head[1]) | uint32(head[2])<<8 | uint32(head[3])<<16
	n := int(head[4]) | int(head[5])<<8
	return profileNumbered(num), unsafe.String((*byte)(unsafe.Add(c.r, recHead)), n)
}

// httpProfile is the client of an HTTP checker, what its check asks and,
// for plain GETs of plain URLs, the scheme and host they share.
type httpProfile struct {
	client *http.Client
	spec   *httpSpec // nil: GET, 2xx, no conditions
	base   string    // "http://host:port", or ""
}

// url returns the URL the checker requests.
func (c HTTPChecker) url() string {
	p, rest := c.parts()
	if p == nil || p.base == "" {
		return rest
	}
	return p.base + rest
}

type httpSpec struct {
	method     string
	header     http.Header
	host       string
	body       []byte
	status     []int
	contains   string
	re         *regexp.Regexp
	jsonPath   []string
	jsonWant   string
	hasJSON    bool
	timeout    time.Duration
	maxLatency time.Duration
	direct     bool // a GET or HEAD with no body and the default headers: see send
}

var plainSpec = &httpSpec{method: http.MethodGet, header: defaultHeader, direct: true}

// HTTP returns a checker that sends one request to rawURL per check and
// passes when the response meets every condition: a 2xx status (or those
// given by [WithStatus]) and any body, JSON and latency conditions.
//
// The URL and options are validated here, once; an error wraps [ErrOption].
// The checker keeps a copy of what it needs of rawURL, not rawURL itself:
// for a plain GET of a plain URL (a host name or IPv4 address, a port, and
// a path of letters, digits and "-._~/"), its path alone, the scheme and
// host being shared by the checkers of that host; otherwise the whole URL.
// A million such checkers cost their paths and 2 bytes each in shared
// blocks (6 bytes past the first 250 or so hosts, or for a path longer than
// 255 bytes), and 8 bytes each for the pointers while those are held.
// All HTTP checkers share one tuned [net/http.Transport] per certificate
// setting, so connections to a host are reused across its monitors (see
// [CloseIdleConnections]). Environment proxy settings are ignored.
//
// A failed check says what failed, for example "status 503, want 2xx",
// `body missing "ok"`, "timeout after 2s" or
// "dial tcp 127.0.0.1:9: connect: connection refused".
func HTTP(rawURL string, opts ...HTTPOption) (*HTTPChecker, error) {
	if len(opts) == 0 {
		// The settings of a fleet's plain GETs stay on the stack: an
		// option's method is given their address, which sends them to
		// the heap, 424 bytes a checker made.
		var s settings
		return httpChecker(rawURL, &s)
	}
	s := new(settings)
	for _, o := range opts {
		o.applyHTTP(s)
	}
	return httpChecker(rawURL, s)
}

// httpChecker is HTTP once the options are applied to s.
func httpChecker(rawURL string, s *settings) (*HTTPChecker, error) {
	checkURL(rawURL, s)
	var re *regexp.Regexp
	if s.bodyRegexp != "" {
		var err error
		if re, err = regexp.Compile(s.bodyRegexp); err != nil {
			s.fail("WithBodyMatch(%q): %v", s.bodyRegexp, err)
		}
	}
	if err := s.err(); err != nil {
		return nil, err
	}

	cl := sharedClients(transportKey{roots: s.rootCAs, insecure: s.insecure, serverName: s.serverName})
	if s.method == "" && s.header == nil && s.body == nil && s.status == nil &&
		s.bodyContains == "" && re == nil && !s.hasJSON && s.timeout == 0 && s.maxLatency == 0 {
		c := cl.plainChecker(rawURL, s.noRedirects)
		return &c, nil
	}
	h := &httpRec{rest: keepText(rawURL)}
	client := cl.follow
	if s.noRedirects {
		client = cl.noFollow
	}
	sp := &httpSpec{
		method:     s.method,
		header:     defaultHeader,
		body:       s.body,
		status:     s.status,
		contains:   s.bodyContains,
		re:         re,
		jsonWant:   s.jsonWant,
		hasJSON:    s.hasJSON,
		timeout:    s.timeout,
		maxLatency: s.maxLatency,
	}
	if sp.method == "" {
		sp.method = http.MethodGet
	}
	sp.direct = (sp.method == http.MethodGet || sp.method == http.MethodHead) && s.body == nil && len(s.header) == 0
	if s.hasJSON {
		sp.jsonPath = strings.Split(s.jsonPath, ".")
	}
	if len(s.header) > 0 {
		h := make(http.Header, len(s.header)+1)
		for _, kv := range s.header {
			k := textproto.CanonicalMIMEHeaderKey(kv[0])
			if k == "Host" {
				sp.host = kv[1]
				continue
			}
			h[k] = append(h[k], kv[1])
		}
		if _, ok := h["User-Agent"]; !ok {
			h["User-Agent"] = []string{userAgent}
		}
		sp.header = h
	}
	h.p = &httpProfile{client: client, spec: sp}
	return &HTTPChecker{r: unsafe.Pointer(h)}, nil
}

// checkURL validates an HTTP checker's URL. A plain URL, the kind most of
// a large fleet has, passes without url.Parse: url.Parse takes each as an
// http or https URL with a host (see package plainurl), and parsing a
// million of them was two fifths of the checkers' construction.
func checkURL(rawURL string, s *settings) {
	if _, _, ok := plainurl.Split(rawURL); ok {
		return
	}
	// The URL may hold credentials (user information, a token in the path
	// or the query): errors name its scheme and host at most.
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		s.fail("HTTP: invalid URL: %v", urlSecrets(rawURL, nil).Error(err))
	case u.Scheme != "http" && u.Scheme != "https":
		s.fail("HTTP: scheme must be http or https, not %q", u.Scheme)
	case u.Host == "":
		s.fail("HTTP: URL %s has no host", displayURL(u))
	}
}

// MustHTTP is like [HTTP] but panics on an invalid URL or option. It suits
// package-level variables and tests.
func MustHTTP(rawURL string, opts ...HTTPOption) *HTTPChecker {
	c, err := HTTP(rawURL, opts...)
	if err != nil {
		panic(err)
	}
	return c
}

// URL returns the URL the checker requests, whole: it may hold
// credentials, so do not print it.
func (c HTTPChecker) URL() string { return c.url() }

// String returns the method and the URL's scheme and host: the rest of the
// URL (user information, path, query) may hold credentials, and is never
// printed.
func (c HTTPChecker) String() string {
	p, rest := c.parts()
	switch {
	case p == nil:
		return "GET [no URL]"
	case p.base != "":
		return c.method() + " " + p.base
	}
	u, err := url.Parse(rest)
	if err != nil {
		return c.method() + " [invalid URL]"
	}
	return c.method() + " " + displayURL(u)
}

// GoString is String, so that %#v prints no secret either.
func (c HTTPChecker) GoString() string { return c.String() }

// Format prints String for every verb, also for the struct itself.
func (c HTTPChecker) Format(f fmt.State, verb rune) { redact.Format(f, verb, c.String()) }

// displayURL is what may be shown of a URL: its scheme and host.
func displayURL(u *url.URL) string { return u.Scheme + "://" + u.Host }

// urlSecrets gathers what an HTTP check must not quote: the URL's parts
// and the header values. It is built only when a check fails.
func urlSecrets(rawURL string, header http.Header) *redact.Secrets {
	s := &redact.Secrets{}
	s.AddURL(rawURL)
	for _, vs := range header {
		for _, v := range vs {
			if v != userAgent {
				s.AddHeader(v)
			}
		}
	}
	return s
}

// scrub removes the checker's secrets from text quoted from elsewhere.
func (c HTTPChecker) scrub(text string) string { return c.secrets().Scrub(text) }

// secrets is urlSecrets for this checker.
func (c HTTPChecker) secrets() *redact.Secrets {
	var h http.Header
	if p, _ := c.parts(); p != nil && p.spec != nil {
		h = p.spec.header
	}
	return urlSecrets(c.url(), h)
}

func (c HTTPChecker) method() string {
	if p, _ := c.parts(); p != nil && p.spec != nil {
		return p.spec.method
	}
	return http.MethodGet
}

// errZeroHTTP is the error of a checker not built by HTTP.
var errZeroHTTP = errors.New("pulse: HTTPChecker{} has no URL: build it with pulse.HTTP")

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Check sends one request and judges the response. It is safe for
// concurrent use.
func (c HTTPChecker) Check(ctx context.Context) error {
	p, rest := c.parts()
	if p == nil {
		return errZeroHTTP
	}
	sp := p.spec.orPlain()
	ctx, cancel, b := bound(ctx, sp.timeout)
	defer cancel()

	var body io.Reader
	if sp.body != nil {
		body = bytes.NewReader(sp.body)
	}
	var req *http.Request
	var err error
	if p.base != "" {
		// A plain URL: its path needs no parsing (see package plainurl).
		if req, err = http.NewRequestWithContext(ctx, sp.method, p.base, body); err == nil {
			req.URL.Path = rest
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, sp.method, rest, body)
	}
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return c.secrets().Error(err)
	}
	req.Header = sp.header
	if sp.host != "" {
		req.Host = sp.host
	}
	resp, err := p.send(req, sp)
	if err != nil {
		if e := b.ctxErr(ctx, ""); e != nil {
			return e
		}
		// A *url.Error prints the whole URL; its cause is scrubbed of
		// what else the URL and headers hold (a proxy or a server may
		// quote them).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return c.secrets().Error(err)
	}
	defer resp.Body.Close()

	if err := sp.statusErr(resp.StatusCode); err != nil {
		_, _ = drain(resp.Body, maxDrain)
		return err
	}
	if sp.contains == "" && sp.re == nil && !sp.hasJSON {
		_, err := drain(resp.Body, maxDrain)
		if err != nil && err != io.EOF {
			if e := b.ctxErr(ctx, "reading body"); e != nil {
				return e
			}
			// The body was not wanted; a broken one still means the
			// server failed to answer properly.
			return fmt.Errorf("reading body: %w", c.secrets().Error(err))
		}
		return b.latencyErr(time.Since(b.start), sp.maxLatency)
	}

	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		buf.Reset()
		bufPool.Put(buf)
	}()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxBodyRead+1))
	if err != nil {
		if e := b.ctxErr(ctx, "reading body"); e != nil {
			return e
		}
		return fmt.Errorf("reading body: %w", c.secrets().Error(err))
	}
	data := buf.Bytes()
	truncated := len(data) > maxBodyRead
	if truncated {
		data = data[:maxBodyRead]
	}
	if err := sp.bodyErr(data, truncated, c.scrub); err != nil {
		return err
	}
	return b.latencyErr(time.Since(b.start), sp.maxLatency)
}

func (sp *httpSpec) statusErr(code int) error {
	if sp.status == nil {
		if code >= 200 && code <= 299 {
			return nil
		}
		return want2xx(code)
	}
	for _, want := range sp.status {
		if code == want {
			return nil
		}
	}
	var w strings.Builder
	for i, want := range sp.status {
		if i > 0 {
			w.WriteString(" or ")
		}
		w.WriteString(strconv.Itoa(want))
	}
	return fmt.Errorf("status %d, want %s", code, w.String())
}

// statusText is the error of a status a checker did not want.
type statusText struct{ s string }

func (e *statusText) Error() string { return e.s }

// unwanted2xx holds, by status code, the error of a checker that wants a
// 2xx status and gets that code, made the first time a check gets it and
// shared from then on: a failing fleet neither allocates an error per
// failed check nor keeps one per failing monitor (about 70 bytes each).
var unwanted2xx [1000]atomic.Pointer[statusText]

func want2xx(code int) error {
	if code < 0 || code >= len(unwanted2xx) {
		return fmt.Errorf("status %d, want 2xx", code)
	}
	slot := &unwanted2xx[code]
	if e := slot.Load(); e != nil {
		return e
	}
	slot.CompareAndSwap(nil, &statusText{fmt.Sprintf("status %d, want 2xx", code)})
	return slot.Load()
}

// bodyErr judges the body; scrub cleans what it quotes of the body, which
// may echo a credential.
func (sp *httpSpec) bodyErr(data []byte, truncated bool, scrub func(string) string) error {
	if sp.contains != "" && !bytes.Contains(data, []byte(sp.contains)) {
		return fmt.Errorf("body missing %q", sp.contains)
	}
	if sp.re != nil && !sp.re.Match(data) {
		return fmt.Errorf("body does not match /%s/", sp.re)
	}
	if sp.hasJSON {
		if truncated {
			return fmt.Errorf("body longer than %d bytes, not read as JSON", maxBodyRead)
		}
		return jsonFieldErr(data, sp.jsonPath, sp.jsonWant, scrub)
	}
	return nil
}

// jsonFieldErr checks that the JSON document data has want at path.
func jsonFieldErr(data []byte, path []string, want string, scrub func(string) string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("body is not JSON: %v", err)
	}
	name := strings.Join(path, ".")
	for _, key := range path {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[key]
			if !ok {
				return fmt.Errorf("json field %q missing", name)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return fmt.Errorf("json field %q missing", name)
			}
			v = node[i]
		default:
			return fmt.Errorf("json field %q missing", name)
		}
	}
	got := jsonText(v)
	if got != want {
		// Scrubbed before it is cut: a secret cut in two is no longer
		// recognisable.
		return fmt.Errorf("json field %q = %s, want %q", name, quoteJSON(v, scrub(got)), want)
	}
	return nil
}

// jsonText renders a decoded JSON value for comparison: strings by content,
// anything else as compact JSON.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func quoteJSON(v any, text string) string {
	if _, ok := v.(string); ok {
		return strconv.Quote(redact.Truncate(text, 200, "..."))
	}
	return redact.Truncate(text, 200, "...")
}

var (
	_ Checker    = (*HTTPChecker)(nil)
	_ HTTPOption = Option(nil)
	_ HTTPOption = VerifyOption(nil)
)
