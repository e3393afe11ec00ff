package alert

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"net/textproto"

	"github.com/ziad/cpra/internal/redact"
)

// kind identifies a built-in notifier, to check that an option applies.
type kind uint8

const (
	kindWebhook kind = 1 << iota
	kindSlack
	kindPagerDuty
	kindEmail
	kindSMS

	kindHTTP = kindWebhook | kindSlack | kindPagerDuty | kindSMS
)

func (k kind) String() string {
	switch k {
	case kindWebhook:
		return "Webhook"
	case kindSlack:
		return "Slack"
	case kindPagerDuty:
		return "PagerDuty"
	case kindEmail:
		return "Email"
	case kindSMS:
		return "SMS"
	}
	return "notifier"
}

// config holds every knob of the built-in notifiers; each notifier reads
// the ones that apply to it.
type config struct {
	client      *http.Client
	rootCAs     *x509.CertPool
	header      http.Header
	secret      string
	template    string
	hasTemplate bool
	endpoint    string
	source      string
	warnYellow  bool
	username    string
	password    string
	requireTLS  bool
	helo        string
}

// Option configures a built-in notifier. Each option documents the
// notifiers it applies to; giving one to another notifier is an error
// ([ErrConfig]) rather than silently ignored.
type Option interface {
	apply(k kind, c *config) error
}

type option struct {
	name  string
	kinds kind
	set   func(*config) error
}

func (o option) apply(k kind, c *config) error {
	if o.kinds&k == 0 {
		return fmt.Errorf("%w: %s does not apply to %s", ErrConfig, o.name, k)
	}
	return o.set(c)
}

func newConfig(k kind, opts []Option) (*config, error) {
	c := &config{header: http.Header{}}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(k, c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// WithHTTPClient makes the notifier send its requests with client, for
// proxies, client certificates or custom timeouts. The default client uses
// [http.DefaultTransport] (so the environment's proxy settings and the
// system's certificate roots) and does not follow redirects.
//
// Applies to [Webhook], [Slack], [PagerDuty] and [SMS].
func WithHTTPClient(client *http.Client) Option {
	return option{"WithHTTPClient", kindHTTP, func(c *config) error {
		if client == nil {
			return fmt.Errorf("%w: WithHTTPClient: nil client", ErrConfig)
		}
		c.client = client
		return nil
	}}
}

// WithRootCAs makes the notifier trust the certificate authorities in pool
// instead of the system's, when it checks the receiver's certificate. TLS
// certificates are always verified. Ignored for HTTP when [WithHTTPClient]
// is also given.
//
// Applies to [Webhook], [Slack], [PagerDuty], [SMS] and [Email] (STARTTLS).
func WithRootCAs(pool *x509.CertPool) Option {
	return option{"WithRootCAs", kindHTTP | kindEmail, func(c *config) error {
		if pool == nil {
			return fmt.Errorf("%w: WithRootCAs: nil pool", ErrConfig)
		}
		c.rootCAs = pool
		return nil
	}}
}

// WithHeader adds an HTTP header to every request, replacing earlier values
// of the same header. Use it for an Authorization header or to set the
// Content-Type of a templated body. The signature header of [WithSecret]
// cannot be overridden.
//
// Applies to [Webhook].
func WithHeader(key, value string) Option {
	return option{"WithHeader", kindWebhook, func(c *config) error {
		if !validHeaderName(key) {
			return fmt.Errorf("%w: WithHeader: invalid header name %q", ErrConfig, key)
		}
		for i := 0; i < len(value); i++ {
			if b := value[i]; b == '\r' || b == '\n' || b == 0 {
				return fmt.Errorf("%w: WithHeader: invalid value for %s", ErrConfig, key)
			}
		}
		c.header.Set(key, value)
		return nil
	}}
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b <= ' ' || b >= 0x7f || b == ':' {
			return false
		}
	}
	return textproto.CanonicalMIMEHeaderKey(s) != ""
}

// WithSecret signs every request body with HMAC-SHA256 under secret and
// sends the signature in the [SignatureHeader] header. See [VerifySignature].
//
// Applies to [Webhook].
func WithSecret(secret string) Option {
	return option{"WithSecret", kindWebhook, func(c *config) error {
		if secret == "" {
			return fmt.Errorf("%w: WithSecret: empty secret", ErrConfig)
		}
		c.secret = secret
		return nil
	}}
}

// WithTemplate replaces the JSON body by the output of a [text/template]
// executed with the alert's [Payload] as data. Besides the built-in
// functions, the template may call json, which encodes its argument as JSON
// (so {{json .Monitor}} is a quoted, escaped string). {{.Headline}} is the
// one-line text the other notifiers show ([Payload.Headline]), which names
// at most ten members of a group; {{.Flap}} is "flap-start", "flap-end" or
// empty, and {{len .Members}} is the size of a group (0 for one monitor).
// Mind that {{range .Members}} visits every member, however many. The
// Content-Type stays application/json unless set with [WithHeader].
//
// Applies to [Webhook].
func WithTemplate(text string) Option {
	return option{"WithTemplate", kindWebhook, func(c *config) error {
		c.template, c.hasTemplate = text, true
		return nil
	}}
}

// WithEndpoint replaces the receiver's address, to reach a proxy, a
// regional endpoint or a test server. For [PagerDuty] it is the whole URL of
// the events endpoint (default https://events.pagerduty.com/v2/enqueue); for
// [SMS] it is the base URL of the Twilio API (default
// https://api.twilio.com).
//
// Applies to [PagerDuty] and [SMS].
func WithEndpoint(rawURL string) Option {
	return option{"WithEndpoint", kindPagerDuty | kindSMS, func(c *config) error {
		if _, err := parseHTTPURL("WithEndpoint", rawURL); err != nil {
			return err
		}
		c.endpoint = rawURL
		return nil
	}}
}

// WithSource sets the PagerDuty payload's source, the system that is
// affected. The default is the monitor's name.
//
// Applies to [PagerDuty].
func WithSource(source string) Option {
	return option{"WithSource", kindPagerDuty, func(c *config) error {
		c.source = source
		return nil
	}}
}

// WithYellowWarning makes [PagerDuty] trigger a warning-severity alert on a
// yellow code, under the same dedup key as the episode's red, so the red
// raises the same alert and the green resolves it. By default yellow is not
// sent to PagerDuty.
//
// Applies to [PagerDuty].
func WithYellowWarning() Option {
	return option{"WithYellowWarning", kindPagerDuty, func(c *config) error {
		c.warnYellow = true
		return nil
	}}
}

// WithAuth makes [Email] authenticate, with the first of the SASL
// mechanisms PLAIN, LOGIN and CRAM-MD5 that the server offers. The
// credentials are sent only over TLS (after STARTTLS) or to a server on the
// loopback interface; otherwise delivery fails. The password, and its
// encoded forms, are scrubbed from any text the server answers with before
// that text goes into an error.
//
// Applies to [Email].
func WithAuth(username, password string) Option {
	return option{"WithAuth", kindEmail, func(c *config) error {
		if username == "" {
			return fmt.Errorf("%w: WithAuth: empty username", ErrConfig)
		}
		c.username, c.password = username, password
		return nil
	}}
}

// WithRequireTLS makes [Email] fail, rather than send in clear text, when
// the server does not offer STARTTLS.
//
// Applies to [Email].
func WithRequireTLS() Option {
	return option{"WithRequireTLS", kindEmail, func(c *config) error {
		c.requireTLS = true
		return nil
	}}
}

// WithHello sets the host name [Email] announces in EHLO. The default is
// "localhost".
//
// Applies to [Email].
func WithHello(name string) Option {
	return option{"WithHello", kindEmail, func(c *config) error {
		for i := 0; i < len(name); i++ {
			if b := name[i]; b <= ' ' || b >= 0x7f {
				return fmt.Errorf("%w: WithHello: invalid host name", ErrConfig)
			}
		}
		if name == "" {
			return fmt.Errorf("%w: WithHello: empty host name", ErrConfig)
		}
		c.helo = name
		return nil
	}}
}

// secrets gathers what a notifier configured with c must never print:
// the URLs it was given (with every part that may be a token), the header
// values, the signing secret, the password and extra secrets.
func (c *config) secrets(urls ...string) *redact.Secrets {
	s := &redact.Secrets{}
	for _, u := range urls {
		s.AddURL(u)
	}
	if c.endpoint != "" {
		s.AddURL(c.endpoint)
	}
	for _, vs := range c.header {
		for _, v := range vs {
			s.AddHeader(v)
		}
	}
	s.Add(c.secret, c.password)
	return s
}

func errorf(msg string) error { return fmt.Errorf("%w: %s", ErrConfig, msg) }
