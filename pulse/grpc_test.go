package pulse

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
)

// grpcHealthServer serves grpc-go's own health service on ln until the test
// ends (or stop is called). Service "hang" never answers: an interceptor
// holds the call until the client gives up.
type grpcHealthServer struct {
	addr  string
	srv   *grpc.Server
	calls atomic.Int32
	wg    sync.WaitGroup
	once  sync.Once
}

func serveGRPCHealth(t testing.TB, ln net.Listener, opts ...grpc.ServerOption) *grpcHealthServer {
	t.Helper()
	g := &grpcHealthServer{addr: ln.Addr().String()}
	opts = append(opts, grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		g.calls.Add(1)
		if r, ok := req.(*healthpb.HealthCheckRequest); ok && r.GetService() == "hang" {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return h(ctx, req)
	}))
	g.srv = grpc.NewServer(opts...)
	hs := health.NewServer()
	for name, st := range map[string]healthpb.HealthCheckResponse_ServingStatus{
		"": healthpb.HealthCheckResponse_SERVING, "db": healthpb.HealthCheckResponse_SERVING,
		"cache": healthpb.HealthCheckResponse_NOT_SERVING, "queue": healthpb.HealthCheckResponse_UNKNOWN,
		"odd": healthpb.HealthCheckResponse_SERVICE_UNKNOWN,
	} {
		hs.SetServingStatus(name, st)
	}
	healthpb.RegisterHealthServer(g.srv, hs)
	g.wg.Go(func() { _ = g.srv.Serve(ln) })
	t.Cleanup(g.stop)
	return g
}

// stop ends the server at once, closing its connections.
func (g *grpcHealthServer) stop() {
	g.once.Do(func() {
		g.srv.Stop()
		g.wg.Wait()
	})
}

func listenLoopback(t testing.TB, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestGRPC(t *testing.T) {
	addr := serveGRPCHealth(t, listenLoopback(t, "127.0.0.1:0")).addr
	tests := []struct {
		name    string
		addr    string
		service string
		opts    []GRPCOption
		want    string
	}{
		{"server serving", addr, "", nil, ""},
		{"service serving", addr, "db", nil, ""},
		{"not serving", addr, "cache", nil, "health NOT_SERVING, want SERVING"},
		{"unknown status", addr, "queue", nil, "health UNKNOWN, want SERVING"},
		{"service unknown status", addr, "odd", nil, "health SERVICE_UNKNOWN, want SERVING"},
		{"unknown service", addr, "billing", nil, "grpc status NOT_FOUND: unknown service"},
		{"hang", addr, "hang", []GRPCOption{WithTimeout(100 * time.Millisecond)}, "timeout after 100ms"},
		{"refused", closedAddr(t), "", nil, "connect: connection refused"},
		{"max latency", addr, "db", []GRPCOption{WithMaxLatency(time.Nanosecond)}, "max 1ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := GRPC(tt.addr, tt.service, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			wantErr(t, c.Check(t.Context()), tt.want)
		})
	}
}

func TestGRPCOverTLS(t *testing.T) {
	ca := newTestCA(t)
	now := time.Now()
	cert := ca.leaf(t, now.Add(-time.Minute), now.Add(time.Hour))
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})
	addr := serveGRPCHealth(t, listenLoopback(t, "127.0.0.1:0"), grpc.Creds(creds)).addr
	plain := serveGRPCHealth(t, listenLoopback(t, "127.0.0.1:0")).addr

	tests := []struct {
		name string
		addr string
		opts []GRPCOption
		want string
	}{
		{"verified", addr, []GRPCOption{WithTLS(), WithRootCAs(ca.pool)}, ""},
		{"unverified", addr, []GRPCOption{WithTLS(), WithInsecureSkipVerify()}, ""},
		{"unknown authority", addr, []GRPCOption{WithTLS()}, "certificate signed by unknown authority"},
		{"plaintext server", plain, []GRPCOption{WithTLS(), WithRootCAs(ca.pool)}, "does not speak TLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, MustGRPC(tt.addr, "", tt.opts...).Check(t.Context()), tt.want)
		})
	}
	if _, err := GRPC(addr, "", WithInsecureSkipVerify()); !errors.Is(err, ErrOption) {
		t.Errorf("got %v, want an ErrOption for certificate options without WithTLS", err)
	}
}

// TestGRPCNotGRPC checks that a server speaking something else than gRPC
// gives an error that says what it speaks.
func TestGRPCNotGRPC(t *testing.T) {
	http1 := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(http1.Close)
	https1 := httptest.NewUnstartedServer(http.NotFoundHandler()) // HTTP/1 only: no h2 in ALPN
	https1.Config.ErrorLog = log.New(io.Discard, "", 0)
	https1.StartTLS()
	t.Cleanup(https1.Close)
	h2c404 := h2cServer(t, http.NotFoundHandler())
	h2cHTML := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>welcome</html>")
	}))
	ca := newTestCA(t)
	grpcTLS := serveGRPCHealth(t, listenLoopback(t, "127.0.0.1:0"), grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{ca.leaf(t, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))},
	}))).addr
	// What OpenSSL's s_server answers to bytes that are not TLS: an alert
	// record (protocol_version).
	tlsAlert := tcpServer(t, banner("\x15\x03\x01\x00\x02\x02\x46"))
	sshd := tcpServer(t, banner("SSH-2.0-OpenSSH_9.9\r\n"))

	tests := []struct {
		name string
		addr string
		opts []GRPCOption
		want string
	}{
		{"HTTP/1 server", http1.Listener.Addr().String(), nil, `answered the HTTP/2 preface with "HTTP/1.1 `},
		{"HTTP/1 server over TLS", https1.Listener.Addr().String(), []GRPCOption{WithTLS(), WithInsecureSkipVerify()},
			"does not offer HTTP/2 over TLS"},
		{"HTTP/2 server, status 404", h2c404, nil,
			`answered HTTP/2 status 404 with content-type "text/plain; charset=utf-8", want application/grpc`},
		{"HTTP/2 server, status 200", h2cHTML, nil, `answered HTTP/2 status 200 with content-type "text/html", want application/grpc`},
		{"TLS alert", tlsAlert, nil, "answered in TLS, not plaintext HTTP/2: use WithTLS"},
		{"SSH server", sshd, nil, "not an HTTP/2 SETTINGS frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := MustGRPC(tt.addr, "", append(tt.opts, WithTimeout(5*time.Second))...).Check(t.Context())
			wantErr(t, err, tt.want)
			if !errors.Is(err, ErrNotGRPC) {
				t.Errorf("got %v, want it to wrap ErrNotGRPC", err)
			}
		})
	}
	// A server that closes before saying anything may be gRPC behind a
	// proxy without a backend: no claim about its protocol, a hint only.
	err := MustGRPC(grpcTLS, "").Check(t.Context())
	wantErr(t, err, "closed the connection before its HTTP/2 greeting (if it speaks only TLS, use WithTLS)")
	if errors.Is(err, ErrNotGRPC) {
		t.Errorf("got %v, want it not to claim ErrNotGRPC", err)
	}
}

// h2cServer serves h over plaintext HTTP/2 on a loopback port.
func h2cServer(t testing.TB, h http.Handler) string {
	t.Helper()
	ln := listenLoopback(t, "127.0.0.1:0")
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: h, Protocols: &p}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ln) })
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestGRPCServerRestart restarts grpc-go's health server on the same port
// between two checks. When the old server went away cleanly the client
// learns it at once; when it vanished without a word (its host or
// container restarted, so no FIN ever came) the pooled connection is reset
// by the peer only when the next call is written, and the check must make
// that call again on a new connection instead of failing.
func TestGRPCServerRestart(t *testing.T) {
	t.Run("stopped", func(t *testing.T) {
		ln := listenLoopback(t, "127.0.0.1:0")
		addr := ln.Addr().String()
		old := serveGRPCHealth(t, ln)
		c := MustGRPC(addr, "db")
		wantErr(t, c.Check(t.Context()), "")
		old.stop()
		wantErr(t, c.Check(t.Context()), "connect: connection refused")
		now := serveGRPCHealth(t, listenLoopback(t, addr))
		wantErr(t, c.Check(t.Context()), "")
		if got := now.calls.Load(); got != 1 {
			t.Errorf("restarted server got %d calls, want 1", got)
		}
	})
	t.Run("vanished", func(t *testing.T) {
		ln := &freezingListener{Listener: listenLoopback(t, "127.0.0.1:0")}
		addr := ln.Addr().String()
		old := serveGRPCHealth(t, ln)
		c := MustGRPC(addr, "db")
		wantErr(t, c.Check(t.Context()), "")
		reset := ln.freeze(t, old)
		now := serveGRPCHealth(t, listenLoopback(t, addr))
		wantErr(t, c.Check(t.Context()), "")
		select {
		case <-reset:
		default:
			t.Error("the check did not use the pooled connection: the test proves nothing")
		}
		if got := now.calls.Load(); got != 1 {
			t.Errorf("restarted server got %d calls, want 1", got)
		}
		wantErr(t, c.Check(t.Context()), "")
	})
	t.Run("fresh connection reset", func(t *testing.T) {
		// A reset on a new connection says something about the server: no
		// second try.
		var accepted atomic.Int32
		addr := tcpServer(t, func(c net.Conn) {
			accepted.Add(1)
			c.(*net.TCPConn).SetLinger(0)
		})
		// The reset comes during the connect or just after it.
		err := MustGRPC(addr, "").Check(t.Context())
		if err == nil || !strings.Contains(err.Error(), "connection reset by peer") &&
			!strings.Contains(err.Error(), "closed the connection before its HTTP/2 greeting") {
			t.Errorf("got %v, want a reset or an early close", err)
		}
		if got := accepted.Load(); got != 1 {
			t.Errorf("server accepted %d connections, want 1", got)
		}
	})
}

// freezingListener hands out connections that can be frozen: from then on
// the server side says nothing and closes nothing, as if its host were
// gone, and answers the client's next request with a TCP reset, as the
// peer's kernel does for a connection it no longer knows.
type freezingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*freezableConn
}

type freezableConn struct {
	net.Conn
	frozen atomic.Bool
}

func (l *freezingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	fc := &freezableConn{Conn: c}
	l.mu.Lock()
	l.conns = append(l.conns, fc)
	l.mu.Unlock()
	return fc, nil
}

func (c *freezableConn) Read(p []byte) (int, error) {
	if c.frozen.Load() {
		return 0, net.ErrClosed
	}
	return c.Conn.Read(p)
}

func (c *freezableConn) Write(p []byte) (int, error) {
	if c.frozen.Load() {
		return len(p), nil // lost with the host
	}
	return c.Conn.Write(p)
}

func (c *freezableConn) Close() error {
	if c.frozen.Load() {
		return nil
	}
	return c.Conn.Close()
}

// freeze stops the server behind l without a word to its clients; the
// returned channel is closed when a client's request (an HTTP/2 HEADERS
// frame) reached a frozen connection and was answered with a reset.
func (l *freezingListener) freeze(t testing.TB, srv *grpcHealthServer) <-chan struct{} {
	t.Helper()
	l.mu.Lock()
	conns := l.conns
	l.mu.Unlock()
	for _, c := range conns {
		c.frozen.Store(true)
		c.Conn.SetReadDeadline(time.Now()) // wake the server's reader
	}
	srv.stop()
	reset := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for _, c := range conns {
		raw := c.Conn
		raw.SetReadDeadline(time.Time{})
		wg.Go(func() {
			defer raw.Close()
			var hdr [9]byte
			for {
				if _, err := io.ReadFull(raw, hdr[:]); err != nil {
					return
				}
				n := int64(binary.BigEndian.Uint32(append([]byte{0}, hdr[:3]...)))
				if _, err := io.CopyN(io.Discard, raw, n); err != nil {
					return
				}
				if hdr[3] == 0x1 { // HEADERS: a new request
					raw.(*net.TCPConn).SetLinger(0)
					once.Do(func() { close(reset) })
					return
				}
			}
		})
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Conn.Close()
		}
		wg.Wait()
	})
	return reset
}

func TestHealthStatusDecoding(t *testing.T) {
	frame := func(msg ...byte) []byte {
		return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg))), msg...)
	}
	tests := []struct {
		name  string
		frame []byte
		want  uint64
		err   bool
	}{
		{"serving", frame(0x08, 0x01), 1, false},
		{"empty message is UNKNOWN", frame(), 0, false},
		{"unknown fields skipped", frame(0x12, 0x02, 'h', 'i', 0x08, 0x02, 0x1d, 1, 2, 3, 4), 2, false},
		{"short", []byte{0, 0}, 0, true},
		{"compressed", append([]byte{1}, frame(0x08, 0x01)[1:]...), 0, true},
		{"length mismatch", append(frame(0x08, 0x01), 0), 0, true},
		{"truncated varint", frame(0x08, 0x80), 0, true},
		{"bad length", frame(0x12, 0x09, 'x'), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := healthStatus(tt.frame)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("got (%d, %v), want (%d, error %v)", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestHealthRequestEncoding(t *testing.T) {
	got := healthRequest("db")
	want := []byte{0, 0, 0, 0, 4, 0x0a, 2, 'd', 'b'}
	if string(got) != string(want) {
		t.Errorf("got % x, want % x", got, want)
	}
	if got := healthRequest(""); string(got) != string([]byte{0, 0, 0, 0, 0}) {
		t.Errorf("empty service: got % x, want 5 zero bytes", got)
	}
	// grpc-go decodes what we encode.
	var req healthpb.HealthCheckRequest
	if err := proto.Unmarshal(got[5:], &req); err != nil || req.GetService() != "db" {
		t.Errorf("grpc-go read service %q (%v), want db", req.GetService(), err)
	}
}
