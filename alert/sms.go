package alert

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ziad/cpra/internal/redact"
)

// DefaultTwilioBaseURL is the base URL [SMS] uses unless [WithEndpoint]
// names another.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// maxSMS bounds the text of one message, in characters: two concatenated
// SMS segments of plain text.
const maxSMS = 306

// SMSNotifier sends each alert as a text message through the Twilio
// Messages API. Create it with [SMS].
type SMSNotifier struct {
	p    *poster
	auth *string // Basic credentials; behind a pointer so printing shows none
	from string
	to   []string
}

// SMS returns a notifier that texts each alert from the number from to each
// number in to (E.164, such as "+15551234567") through the Twilio Messages
// REST API: one POST per recipient to
// {base}/2010-04-01/Accounts/{accountSID}/Messages.json with the form fields
// To, From and Body, authenticated with HTTP basic auth as
// accountSID:authToken.
//
// The text is one line ("[cpra] RED: checkout-api is down: <error>") cut to
// 306 characters. A flap alert reads "[cpra] YELLOW: checkout-api is
// flapping: <error>" or "[cpra] GREEN: checkout-api stopped flapping (now
// green)". A group reads "[cpra] RED: 37 monitors down (zone=eu-1): a, b, c
// and 34 more", naming at most ten members and only as many as fit, without
// an error. Twilio answers 201 on success. 429 and 5xx are retryable
// [*DeliveryError]s; 4xx (a wrong number, bad credentials) are not. With
// several recipients the errors are joined, and a retry texts again those
// who were already reached. The auth token never appears in errors or in
// String.
//
// Options: [WithEndpoint] (base URL), [WithHTTPClient], [WithRootCAs].
func SMS(accountSID, authToken, from string, to []string, opts ...Option) (*SMSNotifier, error) {
	if accountSID == "" || authToken == "" {
		return nil, errorf("SMS: account SID and auth token are required")
	}
	if from == "" || len(to) == 0 {
		return nil, errorf("SMS: from and at least one recipient are required")
	}
	for _, t := range to {
		if t == "" {
			return nil, errorf("SMS: empty recipient")
		}
	}
	cfg, err := newConfig(kindSMS, opts)
	if err != nil {
		return nil, err
	}
	base := DefaultTwilioBaseURL
	if cfg.endpoint != "" {
		base = cfg.endpoint
	}
	endpoint := strings.TrimRight(base, "/") + "/2010-04-01/Accounts/" + url.PathEscape(accountSID) + "/Messages.json"
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, errorf("SMS: invalid endpoint")
	}
	cred := base64.StdEncoding.EncodeToString([]byte(accountSID + ":" + authToken))
	auth := "Basic " + cred
	sec := cfg.secrets(endpoint)
	sec.Add(authToken)
	sec.AddHeader(auth)
	return &SMSNotifier{
		p: &poster{
			kind:    "sms",
			url:     endpoint,
			display: displayURL(u),
			client:  cfg.httpClient(),
			secrets: sec,
		},
		auth: &auth,
		from: from,
		to:   append([]string(nil), to...),
	}, nil
}

// smsText is the one-line text of a, cut to maxSMS characters.
func smsText(a Alert) string {
	s := "[cpra] " + strings.ToUpper(a.Code.String()) + ": "
	if len(a.Group) > 0 {
		// The names fill what room is left; the error is only the first
		// member's, so it is left out.
		s += storyOf(a).line(lineNames, maxSMS-len(s))
	} else {
		s += headline(a)
		if a.Err != nil {
			s += ": " + a.Err.Error()
		}
	}
	return redact.TruncateRunes(strings.Join(strings.Fields(s), " "), maxSMS, "...")
}

// Notify texts a to every recipient. It honours ctx.
func (n *SMSNotifier) Notify(ctx context.Context, a Alert) error {
	text := smsText(a)
	var errs []error
	for _, to := range n.to {
		if err := canceled(ctx, "sms", n.p.display); err != nil {
			errs = append(errs, err)
			break
		}
		form := url.Values{"To": {to}, "From": {n.from}, "Body": {text}}
		h := http.Header{}
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		h.Set("User-Agent", userAgent)
		h.Set("Authorization", *n.auth)
		if _, err := n.p.post(ctx, h, []byte(form.Encode())); err != nil {
			errs = append(errs, fmt.Errorf("to %s: %w", to, err))
		}
	}
	return errors.Join(errs...)
}

// String describes the notifier without its credentials.
func (n SMSNotifier) String() string {
	return fmt.Sprintf("alert.SMS(%s, %s)", n.p.display, recipients(len(n.to)))
}

// GoString is String, so that %#v prints no secret either.
func (n SMSNotifier) GoString() string { return n.String() }

// Format prints String for every verb, also for the struct itself.
func (n SMSNotifier) Format(f fmt.State, verb rune) { redact.Format(f, verb, n.String()) }

var _ Notifier = (*SMSNotifier)(nil)
