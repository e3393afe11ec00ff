package pulse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// maxReply bounds how much of a TCP reply is read while looking for the
// expected bytes.
const maxReply = 4 << 10

// TCPOption configures a [TCP] checker. [Option] values are TCPOptions too.
type TCPOption interface{ applyTCP(*settings) }

type tcpOption func(*settings)

func (o tcpOption) applyTCP(s *settings) { o(s) }

// WithSend writes data once connected. The slice is kept and must not be
// modified afterwards.
func WithSend(data []byte) TCPOption {
	return tcpOption(func(s *settings) { s.send = data })
}

// WithReplyPrefix requires the server's reply (after [WithSend]'s data, if
// any) to start with prefix, as a banner does ("SSH-", "+OK", "220 ").
func WithReplyPrefix(prefix string) TCPOption {
	return tcpOption(func(s *settings) {
		if prefix == "" || len(prefix) > maxReply {
			s.fail("WithReplyPrefix: length %d, want 1 to %d", len(prefix), maxReply)
			return
		}
		s.replyPrefix = prefix
	})
}

// WithReplyContains requires the server's reply (its first 4 KiB) to
// contain substr.
func WithReplyContains(substr string) TCPOption {
	return tcpOption(func(s *settings) {
		if substr == "" || len(substr) > maxReply {
			s.fail("WithReplyContains: length %d, want 1 to %d", len(substr), maxReply)
			return
		}
		s.replyContains = substr
	})
}

// TCPChecker checks that a TCP port accepts connections; build one with
// [TCP].
type TCPChecker struct {
	addr string
	spec *tcpSpec // nil: connect and close
}

type tcpSpec struct {
	send       []byte
	prefix     string
	contains   string
	timeout    time.Duration
	maxLatency time.Duration
}

// TCP returns a checker that connects to addr ("host:port"), optionally
// sends bytes and reads a reply, and closes the connection. The address is
// resolved at each check, so a name may move.
func TCP(addr string, opts ...TCPOption) (*TCPChecker, error) {
	var s settings
	for _, o := range opts {
		o.applyTCP(&s)
	}
	if _, port, err := net.SplitHostPort(addr); err != nil {
		s.fail("TCP(%q): %v", addr, err)
	} else if port == "" {
		s.fail("TCP(%q): no port", addr)
	}
	if s.replyPrefix != "" && s.replyContains != "" {
		s.fail("TCP(%q): WithReplyPrefix and WithReplyContains are exclusive", addr)
	}
	if err := s.err(); err != nil {
		return nil, err
	}
	c := &TCPChecker{addr: addr}
	if s.send != nil || s.replyPrefix != "" || s.replyContains != "" || s.timeout != 0 || s.maxLatency != 0 {
		c.spec = &tcpSpec{send: s.send, prefix: s.replyPrefix, contains: s.replyContains,
			timeout: s.timeout, maxLatency: s.maxLatency}
	}
	return c, nil
}

// MustTCP is like [TCP] but panics on an invalid address or option.
func MustTCP(addr string, opts ...TCPOption) *TCPChecker {
	c, err := TCP(addr, opts...)
	if err != nil {
		panic(err)
	}
	return c
}

// String returns the address.
func (c *TCPChecker) String() string { return "tcp " + c.addr }

var (
	tcpDialer net.Dialer
	plainTCP  tcpSpec
)

// Check connects, exchanges the configured bytes and closes. It is safe for
// concurrent use.
func (c *TCPChecker) Check(ctx context.Context) error {
	sp := c.spec
	if sp == nil {
		sp = &plainTCP
	}
	ctx, cancel, b := bound(ctx, sp.timeout)
	defer cancel()

	conn, err := tcpDialer.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		if e := b.ctxErr(ctx, "connecting"); e != nil {
			return e
		}
		return err
	}
	defer conn.Close()
	if sp.send == nil && sp.prefix == "" && sp.contains == "" {
		return b.latencyErr(time.Since(b.start), sp.maxLatency)
	}

	// Deadline and cancellation both end blocked reads and writes.
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if sp.send != nil {
		if _, err := conn.Write(sp.send); err != nil {
			if e := b.ioErr(ctx, err, "sending"); e != nil {
				return e
			}
			return fmt.Errorf("sending: %w", err)
		}
	}
	if sp.prefix != "" || sp.contains != "" {
		if err := sp.readReply(ctx, conn, b); err != nil {
			return err
		}
	}
	return b.latencyErr(time.Since(b.start), sp.maxLatency)
}

// readReply reads until the expectation is settled, EOF, or maxReply bytes.
func (sp *tcpSpec) readReply(ctx context.Context, conn net.Conn, b budget) error {
	var arr [512]byte
	buf := arr[:0]
	for {
		if sp.prefix != "" {
			n := min(len(buf), len(sp.prefix))
			if !bytes.Equal(buf[:n], []byte(sp.prefix[:n])) {
				return fmt.Errorf("reply %s does not start with %q", quoteReply(buf), sp.prefix)
			}
			if n == len(sp.prefix) {
				return nil
			}
		} else if bytes.Contains(buf, []byte(sp.contains)) {
			return nil
		}
		if len(buf) >= maxReply {
			return fmt.Errorf("reply missing %q in first %d bytes", sp.contains, maxReply)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := conn.Read(buf[len(buf):min(cap(buf), maxReply)])
		buf = buf[:len(buf)+n]
		if err == nil {
			continue
		}
		if e := b.ioErr(ctx, err, "reading reply"); e != nil {
			var te *TimeoutError
			if errors.As(e, &te) && len(buf) > 0 {
				return fmt.Errorf("%w (got %s)", e, quoteReply(buf))
			}
			return e
		}
		if errors.Is(err, io.EOF) {
			if sp.prefix != "" {
				return fmt.Errorf("connection closed after reply %s, want prefix %q", quoteReply(buf), sp.prefix)
			}
			return fmt.Errorf("reply %s missing %q", quoteReply(buf), sp.contains)
		}
		return fmt.Errorf("reading reply: %w", err)
	}
}

// quoteReply quotes the start of a reply for an error message.
func quoteReply(b []byte) string {
	const max = 64
	if len(b) > max {
		return fmt.Sprintf("%q...", b[:max])
	}
	return fmt.Sprintf("%q", b)
}

var (
	_ Checker   = (*TCPChecker)(nil)
	_ TCPOption = Option(nil)
)
