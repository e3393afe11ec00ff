package pulse

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"
)

// TLSOption configures a [TLS] checker. [Option] and [VerifyOption] values
// are TLSOptions too.
type TLSOption interface{ applyTLS(*settings) }

type tlsOption func(*settings)

func (o tlsOption) applyTLS(s *settings) { o(s) }

// WithMinValidity fails the check when a certificate the server presents
// expires within d (for example 14 days), so that a renewal that did not
// happen is noticed before clients break. Without it only certificates
// already expired fail.
func WithMinValidity(d time.Duration) TLSOption {
	return tlsOption(func(s *settings) {
		if d <= 0 {
			s.fail("WithMinValidity(%v): must be positive", d)
			return
		}
		s.minValidity = d
	})
}

// TLSChecker checks a TLS endpoint's handshake and certificate; build one
// with [TLS].
type TLSChecker struct {
	addr        string
	serverName  string
	roots       *x509.CertPool
	insecure    bool
	minValidity time.Duration
	timeout     time.Duration
	maxLatency  time.Duration
}

// TLS returns a checker that connects to addr ("host:port"), completes a
// TLS handshake and closes. It fails when the chain does not verify (system
// roots, or [WithRootCAs]), when the certificate is not valid for the host
// (or [WithServerName]), when it has expired, or when it expires within
// [WithMinValidity].
func TLS(addr string, opts ...TLSOption) (*TLSChecker, error) {
	var s settings
	for _, o := range opts {
		o.applyTLS(&s)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		s.fail("TLS(%q): %v", addr, err)
	} else if host == "" || port == "" {
		s.fail("TLS(%q): want host:port", addr)
	}
	if err := s.err(); err != nil {
		return nil, err
	}
	c := &TLSChecker{
		addr: addr, serverName: s.serverName, roots: s.rootCAs, insecure: s.insecure,
		minValidity: s.minValidity, timeout: s.timeout, maxLatency: s.maxLatency,
	}
	if c.serverName == "" {
		c.serverName = host
	}
	return c, nil
}

// MustTLS is like [TLS] but panics on an invalid address or option.
func MustTLS(addr string, opts ...TLSOption) *TLSChecker {
	c, err := TLS(addr, opts...)
	if err != nil {
		panic(err)
	}
	return c
}

// String returns the address.
func (c *TLSChecker) String() string { return "tls " + c.addr }

// Check performs the handshake and judges the certificates. It is safe for
// concurrent use.
func (c *TLSChecker) Check(ctx context.Context) error {
	ctx, cancel, b := bound(ctx, c.timeout)
	defer cancel()

	d := tls.Dialer{Config: &tls.Config{
		ServerName:         c.serverName,
		RootCAs:            c.roots,
		InsecureSkipVerify: c.insecure,
	}}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		if e := b.ctxErr(ctx, "connecting and handshaking"); e != nil {
			return e
		}
		var ce *tls.CertificateVerificationError
		if errors.As(err, &ce) {
			// "tls: failed to verify certificate: x509: ..." says it all.
			return ce
		}
		return err
	}
	took := time.Since(b.start)
	state := conn.(*tls.Conn).ConnectionState()
	_ = conn.Close()

	now := time.Now()
	for _, cert := range state.PeerCertificates {
		left := cert.NotAfter.Sub(now)
		if left <= 0 {
			// Only reachable without verification.
			return fmt.Errorf("certificate %q expired at %s", cert.Subject.String(),
				cert.NotAfter.UTC().Format(time.RFC3339))
		}
		if c.minValidity > 0 && left < c.minValidity {
			return fmt.Errorf("certificate %q expires in %v (at %s), want at least %v",
				cert.Subject.String(), roundLeft(left), cert.NotAfter.UTC().Format(time.RFC3339), c.minValidity)
		}
	}
	return b.latencyErr(took, c.maxLatency)
}

var (
	_ Checker   = (*TLSChecker)(nil)
	_ TLSOption = Option(nil)
	_ TLSOption = VerifyOption(nil)
)

// roundLeft rounds a remaining validity for an error text.
func roundLeft(d time.Duration) time.Duration {
	if d < time.Hour {
		return d.Round(time.Second)
	}
	return d.Round(time.Minute)
}
