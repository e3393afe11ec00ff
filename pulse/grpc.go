package pulse

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
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
func (c *GRPCChecker) Check(ctx context.Context) error {
	ctx, cancel, b := bound(ctx, c.timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.request))
	if err != nil {
		return err
	}
	req.Header = http.Header{
		"Content-Type": {"application/grpc"},
		"Te":           {"trailers"},
		"User-Agent":   {userAgent},
	}
	if dl, ok := ctx.Deadline(); ok {
		// Tell the server our deadline, in whole milliseconds.
		ms := max(time.Until(dl).Milliseconds(), 1)
		req.Header["Grpc-Timeout"] = []string{strconv.FormatInt(ms, 10) + "m"}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		if e := b.ctxErr(ctx, ""); e != nil {
			return e
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP status %d, want 200 (not a gRPC server?)", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxGRPCResponse))
	if err != nil {
		if e := b.ctxErr(ctx, "reading response"); e != nil {
			return e
		}
		return fmt.Errorf("reading response: %w", err)
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain) // reach the trailers

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
