package pulse

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// tcpServer accepts on a loopback port and runs handle on each connection
// (then closes it). Cleanup closes the listener and waits for handlers.
func tcpServer(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func banner(s string) func(net.Conn) {
	return func(c net.Conn) { io.WriteString(c, s) }
}

// echoUpper answers each read with "+" and what it read.
func echoLine(c net.Conn) {
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return
	}
	c.Write(append([]byte("+"), buf[:n]...))
}

func hang(c net.Conn) { io.Copy(io.Discard, c) }

func reset(c net.Conn) { c.(*net.TCPConn).SetLinger(0) }

func TestTCP(t *testing.T) {
	smtp := tcpServer(t, banner("220 mail.test ESMTP ready\r\n"))
	echo := tcpServer(t, echoLine)
	silent := tcpServer(t, hang)
	closer := tcpServer(t, func(net.Conn) {})
	resetter := tcpServer(t, reset)
	refused := closedAddr(t)
	tests := []struct {
		name string
		addr string
		opts []TCPOption
		want string
	}{
		{"connect", smtp, nil, ""},
		{"refused", refused, nil, "dial tcp " + refused + ": connect: connection refused"},
		{"banner prefix", smtp, []TCPOption{WithReplyPrefix("220 ")}, ""},
		{"banner contains", smtp, []TCPOption{WithReplyContains("ESMTP")}, ""},
		{"wrong banner", smtp, []TCPOption{WithReplyPrefix("SSH-")}, `reply "220 mail.test ESMTP ready\r\n" does not start with "SSH-"`},
		{"banner missing word", smtp, []TCPOption{WithReplyContains("LMTP")}, `reply "220 mail.test ESMTP ready\r\n" missing "LMTP"`},
		{"send and expect", echo, []TCPOption{WithSend([]byte("PING\r\n")), WithReplyPrefix("+PING")}, ""},
		{"send only", echo, []TCPOption{WithSend([]byte("PING\r\n"))}, ""},
		{"no reply", silent, []TCPOption{WithReplyPrefix("+OK"), WithTimeout(100 * time.Millisecond)}, "timeout after 100ms while reading reply"},
		{"closed before reply", closer, []TCPOption{WithReplyPrefix("+OK")}, `connection closed after reply "", want prefix "+OK"`},
		{"reset", resetter, []TCPOption{WithReplyContains("x")}, "connection reset by peer"},
		{"max latency", smtp, []TCPOption{WithMaxLatency(time.Nanosecond)}, "max 1ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := TCP(tt.addr, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			wantErr(t, c.Check(t.Context()), tt.want)
		})
	}
}

func TestTCPCanceledWhileReading(t *testing.T) {
	silent := tcpServer(t, hang)
	c := MustTCP(silent, WithReplyPrefix("+OK"))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- c.Check(ctx) }()
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want a cancellation", err)
	}
}

func TestTCPConstructorErrors(t *testing.T) {
	for _, tt := range []struct {
		addr string
		opts []TCPOption
	}{
		{"localhost", nil},
		{"localhost:", nil},
		{"127.0.0.1:80", []TCPOption{WithReplyPrefix("a"), WithReplyContains("b")}},
		{"127.0.0.1:80", []TCPOption{WithReplyPrefix("")}},
	} {
		if _, err := TCP(tt.addr, tt.opts...); !errors.Is(err, ErrOption) {
			t.Errorf("TCP(%q): got %v, want an ErrOption", tt.addr, err)
		}
	}
}
