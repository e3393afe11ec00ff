package pulse

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// healthServer is a grpc.health.v1 server written against the gRPC wire
// protocol (HTTP/2, length-prefixed protobuf, trailers), serving the given
// statuses by service name.
type healthServer struct {
	status map[string]uint64
}

func (h *healthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/grpc.health.v1.Health/Check" {
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Grpc-Status", "12")
		w.Header().Set("Grpc-Message", "unknown method "+r.URL.Path)
		return
	}
	if r.ProtoMajor != 2 || r.Header.Get("Content-Type") != "application/grpc" || r.Header.Get("Te") != "trailers" {
		http.Error(w, "not a gRPC request", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	service := ""
	if len(body) >= 5 {
		msg := body[5:]
		if len(msg) > 2 && msg[0] == 0x0a {
			l, n := binary.Uvarint(msg[1:])
			service = string(msg[1+n : 1+n+int(l)])
		}
	}
	if service == "hang" {
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
	st, ok := h.status[service]
	if !ok {
		w.Header().Set("Grpc-Status", "5")
		w.Header().Set("Grpc-Message", "unknown service "+service)
		return
	}
	msg := []byte{}
	if st != 0 {
		msg = binary.AppendUvarint([]byte{0x08}, st)
	}
	frame := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	w.Write(append(frame, msg...))
	w.Header().Set("Grpc-Status", "0")
}

// h2cServer serves h over plaintext HTTP/2 on a loopback port.
func h2cServer(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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

func TestGRPC(t *testing.T) {
	addr := h2cServer(t, &healthServer{status: map[string]uint64{
		"": 1, "db": 1, "cache": 2, "queue": 0, "odd": 3,
	}})
	http1 := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(http1.Close)
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
		{"unknown service", addr, "billing", nil, "grpc status NOT_FOUND: unknown service billing"},
		{"hang", addr, "hang", []GRPCOption{WithTimeout(100 * time.Millisecond)}, "timeout after 100ms"},
		{"refused", closedAddr(t), "", nil, "connect: connection refused"},
		{"max latency", addr, "db", []GRPCOption{WithMaxLatency(time.Nanosecond)}, "max 1ns"},
	}
	// An HTTP/1 server answers the HTTP/2 preface with an error and closes;
	// which of the two the client notices first varies.
	if err := MustGRPC(http1.Listener.Addr().String(), "").Check(t.Context()); err == nil {
		t.Error("HTTP/1 only server: got no error, want one")
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
	srv := httptest.NewUnstartedServer(&healthServer{status: map[string]uint64{"": 1}})
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	wantErr(t, MustGRPC(addr, "", WithTLS(), WithInsecureSkipVerify()).Check(t.Context()), "")
	wantErr(t, MustGRPC(addr, "", WithTLS()).Check(t.Context()), "certificate signed by unknown authority")
	if _, err := GRPC(addr, "", WithInsecureSkipVerify()); !errors.Is(err, ErrOption) {
		t.Errorf("got %v, want an ErrOption for certificate options without WithTLS", err)
	}
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
}
