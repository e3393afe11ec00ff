package pulse

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// GRPCOption configures a [GRPC] checker. [Option] and [VerifyOption]
// values are GRPCOptions too.
type GRPCOption interface{ applyGRPC(*settings) }

type grpcOption func(*settings)

func (o grpcOption) applyGRPC(s *settings) { o(s) }

// WithTLS makes a [GRPC] checker use TLS (HTTP/2 over TLS, verified as
// [VerifyOption]s say) instead of plaintext HTTP/2.
func WithTLS() GRPCOption {
	return grpcOption(func(s *settings) { s.useTLS = true })
}

// Health status values of grpc.health.v1.HealthCheckResponse.
var grpcServingStatus = [...]string{"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"}

// gRPC status codes, for error texts.
var grpcCodes = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// maxGRPCResponse bounds the health response read; the real one is a few
// bytes.
const maxGRPCResponse = 4 << 10

// GRPCChecker calls the standard gRPC health service; build one with
// [GRPC].
type GRPCChecker struct {
	url        string // http(s)://addr/grpc.health.v1.Health/Check
	request    []byte // the framed, encoded HealthCheckRequest
	client     *http.Client
	timeout    time.Duration
	maxLatency time.Duration
}

// GRPC returns a checker that calls grpc.health.v1.Health/Check on addr
// ("host:port") for service ("" asks about the server as a whole) and
// passes when the answer is SERVING.
//
// The call is made without the grpc-go library: it is one unary request,
// framed and encoded here (a few dozen lines) and sent over the shared
// HTTP/2 transport, plaintext (h2c with prior knowledge) unless [WithTLS].
// This keeps gRPC's dependency tree out of programs that embed the engine.
func GRPC(addr, service string, opts ...GRPCOption) (*GRPCChecker, error) {
	var s settings
	for _, o := range opts {
		o.applyGRPC(&s)
	}
	if host, port, err := net.SplitHostPort(addr); err != nil {
		s.fail("GRPC(%q): %v", addr, err)
	} else if host == "" || port == "" {
		s.fail("GRPC(%q): want host:port", addr)
	}
	if len(service) > 1024 {
		s.fail("GRPC: service name of %d bytes", len(service))
	}
	if !s.useTLS && (s.rootCAs != nil || s.insecure || s.serverName != "") {
		s.fail("GRPC(%q): certificate options need WithTLS", addr)
	}
	if err := s.err(); err != nil {
		return nil, err
	}
	scheme := "http"
	if s.useTLS {
		scheme = "https"
	}
	u := (&url.URL{Scheme: scheme, Host: addr, Path: "/grpc.health.v1.Health/Check"}).String()
	cl := sharedClients(transportKey{
		roots: s.rootCAs, insecure: s.insecure, serverName: s.serverName,
		grpc: true, grpcTLS: s.useTLS,
	})
	return &GRPCChecker{
		url: u, request: healthRequest(service), client: cl.noFollow,
		timeout: s.timeout, maxLatency: s.maxLatency,
	}, nil
}

// MustGRPC is like [GRPC] but panics on an invalid address or option.
func MustGRPC(addr, service string, opts ...GRPCOption) *GRPCChecker {
	c, err := GRPC(addr, service, opts...)
	if err != nil {
		panic(err)
	}
	return c
}

// String returns the address.
func (c *GRPCChecker) String() string { return "grpc " + c.url }

// addr returns the host:port of the URL, for error texts.
func (c *GRPCChecker) addr() string {
	rest := c.url[strings.Index(c.url, "://")+3:]
	return rest[:strings.IndexByte(rest, '/')]
}

// tls reports whether the checker speaks TLS.
func (c *GRPCChecker) tls() bool { return strings.HasPrefix(c.url, "https:") }

// healthRequest encodes HealthCheckRequest{service} (field 1, a string)
// in a gRPC length-prefixed message frame.
func healthRequest(service string) []byte {
	var msg []byte
	if service != "" {
		msg = append(msg, 0x0a) // field 1, wire type 2 (length-delimited)
		msg = binary.AppendUvarint(msg, uint64(len(service)))
		msg = append(msg, service...)
	}
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg))) // frame[0]=0: not compressed
	return append(frame, msg...)
}

// Check makes the call. It is safe for concurrent use.
//
// A call that fails on a pooled connection before any byte of a response
// arrived, because the connection turned out to be dead (reset or closed by
// a server that restarted since it was opened), is made once more on a new
// connection: the health call is idempotent, and the failure says nothing
// about the server now listening. A server that does not speak gRPC gives an
// error wrapping [ErrNotGRPC] that says what it speaks instead.
func (c *GRPCChecker) Check(ctx context.Context) error {
	ctx, cancel, b := bound(ctx, c.timeout)
	defer cancel()

	var resp *http.Response
	for attempt := 0; ; attempt++ {
		var err error
		var tr grpcTrace
		var box greetingBox
		resp, err = c.call(httptrace.WithClientTrace(context.WithValue(ctx, greetingKey{}, &box), tr.hooks()))
		if err == nil {
			break
		}
		if e := b.ctxErr(ctx, ""); e != nil {
			return e
		}
		if pe := box.get(); pe != nil {
			return pe.checkErr(c.addr())
		}
		if attempt == 0 && tr.reused.Load() && !tr.responded.Load() && connDied(err) {
			continue
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return c.describe(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !isGRPCContentType(ct) {
		_, _ = drain(resp.Body, maxDrain)
		if ct == "" {
			ct = "none"
		} else {
			ct = strconv.Quote(ct)
		}
		return fmt.Errorf("%w: %s answered HTTP/%d status %d with content-type %s, want application/grpc",
			ErrNotGRPC, c.addr(), resp.ProtoMajor, resp.StatusCode, ct)
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = drain(resp.Body, maxDrain)
		return fmt.Errorf("HTTP status %d from a gRPC endpoint, want 200", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxGRPCResponse))
	if err != nil {
		if e := b.ctxErr(ctx, "reading response"); e != nil {
			return e
		}
		return fmt.Errorf("reading response: %w", err)
	}
	_, _ = drain(resp.Body, maxDrain) // reach the trailers

	// grpc-status is a trailer, or a header in a trailers-only response.
	st := resp.Trailer.Get("Grpc-Status")
	msg := resp.Trailer.Get("Grpc-Message")
	if st == "" {
		st, msg = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	}
	if st == "" {
		return errors.New("response without grpc-status")
	}
	if st != "0" {
		code, _ := strconv.Atoi(st)
		name := "code " + st
		if code >= 0 && code < len(grpcCodes) {
			name = grpcCodes[code]
		}
		if m, err := url.PathUnescape(msg); err == nil {
			msg = m
		}
		if msg != "" {
			return fmt.Errorf("grpc status %s: %s", name, msg)
		}
		return fmt.Errorf("grpc status %s", name)
	}
	status, err := healthStatus(body)
	if err != nil {
		return err
	}
	if status != 1 {
		name := "status " + strconv.FormatUint(status, 10)
		if status < uint64(len(grpcServingStatus)) {
			name = grpcServingStatus[status]
		}
		return fmt.Errorf("health %s, want SERVING", name)
	}
	return b.latencyErr(time.Since(b.start), c.maxLatency)
}

// call sends the health request once.
func (c *GRPCChecker) call(ctx context.Context) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.request))
	if err != nil {
		return nil, err
	}
	req.Header = http.Header{
		"Content-Type": {"application/grpc"},
		"Te":           {"trailers"},
		"User-Agent":   {userAgent},
	}
	if dl, ok := ctx.Deadline(); ok {
		// Tell the server our deadline, in whole milliseconds, with a
		// margin: the server gives up on the call a little after this
		// check does, so a slow server is reported as our timeout rather
		// than as a stream the server cancelled a moment earlier.
		ms := time.Until(dl).Milliseconds()
		ms = max(ms+ms/10+10, 1)
		req.Header["Grpc-Timeout"] = []string{strconv.FormatInt(ms, 10) + "m"}
	}
	return c.client.Do(req)
}

// grpcTrace records what a retry decision needs: whether the call went out
// on a pooled connection, and whether any of a response came back. The
// hooks run on the transport's goroutines.
type grpcTrace struct {
	reused, responded atomic.Bool
}

func (t *grpcTrace) hooks() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn:              func(i httptrace.GotConnInfo) { t.reused.Store(i.Reused) },
		GotFirstResponseByte: func() { t.responded.Store(true) },
	}
}

// connDied reports an error of a connection that the peer reset or closed.
func connDied(err error) bool {
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	// net/http's HTTP/2 transport reports a connection closed under a
	// request with an error of its own, not exported.
	return strings.Contains(err.Error(), "client connection lost")
}

// describe turns a transport error into the check's error, naming the
// protocol the server speaks when it is not HTTP/2.
func (c *GRPCChecker) describe(err error) error {
	var pe *protocolError
	if errors.As(err, &pe) {
		return pe.checkErr(c.addr())
	}
	var he tls.RecordHeaderError
	if c.tls() && errors.As(err, &he) {
		return fmt.Errorf("%w: %s does not speak TLS (%v); drop WithTLS for plaintext gRPC", ErrNotGRPC, c.addr(), err)
	}
	if c.tls() && (strings.Contains(err.Error(), "unexpected ALPN protocol") ||
		strings.Contains(err.Error(), "tls: no application protocol")) {
		// The server did not accept "h2" in the TLS handshake.
		return fmt.Errorf("%w: %s does not offer HTTP/2 over TLS (%v): an HTTP/1 server", ErrNotGRPC, c.addr(), err)
	}
	return err
}

// isGRPCContentType reports application/grpc and its +suffix forms.
func isGRPCContentType(ct string) bool {
	const want = "application/grpc"
	if len(ct) < len(want) || !strings.EqualFold(ct[:len(want)], want) {
		return false
	}
	return len(ct) == len(want) || ct[len(want)] == '+' || ct[len(want)] == ';'
}

// ErrNotGRPC is wrapped by the error of a [GRPC] check when the server at
// the address does not speak gRPC: it answers in HTTP/1, in TLS to a
// plaintext checker, or in HTTP/2 without gRPC's content type.
var ErrNotGRPC = errors.New("not a gRPC server")

// protocolError says what a server greeted a plaintext gRPC connection
// with instead of HTTP/2 (mismatch), or that it closed the connection
// before it said anything (err).
type protocolError struct {
	what     string
	mismatch bool
	err      error
}

func (e *protocolError) Error() string {
	if e.err != nil {
		return e.what + ": " + e.err.Error()
	}
	return e.what
}

func (e *protocolError) Unwrap() error { return e.err }

// checkErr is the check's error for e, on the server at addr.
func (e *protocolError) checkErr(addr string) error {
	if e.mismatch {
		return fmt.Errorf("%w: %s %s", ErrNotGRPC, addr, e.what)
	}
	return fmt.Errorf("%s %w", addr, e)
}

// greetingBox receives the verdict on the greeting of the connections
// dialed for one call. net/http's HTTP/2 transport does not pass the
// error of a connection that failed before its first request on to the
// request, so the connection puts it here.
type greetingBox struct {
	mu  sync.Mutex
	err *protocolError
}

type greetingKey struct{}

func (b *greetingBox) set(e *protocolError) {
	if b == nil {
		return
	}
	b.mu.Lock()
	if b.err == nil {
		b.err = e
	}
	b.mu.Unlock()
}

func (b *greetingBox) get() *protocolError {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// h2cConn checks that the server's first bytes on a plaintext gRPC
// connection are an HTTP/2 SETTINGS frame, as the protocol requires, and
// names what they are otherwise: without it an HTTP/1 server's answer reads
// as "http2: frame too large" or "broken pipe", and a TLS server's as
// "unexpected EOF".
type h2cConn struct {
	net.Conn
	box     *greetingBox
	mu      sync.Mutex // held while checking
	checked atomic.Bool
	pending []byte // bytes read while checking, not yet returned
}

// sniffH2C wraps dial so that its connections are checked as h2cConn.
func sniffH2C(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		box, _ := ctx.Value(greetingKey{}).(*greetingBox)
		return &h2cConn{Conn: conn, box: box}, nil
	}
}

func (c *h2cConn) Read(p []byte) (int, error) {
	if !c.checked.Load() {
		c.mu.Lock()
		err := c.check()
		c.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// Write returns, when the server refused the client's greeting before it
// was written in full, what the server said instead.
func (c *h2cConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && !c.checked.Load() {
		// Whatever the server said is waiting to be read, by this call or
		// by the client's reader, which is then checking and holds c.mu: a
		// broken connection ends its read soon, the deadline in any case.
		_ = c.Conn.SetReadDeadline(time.Now().Add(time.Second))
		c.mu.Lock()
		var pe *protocolError
		if e := c.check(); errors.As(e, &pe) {
			err = pe
		}
		c.mu.Unlock()
		_ = c.Conn.SetReadDeadline(time.Time{})
	}
	return n, err
}

// check reads the first 9 bytes (a frame header) and judges them. The
// caller holds c.mu.
func (c *h2cConn) check() error {
	if c.checked.Load() {
		return nil
	}
	buf := make([]byte, 64)
	n := 0
	for n < 9 {
		m, err := c.Conn.Read(buf[n:])
		n += m
		if e := greeting(buf[:n], err != nil); e != nil {
			c.checked.Store(true)
			c.box.set(e)
			return e
		}
		if err != nil {
			if n == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
				c.checked.Store(true)
				// Not necessarily another protocol: proxies without a
				// healthy backend do this too. TLS-only servers also close
				// without a word on a plaintext greeting.
				e := &protocolError{what: "closed the connection before its HTTP/2 greeting (if it speaks only TLS, use WithTLS)", err: err}
				c.box.set(e)
				return e
			}
			return err
		}
	}
	c.box = nil
	c.pending = buf[:n]
	c.checked.Store(true)
	return nil
}

// greeting judges the first bytes b a server sent on a plaintext HTTP/2
// connection: nil while they may still be an HTTP/2 SETTINGS frame (all
// when done is true and the bytes are too few to tell).
func greeting(b []byte, done bool) *protocolError {
	switch {
	case len(b) >= 2 && (b[0] == 0x15 || b[0] == 0x16) && b[1] == 0x03:
		return &protocolError{what: "answered in TLS, not plaintext HTTP/2: use WithTLS", mismatch: true}
	case len(b) >= 5 && string(b[:5]) == "HTTP/":
		line := string(b)
		if i := strings.IndexAny(line, "\r\n"); i >= 0 {
			line = line[:i]
		}
		return &protocolError{what: fmt.Sprintf("answered the HTTP/2 preface with %q: an HTTP/1 server", line), mismatch: true}
	case len(b) >= 9 && (b[3] != 0x04 || b[4]&1 != 0 || binary.BigEndian.Uint32(b[5:9]) != 0):
		return &protocolError{what: fmt.Sprintf("sent % x first, not an HTTP/2 SETTINGS frame", b[:9]), mismatch: true}
	case done && len(b) > 0 && len(b) < 9:
		return &protocolError{what: fmt.Sprintf("sent %q and closed, not an HTTP/2 greeting", b), mismatch: true}
	}
	return nil
}

// healthStatus decodes the frame holding a HealthCheckResponse and returns
// its status (field 1, a varint enum; absent means 0, UNKNOWN).
func healthStatus(frame []byte) (uint64, error) {
	if len(frame) < 5 {
		return 0, fmt.Errorf("response of %d bytes, want a gRPC message", len(frame))
	}
	if frame[0] != 0 {
		return 0, errors.New("compressed response, not requested")
	}
	n := binary.BigEndian.Uint32(frame[1:5])
	msg := frame[5:]
	if uint32(len(msg)) != n {
		return 0, fmt.Errorf("response message of %d bytes, frame says %d", len(msg), n)
	}
	var status uint64
	for len(msg) > 0 {
		key, k := binary.Uvarint(msg)
		if k <= 0 {
			return 0, errors.New("malformed health response")
		}
		msg = msg[k:]
		field, wire := key>>3, key&7
		switch wire {
		case 0: // varint
			v, k := binary.Uvarint(msg)
			if k <= 0 {
				return 0, errors.New("malformed health response")
			}
			msg = msg[k:]
			if field == 1 {
				status = v
			}
		case 1: // 64-bit
			if len(msg) < 8 {
				return 0, errors.New("malformed health response")
			}
			msg = msg[8:]
		case 2: // length-delimited
			l, k := binary.Uvarint(msg)
			if k <= 0 || uint64(len(msg)-k) < l {
				return 0, errors.New("malformed health response")
			}
			msg = msg[k+int(l):]
		case 5: // 32-bit
			if len(msg) < 4 {
				return 0, errors.New("malformed health response")
			}
			msg = msg[4:]
		default:
			return 0, errors.New("malformed health response")
		}
	}
	return status, nil
}

var (
	_ Checker    = (*GRPCChecker)(nil)
	_ GRPCOption = Option(nil)
	_ GRPCOption = VerifyOption(nil)
)
