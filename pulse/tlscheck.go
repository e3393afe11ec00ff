package pulse

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"time"
)

// TLSOption configures a [TLS] checker. [Option] and [VerifyOption] values
// are TLSOptions too.
type TLSOption interface{ applyTLS(*settings) }

type tlsOption func(*settings)

func (o tlsOption) applyTLS(s *settings) { o(s) }

// WithMinValidity fails the check when the certificate chain the server
// presents ends within d (for example 14 days: 14*24*time.Hour), so that a
// renewal that did not happen is noticed before clients break. The chain is
// the one verification built, from the leaf to a trusted root, so an extra
// certificate the server sends but no client uses does not count; with
// [WithInsecureSkipVerify] the leaf alone counts. Without this option only
// certificates already expired (or not yet valid) fail.
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
// (or [WithServerName]), when a certificate of the verified chain has
// expired or is not valid yet, or when the chain ends within
// [WithMinValidity]. Such validity failures are a [*CertificateError],
// which counts in days.
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
			return verifyErr(ce, time.Now())
		}
		return err
	}
	took := time.Since(b.start)
	state := conn.(*tls.Conn).ConnectionState()
	_ = conn.Close()

	if err := c.judge(state, time.Now()); err != nil {
		return err
	}
	return b.latencyErr(took, c.maxLatency)
}

// judge checks the validity periods of what the handshake established: the
// verified chain that lasts longest (verification may build several, say
// through a cross-signed intermediate), or the leaf alone when nothing was
// verified. Certificates the server sent but no chain uses do not count.
func (c *TLSChecker) judge(state tls.ConnectionState, now time.Time) error {
	var chain []*x509.Certificate
	if c.insecure || len(state.VerifiedChains) == 0 {
		chain = state.PeerCertificates[:min(1, len(state.PeerCertificates))]
	} else {
		var end time.Time
		for i, ch := range state.VerifiedChains {
			if e := chainEnd(ch); i == 0 || e.After(end) {
				chain, end = ch, e
			}
		}
	}
	var first *x509.Certificate // the certificate that ends first
	for _, cert := range chain {
		if now.Before(cert.NotBefore) {
			return &CertificateError{Subject: cert.Subject.String(), NotBefore: cert.NotBefore,
				NotAfter: cert.NotAfter, Left: cert.NotAfter.Sub(now), NotYetValid: true, now: now}
		}
		if first == nil || cert.NotAfter.Before(first.NotAfter) {
			first = cert
		}
	}
	if first == nil {
		return nil
	}
	left := first.NotAfter.Sub(now)
	if left <= 0 || c.minValidity > 0 && left < c.minValidity {
		e := &CertificateError{Subject: first.Subject.String(), NotBefore: first.NotBefore,
			NotAfter: first.NotAfter, Left: left, now: now}
		if left > 0 {
			e.Want = c.minValidity
		}
		return e
	}
	return nil
}

// chainEnd is when the first certificate of ch expires.
func chainEnd(ch []*x509.Certificate) time.Time {
	var end time.Time
	for i, cert := range ch {
		if i == 0 || cert.NotAfter.Before(end) {
			end = cert.NotAfter
		}
	}
	return end
}

// verifyErr turns a failed verification into the check's error: a
// certificate outside its validity period becomes a [*CertificateError]
// that says by how many days; other failures keep crypto/x509's words.
func verifyErr(ce *tls.CertificateVerificationError, now time.Time) error {
	var ie x509.CertificateInvalidError
	if !errors.As(ce.Err, &ie) || ie.Reason != x509.Expired || ie.Cert == nil {
		// "tls: failed to verify certificate: x509: ..." says it all.
		return ce
	}
	cert := ie.Cert
	return &CertificateError{Subject: cert.Subject.String(), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
		Left: cert.NotAfter.Sub(now), NotYetValid: now.Before(cert.NotBefore), Err: ce, now: now}
}

// CertificateError reports a certificate of the chain a [TLS] check judged
// that is outside its validity period, or the certificate that ends the
// chain's validity sooner than [WithMinValidity] asks. Its text counts in
// days: `certificate "CN=shop.example" expires in 9 days (2026-01-02), want
// at least 14 days`.
type CertificateError struct {
	// Subject is the certificate's subject, as "CN=shop.example,O=Shop".
	Subject string
	// NotBefore and NotAfter are the certificate's validity period.
	NotBefore, NotAfter time.Time
	// Left is the time from the check to NotAfter; negative once expired.
	Left time.Duration
	// Want is the validity [WithMinValidity] asked for when that was the
	// reason, otherwise 0.
	Want time.Duration
	// NotYetValid is true when the check ran before NotBefore.
	NotYetValid bool
	// Err is the verification error, when verification found the problem.
	Err error

	now time.Time
}

// DaysLeft returns the whole days from the check to NotAfter, rounded down:
// 0 on the last day, negative once expired.
func (e *CertificateError) DaysLeft() int {
	return int(math.Floor(float64(e.Left) / float64(24*time.Hour)))
}

func (e *CertificateError) Error() string {
	switch {
	case e.NotYetValid:
		return fmt.Sprintf("certificate %q is not valid until %s (in %s)",
			e.Subject, certDate(e.NotBefore, e.NotBefore.Sub(e.now)), spanText(e.NotBefore.Sub(e.now)))
	case e.Left <= 0:
		return fmt.Sprintf("certificate %q expired %s ago (%s)", e.Subject, spanText(-e.Left), certDate(e.NotAfter, e.Left))
	}
	return fmt.Sprintf("certificate %q expires in %s (%s), want at least %s",
		e.Subject, spanText(e.Left), certDate(e.NotAfter, e.Left), wantText(e.Want))
}

// Unwrap returns the verification error, if any.
func (e *CertificateError) Unwrap() error { return e.Err }

// spanText says d in the largest whole unit: "30 days", "1 day", "5 hours",
// "12 minutes".
func spanText(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.FormatInt(n, 10) + " " + one + "s"
	}
	switch {
	case d >= 24*time.Hour:
		return unit(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return unit(int64(d/time.Minute), "minute")
	}
	return "less than a minute"
}

// certDate is t's date, with the time of day when it is less than two days
// away (off is the distance from now).
func certDate(t time.Time, off time.Duration) string {
	if off.Abs() < 48*time.Hour {
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	return t.UTC().Format("2006-01-02")
}

// wantText says a wanted validity in days when it is whole days.
func wantText(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return spanText(d)
	}
	return d.String()
}

var (
	_ Checker   = (*TLSChecker)(nil)
	_ TLSOption = Option(nil)
	_ TLSOption = VerifyOption(nil)
)
