package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ziad/cpra/internal/redact"
)

// ErrConfig is returned, wrapped, by the constructors of the built-in
// notifiers when an argument or an option is not valid.
var ErrConfig = errors.New("alert: invalid configuration")

// ErrClosed is returned by a notifier that has been closed.
var ErrClosed = errors.New("alert: notifier closed")

// DeliveryError is the error a built-in notifier returns when an alert was
// not delivered. It tells the engine whether trying again may help.
//
// The message never contains a secret: routing keys, tokens, passwords,
// signing secrets and secret webhook URLs are left out or replaced by
// "[redacted]".
type DeliveryError struct {
	// Notifier names the notifier: "log", "webhook", "slack", "pagerduty",
	// "email" or "sms".
	Notifier string
	// Endpoint is where the alert was going, without any secret part (for
	// an HTTP receiver, its scheme and host).
	Endpoint string
	// Status is the HTTP status or the SMTP reply code the receiver
	// answered with; 0 when it did not answer.
	Status int
	// Retryable reports whether the same alert may be delivered by trying
	// again later: true for network failures, timeouts, HTTP 408, 425, 429
	// and 5xx, and SMTP 4xx replies; false for a rejected request, a failed
	// certificate check or a notifier that is closed.
	Retryable bool
	// RetryAfter is the delay the receiver asked for (HTTP Retry-After),
	// or 0.
	RetryAfter time.Duration
	// Detail is the start of the receiver's answer, for the operator.
	Detail string
	// Err is the underlying cause, or nil when the receiver answered with
	// an error status.
	Err error
}

// Error describes the failure.
func (e *DeliveryError) Error() string {
	var b strings.Builder
	b.WriteString("alert: ")
	b.WriteString(e.Notifier)
	if e.Endpoint != "" {
		b.WriteString(" ")
		b.WriteString(e.Endpoint)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": status %d", e.Status)
		if t := http.StatusText(e.Status); t != "" && e.Notifier != "email" {
			b.WriteString(" ")
			b.WriteString(t)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(strconv.Quote(e.Detail))
	}
	if e.Retryable {
		b.WriteString(" (retryable)")
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *DeliveryError) Unwrap() error { return e.Err }

// Retryable reports whether an alert whose delivery failed with err may be
// delivered by trying again. It returns false for nil. For an error that
// carries a [*DeliveryError], the answer is that error's Retryable field; an
// error from elsewhere (a [NotifierFunc], say) is assumed to be retryable, as
// the [Notifier] contract says. A joined error (from [Multi]) is retryable
// when any of its parts is.
func Retryable(err error) bool {
	switch x := err.(type) {
	case nil:
		return false
	case *DeliveryError:
		return x.Retryable
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			if Retryable(e) {
				return true
			}
		}
		return false
	case interface{ Unwrap() error }:
		if inner := x.Unwrap(); inner != nil {
			return Retryable(inner)
		}
	}
	return true
}

// redactErr turns a transport error into one that names the endpoint
// without its secret parts. A *url.Error prints the whole URL, so it is
// replaced by its cause, whose text is then scrubbed.
func redactErr(sec *redact.Secrets, err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return sec.Error(err)
}

// displayURL is the part of u that may be shown: scheme and host.
func displayURL(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}

// parseHTTPURL validates a receiver URL without ever echoing it.
func parseHTTPURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %s must be an absolute http or https URL", ErrConfig, what)
	}
	return u, nil
}

// defaultClient is shared by the HTTP notifiers that are not given a client.
// It does not follow redirects: a receiver that moved answers 3xx, which is
// reported, rather than having the alert (and its headers) re-sent
// elsewhere.
var defaultClient = &http.Client{CheckRedirect: noRedirect}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// httpClient picks the client a notifier uses.
func (c *config) httpClient() *http.Client {
	if c.client != nil {
		return c.client
	}
	if c.rootCAs != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: c.rootCAs, MinVersion: tls.VersionTLS12}
		return &http.Client{Transport: t, CheckRedirect: noRedirect}
	}
	return defaultClient
}

// maxDetail bounds how much of a receiver's answer goes into an error.
const maxDetail = 512

// poster sends requests to one HTTP receiver.
type poster struct {
	kind    string
	url     string
	display string
	client  *http.Client
	secrets *redact.Secrets
}

// post sends body and returns the start of the answer on a 2xx status.
func (p *poster) post(ctx context.Context, header http.Header, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return nil, &DeliveryError{Notifier: p.kind, Endpoint: p.display, Err: redactErr(p.secrets, err)}
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, &DeliveryError{
			Notifier:  p.kind,
			Endpoint:  p.display,
			Retryable: transportRetryable(err),
			Err:       redactErr(p.secrets, err),
		}
	}
	defer func() {
		// Drain a little so the connection can be reused, then close.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		_ = resp.Body.Close()
	}()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return answer, nil
	}
	return nil, &DeliveryError{
		Notifier:   p.kind,
		Endpoint:   p.display,
		Status:     resp.StatusCode,
		Retryable:  statusRetryable(resp.StatusCode),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
		Detail:     detail(p.secrets.Scrub(string(answer))),
	}
}

// detail trims a receiver's answer, already scrubbed, for an error
// message.
func detail(s string) string {
	return redact.Truncate(strings.ToValidUTF8(strings.TrimSpace(s), "?"), maxDetail, "...")
}

// statusRetryable says which HTTP statuses are worth another try.
func statusRetryable(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500
}

// transportRetryable says whether a failure to get an answer is worth
// another try: everything but a failed certificate check.
func transportRetryable(err error) bool {
	var (
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		rh tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci), errors.As(err, &rh):
		return false
	}
	return true
}

// retryAfter parses an HTTP Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// canceled turns a context that is already done into a delivery error.
func canceled(ctx context.Context, kind, endpoint string) error {
	if err := ctx.Err(); err != nil {
		return &DeliveryError{Notifier: kind, Endpoint: endpoint, Retryable: true, Err: err}
	}
	return nil
}
