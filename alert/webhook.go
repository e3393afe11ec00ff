package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"text/template"

	"github.com/ziad/cpra/internal/redact"
)

// SignatureHeader is the header in which [Webhook] sends the body's
// signature when it has a secret ([WithSecret]). Its value is
//
//	sha256=<lower-case hex of HMAC-SHA256(secret, body)>
//
// computed over the exact bytes of the request body. A receiver recomputes
// it with the shared secret, compares in constant time ([VerifySignature]
// does both), and may reject a replay by the payload's "id" and "time".
const SignatureHeader = "X-CPRA-Signature"

// KeyHeader is the header in which [Webhook] sends [Alert.Key], the
// alert's stable identity: a receiver that has seen a key may drop the
// request.
const KeyHeader = "Idempotency-Key"

// WebhookNotifier posts each alert to an HTTP endpoint. Create it with
// [Webhook].
type WebhookNotifier struct {
	p    *poster
	cfg  *config
	tmpl *template.Template
}

// Webhook returns a notifier that POSTs each alert to rawURL.
//
// The body is the alert's [Payload] as JSON (Content-Type application/json),
// unless [WithTemplate] gives another. The payload of a group lists every
// member, so its size grows with the group's. With [WithSecret] the body is signed
// in the [SignatureHeader] header. Other headers come from [WithHeader].
// The receiver's TLS certificate is verified against the system roots, or
// those of [WithRootCAs]; [WithHTTPClient] replaces the client altogether.
//
// Any 2xx status is success. Another status is a [*DeliveryError] naming
// it, retryable for 408, 425, 429 and 5xx. The URL may carry a token: only
// its scheme and host ever appear in errors and in String.
//
// Options: [WithHTTPClient], [WithRootCAs], [WithHeader], [WithSecret],
// [WithTemplate].
func Webhook(rawURL string, opts ...Option) (*WebhookNotifier, error) {
	u, err := parseHTTPURL("webhook URL", rawURL)
	if err != nil {
		return nil, err
	}
	cfg, err := newConfig(kindWebhook, opts)
	if err != nil {
		return nil, err
	}
	n := &WebhookNotifier{cfg: cfg}
	if cfg.hasTemplate {
		t, err := template.New("webhook").Funcs(template.FuncMap{"json": jsonFunc}).Parse(cfg.template)
		if err != nil {
			return nil, fmt.Errorf("%w: WithTemplate: %v", ErrConfig, err)
		}
		n.tmpl = t
	}
	n.p = &poster{
		kind:    "webhook",
		url:     rawURL,
		display: displayURL(u),
		client:  cfg.httpClient(),
		secrets: cfg.secrets(rawURL),
	}
	return n, nil
}

func jsonFunc(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Notify posts a. It honours ctx.
func (n *WebhookNotifier) Notify(ctx context.Context, a Alert) error {
	var body []byte
	p := NewPayload(a)
	if n.tmpl != nil {
		var buf bytes.Buffer
		if err := n.tmpl.Execute(&buf, p); err != nil {
			return &DeliveryError{Notifier: "webhook", Endpoint: n.p.display, Err: redactErr(n.p.secrets, err)}
		}
		body = buf.Bytes()
	} else {
		var err error
		if body, err = json.Marshal(p); err != nil {
			return &DeliveryError{Notifier: "webhook", Endpoint: n.p.display, Err: err}
		}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", userAgent)
	if a.Key != "" {
		h.Set(KeyHeader, a.Key)
	}
	for k, vs := range n.cfg.header {
		h[k] = vs
	}
	if n.cfg.secret != "" {
		h.Set(SignatureHeader, Sign(n.cfg.secret, body))
	}
	_, err := n.p.post(ctx, h, body)
	return err
}

// String describes the notifier without its secrets.
func (n WebhookNotifier) String() string { return "alert.Webhook(" + n.p.display + ")" }

// GoString is String, so that %#v prints no secret either.
func (n WebhookNotifier) GoString() string { return n.String() }

// Format prints String for every verb, also for the struct itself.
func (n WebhookNotifier) Format(f fmt.State, verb rune) { redact.Format(f, verb, n.String()) }

const userAgent = "cpra-alert/1"

// Sign returns the [SignatureHeader] value for body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether header, the value of a request's
// [SignatureHeader], is the signature of body under secret. The comparison
// takes constant time. It is meant for the receiving side of a [Webhook].
func VerifySignature(secret string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

var _ Notifier = (*WebhookNotifier)(nil)
