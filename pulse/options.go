package pulse

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"
)

// DefaultTimeout bounds a built-in check whose context carries no deadline
// and which was given no [WithTimeout]. The engine always passes a deadline
// (the monitor's Timeout), so this matters only when a checker is called
// directly.
const DefaultTimeout = 10 * time.Second

// ErrOption is wrapped by every error a constructor returns for an invalid
// target or option, so callers can tell configuration mistakes apart.
var ErrOption = errors.New("pulse: invalid checker configuration")

// settings collects what the options of every checker set. It lives only
// while a constructor runs: each checker copies the few fields it needs into
// its own compact value, so the size of settings costs nothing per monitor.
type settings struct {
	// shared by all checkers
	timeout    time.Duration
	maxLatency time.Duration

	// certificate verification (HTTP, TLS, gRPC)
	rootCAs    *x509.CertPool
	insecure   bool
	serverName string

	// HTTP
	method       string
	header       [][2]string
	body         []byte
	status       []int
	bodyContains string
	bodyRegexp   string
	jsonPath     string
	jsonWant     string
	hasJSON      bool
	noRedirects  bool

	// TCP
	send          []byte
	replyPrefix   string
	replyContains string

	// ICMP
	count int

	// DNS
	dnsServer      string
	recordType     string
	rcode          string
	answerContains string

	// TLS
	minValidity time.Duration

	// Exec
	env       []string
	dir       string
	outputCap int

	// gRPC
	useTLS bool

	errs []error
}

func (s *settings) fail(format string, args ...any) {
	s.errs = append(s.errs, fmt.Errorf("%w: "+format, append([]any{ErrOption}, args...)...))
}

func (s *settings) err() error { return errors.Join(s.errs...) }

// Option configures any built-in checker. The options of this type are
// [WithTimeout] and [WithMaxLatency]; each checker also has options of its
// own ([HTTPOption], [TCPOption], ...).
type Option func(*settings)

func (o Option) applyHTTP(s *settings) { o(s) }
func (o Option) applyTCP(s *settings)  { o(s) }
func (o Option) applyICMP(s *settings) { o(s) }
func (o Option) applyDNS(s *settings)  { o(s) }
func (o Option) applyTLS(s *settings)  { o(s) }
func (o Option) applyExec(s *settings) { o(s) }
func (o Option) applyGRPC(s *settings) { o(s) }

// VerifyOption configures certificate verification of the checkers that
// speak TLS: [HTTP] (for https URLs), [TLS] and [GRPC] (with [WithTLS]).
// Verification against the system roots and the target's host name is on by
// default.
type VerifyOption func(*settings)

func (o VerifyOption) applyHTTP(s *settings) { o(s) }
func (o VerifyOption) applyTLS(s *settings)  { o(s) }
func (o VerifyOption) applyGRPC(s *settings) { o(s) }

// WithTimeout bounds each check to d, or to the context's deadline if that
// comes first. Without it a check is bounded by the context alone (and by
// [DefaultTimeout] when the context has no deadline). d must be positive.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) {
		if d <= 0 {
			s.fail("WithTimeout(%v): must be positive", d)
			return
		}
		s.timeout = d
	}
}

// WithMaxLatency fails a check that succeeds but takes longer than d: for
// HTTP the time until the body is read as far as the conditions need, for
// TCP the connect (and the reply, when one is expected), for ICMP the mean
// round trip, for DNS the exchange, for TLS the handshake, for exec the run
// of the program and for gRPC the call. d must be positive.
func WithMaxLatency(d time.Duration) Option {
	return func(s *settings) {
		if d <= 0 {
			s.fail("WithMaxLatency(%v): must be positive", d)
			return
		}
		s.maxLatency = d
	}
}

// WithRootCAs verifies server certificates against pool instead of the
// system roots. Checkers given the same pool share one connection pool, so
// build the pool once and pass the same value to every monitor.
func WithRootCAs(pool *x509.CertPool) VerifyOption {
	return func(s *settings) {
		if pool == nil {
			s.fail("WithRootCAs(nil)")
			return
		}
		s.rootCAs = pool
	}
}

// WithInsecureSkipVerify accepts any server certificate: the chain and the
// host name are not checked. The [TLS] checker still judges the validity
// period of the leaf certificate (not yet valid, expired, or ending within
// [WithMinValidity]).
func WithInsecureSkipVerify() VerifyOption {
	return func(s *settings) { s.insecure = true }
}

// WithServerName sets the name sent in SNI and expected in the server's
// certificate, when it differs from the host in the target address (say, a
// target given by IP address).
func WithServerName(name string) VerifyOption {
	return func(s *settings) {
		if name == "" {
			s.fail("WithServerName(\"\")")
			return
		}
		s.serverName = name
	}
}

// TimeoutError reports a check that did not finish within its time budget.
// It matches [context.DeadlineExceeded] with [errors.Is].
type TimeoutError struct {
	// After is the budget the check had: the time from its start to the
	// deadline, rounded to the millisecond.
	After time.Duration
	// While names the step that was cut short, when the checker knows it
	// ("connecting", "reading reply"); it may be empty.
	While string
}

func (e *TimeoutError) Error() string {
	if e.While == "" {
		return fmt.Sprintf("timeout after %v", e.After)
	}
	return fmt.Sprintf("timeout after %v while %s", e.After, e.While)
}

// Unwrap returns [context.DeadlineExceeded].
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// Timeout reports true, like the net package's timeout errors.
func (e *TimeoutError) Timeout() bool { return true }

// budget is the time frame of one check.
type budget struct {
	start time.Time
	total time.Duration // from start to the deadline
}

// bound returns ctx limited by own (if positive and sooner than ctx's
// deadline) or by DefaultTimeout when ctx has no deadline.
func bound(ctx context.Context, own time.Duration) (context.Context, context.CancelFunc, budget) {
	now := time.Now()
	dl, ok := ctx.Deadline()
	switch {
	case own > 0 && (!ok || now.Add(own).Before(dl)):
		dl = now.Add(own)
	case !ok:
		dl = now.Add(DefaultTimeout)
	default:
		return ctx, func() {}, budget{start: now, total: dl.Sub(now)}
	}
	ctx, cancel := context.WithDeadline(ctx, dl)
	return ctx, cancel, budget{start: now, total: dl.Sub(now)}
}

// ctxErr turns the end of ctx into the error a check reports: a
// [*TimeoutError] at the deadline, or the cancellation cause otherwise.
// It returns nil while ctx is live.
func (b budget) ctxErr(ctx context.Context, while string) error {
	err := ctx.Err()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return &TimeoutError{After: roundDuration(b.total), While: while}
	default:
		return fmt.Errorf("check canceled: %w", context.Cause(ctx))
	}
}

// ioErr is ctxErr for an error of I/O on a connection whose deadline was
// set to ctx's: the connection's deadline may pass a moment before ctx
// reports it, and that is the same timeout.
func (b budget) ioErr(ctx context.Context, err error, while string) error {
	if e := b.ctxErr(ctx, while); e != nil {
		return e
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &TimeoutError{After: roundDuration(b.total), While: while}
	}
	return nil
}

// latencyErr reports a check slower than max (0: no limit).
func (b budget) latencyErr(took, max time.Duration) error {
	if max > 0 && took > max {
		return fmt.Errorf("took %v, max %v", roundDuration(took), max)
	}
	return nil
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}
