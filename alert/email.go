package alert

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ziad/cpra/internal/redact"
)

// EmailNotifier sends each alert as a plain-text email over SMTP. Create it
// with [Email].
type EmailNotifier struct {
	addr    string
	host    string
	from    *mail.Address
	to      []*mail.Address
	cfg     *config // holds the password: behind a pointer, never printed
	secrets *redact.Secrets
	owed    *owedRecipients
	now     func() time.Time
}

// Email returns a notifier that mails each alert from from to every address
// in to through the SMTP server at smtpAddr ("host:port", usually port 587
// or 25).
//
// The conversation: EHLO; STARTTLS when the server offers it (the server's
// certificate is verified against the system roots or [WithRootCAs]), or
// failure when it does not and [WithRequireTLS] was given; AUTH when
// [WithAuth] gave credentials, with the first of PLAIN, LOGIN and CRAM-MD5
// that the server offers, sent only over TLS or to a loopback server; then
// MAIL, one RCPT per recipient, DATA and QUIT. The message is plain text
// (UTF-8, quoted-printable) with Date, Message-ID and a Subject that names
// the code and the monitor, such as "[cpra] RED: checkout-api is down".
// Header fields that are not plain ASCII are sent as RFC 2047 encoded
// words of at most 75 characters, and every header line is folded to at
// most 76 characters.
//
// Each recipient is delivered to on its own: the server may refuse one
// (RCPT answered 550, say) and the message still goes to the others. When
// some were refused the result is a [*DeliveryError] whose Err is a
// [*RecipientError] naming each refused address and the server's answer;
// it is retryable when one of the refusals is (a 4xx reply), and a retry
// of the same alert is sent only to the recipients that refused it with a
// 4xx reply, so those who got it do not get it twice.
//
// An address that is not ASCII (an internationalized mailbox) is sent as
// it is when the server offers SMTPUTF8 (RFC 6531); when it does not, that
// recipient is refused with a clear reason (and a sender address of that
// kind fails the delivery), never sent raw.
//
// A flap alert's subject reads "[cpra] YELLOW: checkout-api is flapping" or
// "[cpra] GREEN: checkout-api stopped flapping (now green)", and its body
// has a Flapping line. A group's subject reads "[cpra] RED: 37 monitors
// down (zone=eu-1): a, b, c and 34 more", naming at most ten members (as
// many as fit in 200 bytes); its body gives the label value, the code and
// the count, then one line per member (failures, start, attempt, error) for
// the first 100 members and a count of the rest.
//
// A 4xx reply or a network failure is a retryable [*DeliveryError]; a 5xx
// reply or a failed certificate check is not. The password, and the
// encoded credentials, never appear in errors (even when the server quotes
// them back) or when the notifier is printed.
//
// Options: [WithAuth], [WithRequireTLS], [WithRootCAs], [WithHello].
func Email(smtpAddr, from string, to []string, opts ...Option) (*EmailNotifier, error) {
	host, port, err := net.SplitHostPort(smtpAddr)
	if err != nil || host == "" || port == "" {
		return nil, errorf("Email: SMTP address must be host:port")
	}
	f, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("%w: Email: from address: %v", ErrConfig, err)
	}
	if len(to) == 0 {
		return nil, errorf("Email: no recipient")
	}
	rcpts := make([]*mail.Address, 0, len(to))
	for _, t := range to {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("%w: Email: recipient %q: %v", ErrConfig, t, err)
		}
		rcpts = append(rcpts, a)
	}
	cfg, err := newConfig(kindEmail, opts)
	if err != nil {
		return nil, err
	}
	if cfg.helo == "" {
		cfg.helo = "localhost"
	}
	sec := cfg.secrets()
	if cfg.username != "" {
		// The AUTH PLAIN response, which a server may quote back.
		sec.AddBase64("\x00" + cfg.username + "\x00" + cfg.password)
	}
	return &EmailNotifier{addr: smtpAddr, host: host, from: f, to: rcpts, cfg: cfg, secrets: sec,
		owed: &owedRecipients{}, now: time.Now}, nil
}

// Notify mails a. It honours ctx: the connection is closed when ctx is done.
func (n *EmailNotifier) Notify(ctx context.Context, a Alert) error {
	if err := canceled(ctx, "email", n.addr); err != nil {
		return err
	}
	id := alertID(a)
	targets, _ := n.owed.get(id)
	if targets == nil {
		targets = make([]int, len(n.to))
		for i := range targets {
			targets[i] = i
		}
	}
	retry, delivered, err := n.send(ctx, a, targets)
	switch {
	case len(retry) > 0:
		n.owed.set(id, retry)
	case delivered:
		n.owed.set(id, nil)
	}
	return err
}

// send runs one SMTP conversation delivering a to the recipients n.to[i]
// for i in targets. delivered reports whether the message was taken for
// some of them; when others refused it with a 4xx reply, retry lists
// those.
func (n *EmailNotifier) send(ctx context.Context, a Alert, targets []int) (retry []int, delivered bool, err error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", n.addr)
	if err != nil {
		return nil, false, n.fail("connect", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Unblock any read or write as soon as ctx is done.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, n.host)
	if err != nil {
		_ = conn.Close()
		return nil, false, n.fail("greeting", n.ctxErr(ctx, err))
	}
	defer c.Close()
	if err := c.Hello(n.cfg.helo); err != nil {
		return nil, false, n.fail("EHLO", n.ctxErr(ctx, err))
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc := &tls.Config{ServerName: n.host, RootCAs: n.cfg.rootCAs, MinVersion: tls.VersionTLS12}
		if err := c.StartTLS(tc); err != nil {
			return nil, false, n.fail("STARTTLS", n.ctxErr(ctx, err))
		}
	} else if n.cfg.requireTLS {
		return nil, false, n.refuse("server does not offer STARTTLS")
	}
	if n.cfg.username != "" {
		if err := n.auth(ctx, c); err != nil {
			return nil, false, err
		}
	}

	utf8ok, _ := c.Extension("SMTPUTF8")
	from, ok := envelopeAddress(n.from.Address, utf8ok)
	if !ok {
		return nil, false, n.refuse("sender " + n.from.Address + ": " + noUTF8)
	}
	if err := c.Mail(from); err != nil {
		return nil, false, n.fail("MAIL", n.ctxErr(ctx, err))
	}
	re := &RecipientError{Of: len(targets)}
	for _, i := range targets {
		addr := n.to[i].Address
		env, ok := envelopeAddress(addr, utf8ok)
		if !ok {
			re.Rejected = append(re.Rejected, Rejection{Address: addr, Reason: noUTF8})
			continue
		}
		err := c.Rcpt(env)
		if err == nil {
			re.Delivered++
			continue
		}
		var te *textproto.Error
		if !errors.As(err, &te) {
			return nil, false, n.fail("RCPT", n.ctxErr(ctx, err))
		}
		r := Rejection{
			Address:   addr,
			Status:    te.Code,
			Retryable: te.Code >= 400 && te.Code < 500,
			Reason:    redact.Truncate(n.secrets.Scrub(strings.Join(strings.Fields(te.Msg), " ")), maxReason, "..."),
		}
		re.Rejected = append(re.Rejected, r)
		if r.Retryable {
			retry = append(retry, i)
		}
	}
	if re.Delivered == 0 {
		_ = c.Quit()
		return nil, false, n.rejected(re)
	}
	w, err := c.Data()
	if err != nil {
		return nil, false, n.fail("DATA", n.ctxErr(ctx, err))
	}
	if _, err := w.Write(n.message(a, n.now(), utf8ok)); err != nil {
		return nil, false, n.fail("DATA", n.ctxErr(ctx, err))
	}
	if err := w.Close(); err != nil {
		return nil, false, n.fail("DATA", n.ctxErr(ctx, err))
	}
	// The message is accepted; a failed QUIT does not undo that.
	_ = c.Quit()
	if len(re.Rejected) > 0 {
		return retry, true, n.rejected(re)
	}
	return nil, true, nil
}

// auth authenticates with the best mechanism the server offers.
func (n *EmailNotifier) auth(ctx context.Context, c *smtp.Client) error {
	_, offered := c.Extension("AUTH")
	mech := pickAuth(offered)
	switch {
	case mech == "" && offered == "":
		return n.refuse("server does not offer AUTH")
	case mech == "":
		return n.refuse("server offers none of AUTH " + strings.Join(authMechs, ", ") +
			" (it offers " + oneLine(offered, maxReason) + ")")
	}
	if err := c.Auth(newAuth(mech, n.cfg.username, n.cfg.password, n.host)); err != nil {
		if errors.Is(err, errClearAuth) {
			return n.refuse(err.Error())
		}
		return n.fail("AUTH "+mech, n.ctxErr(ctx, err))
	}
	return nil
}

// maxReason bounds a server's words quoted in an error.
const maxReason = 200

// noUTF8 is why a non-ASCII address was not used.
const noUTF8 = "the address is not ASCII and the server does not offer SMTPUTF8"

// envelopeAddress is addr as it may go into MAIL or RCPT, and the header:
// as it is when it is ASCII or the server speaks SMTPUTF8; ok is false
// otherwise.
func envelopeAddress(addr string, smtpUTF8 bool) (string, bool) {
	return addr, smtpUTF8 || isASCII(addr)
}

// RecipientError reports the recipients an SMTP server did not take a
// message for; it is the Err of the [*DeliveryError] that [Email] returns
// then.
type RecipientError struct {
	// Delivered is how many recipients the message went to, of Of.
	Delivered, Of int
	// Rejected lists the others, in the order they were given.
	Rejected []Rejection
}

// Rejection is one recipient that did not get a message.
type Rejection struct {
	// Address is the recipient's address.
	Address string
	// Status is the server's reply to RCPT (such as 550 or 450), or 0 when
	// the address was not offered to the server (see Reason).
	Status int
	// Retryable is true for a 4xx reply: the server may take the message
	// for this recipient later.
	Retryable bool
	// Reason is the server's explanation, or why the address was not used.
	Reason string
}

// Error counts the recipients reached and lists the refused ones with the
// server's replies.
func (e *RecipientError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "delivered to %d of %d recipients; refused: ", e.Delivered, e.Of)
	for i, r := range e.Rejected {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.Address + ": ")
		if r.Status != 0 {
			b.WriteString(strconv.Itoa(r.Status) + " ")
		}
		b.WriteString(r.Reason)
	}
	return b.String()
}

// rejected wraps re in a DeliveryError, retryable when a refusal is.
func (n *EmailNotifier) rejected(re *RecipientError) error {
	de := &DeliveryError{Notifier: "email", Endpoint: n.addr, Err: re}
	for _, r := range re.Rejected {
		if de.Status == 0 {
			de.Status = r.Status
		}
		de.Retryable = de.Retryable || r.Retryable
	}
	return de
}

// refuse is a failure that trying again will not mend.
func (n *EmailNotifier) refuse(msg string) error {
	return &DeliveryError{Notifier: "email", Endpoint: n.addr, Err: errors.New(msg)}
}

// ctxErr prefers the context's error to the deadline error it caused.
func (n *EmailNotifier) ctxErr(ctx context.Context, err error) error {
	if ce := ctx.Err(); ce != nil {
		return fmt.Errorf("%w (%v)", ce, err)
	}
	// The connection's deadline is the context's: it may expire a moment
	// before the context reports it.
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}

// fail classifies an SMTP failure. The server's words are scrubbed of the
// credentials, which a server may quote back in a rejection.
func (n *EmailNotifier) fail(step string, err error) error {
	de := &DeliveryError{Notifier: "email", Endpoint: n.addr}
	var te *textproto.Error
	switch {
	case errors.As(err, &te):
		de.Status = te.Code
		de.Retryable = te.Code >= 400 && te.Code < 500
		// A copy whose text is clean, so that errors.As still finds one.
		de.Err = fmt.Errorf("%s: %w", step, &textproto.Error{Code: te.Code, Msg: n.secrets.Scrub(te.Msg)})
		return de
	case !transportRetryable(err):
		de.Retryable = false
	default:
		var ne net.Error
		de.Retryable = errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
			errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
	}
	de.Err = fmt.Errorf("%s: %w", step, n.secrets.Error(err))
	return de
}

// owedRecipients remembers, for alerts delivered to only some recipients,
// those that refused with a 4xx reply, so that a retry of the same alert
// goes to them alone. It holds at most maxOwed alerts, forgetting the
// oldest first.
type owedRecipients struct {
	mu    sync.Mutex
	m     map[string][]int
	order []string
}

const maxOwed = 1024

// get returns the recipients still owed alert id, and whether there is an
// entry for it.
func (o *owedRecipients) get(id string) ([]int, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	idx, ok := o.m[id]
	return idx, ok
}

// set records the recipients still owed alert id; nil forgets it.
func (o *owedRecipients) set(id string, idx []int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if idx == nil {
		if _, ok := o.m[id]; ok {
			delete(o.m, id)
			o.order = slices.DeleteFunc(o.order, func(s string) bool { return s == id })
		}
		return
	}
	if o.m == nil {
		o.m = map[string][]int{}
	}
	if _, ok := o.m[id]; !ok {
		if len(o.order) == maxOwed {
			delete(o.m, o.order[0])
			o.order = o.order[1:]
		}
		o.order = append(o.order, id)
	}
	o.m[id] = idx
}

func hasWord(list, word string) bool {
	for _, w := range strings.Fields(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}

// message renders the email for a. Without SMTPUTF8 the header names only
// the ASCII addresses.
func (n *EmailNotifier) message(a Alert, now time.Time, smtpUTF8 bool) []byte {
	var b bytes.Buffer
	header := func(as []*mail.Address) []*mail.Address {
		out := make([]*mail.Address, 0, len(as))
		for _, x := range as {
			if env, ok := envelopeAddress(x.Address, smtpUTF8); ok {
				out = append(out, &mail.Address{Name: x.Name, Address: env})
			}
		}
		return out
	}
	from := header([]*mail.Address{n.from})
	writeAddressHeader(&b, "From", from)
	writeAddressHeader(&b, "To", header(n.to))
	writeTextHeader(&b, "Subject", emailSubject(a))
	b.WriteString("Date: " + now.Format(time.RFC1123Z) + "\r\n")
	b.WriteString("Message-ID: " + messageID(from[0].Address) + "\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n")
	b.WriteString("Auto-Submitted: auto-generated\r\n")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = io.WriteString(qp, strings.ReplaceAll(alertText(a), "\n", "\r\n"))
	_ = qp.Close()
	return b.Bytes()
}

// maxSubject bounds the subject, in bytes before MIME encoding.
const maxSubject = 200

// emailSubject is "[cpra] RED: " and the headline; a group's names fill
// what room is left.
func emailSubject(a Alert) string {
	s := "[cpra] " + strings.ToUpper(a.Code.String()) + ": "
	if len(a.Group) > 0 {
		s += storyOf(a).line(lineNames, maxSubject-len(s))
	} else {
		s += headline(a)
	}
	return headerText(s, maxSubject)
}

func messageID(from string) string {
	domain := "cpra.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	var r [12]byte
	_, _ = rand.Read(r[:])
	return "<" + hex.EncodeToString(r[:]) + "." + strconv.FormatInt(time.Now().UnixNano(), 36) + "@" + domain + ">"
}

// alertText is the plain-text account of an alert, for email and the like.
func alertText(a Alert) string {
	if len(a.Group) > 0 {
		return groupText(a)
	}
	var b strings.Builder
	b.WriteString(headline(a) + "\n\n")
	line := func(k, v string) { fmt.Fprintf(&b, "%-9s %s\n", k+":", v) }
	line("Monitor", a.Monitor)
	line("Code", a.Code.String())
	if f := flapText(a.Flap); f != "" {
		line("Flapping", f)
	}
	line("Time", a.At.UTC().Format(time.RFC3339Nano))
	if !a.Since.IsZero() {
		line("Since", a.Since.UTC().Format(time.RFC3339Nano))
	}
	line("Failures", strconv.Itoa(a.Failures))
	if a.Attempt > 0 {
		line("Attempt", strconv.Itoa(a.Attempt))
	}
	if a.Err != nil {
		line("Error", a.Err.Error())
	}
	if len(a.Labels) > 0 {
		keys := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("Labels:\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s = %s\n", k, a.Labels[k])
		}
	}
	return b.String()
}

// flapText says where a spell of flapping stands, or "" for 0.
func flapText(f Flap) string {
	switch f {
	case FlapStart:
		return "started; no other alert is sent for it until it stops"
	case FlapEnd:
		return "stopped"
	case 0:
		return ""
	}
	return f.String()
}

// groupText is the plain-text account of an alert for a group: the count
// and the label value, then one line per member for the first
// emailMembers of them, then a count of the rest.
func groupText(a Alert) string {
	var b strings.Builder
	b.WriteString(storyOf(a).line(0, 0) + "\n\n")
	line := func(k, v string) { fmt.Fprintf(&b, "%-9s %s\n", k+":", v) }
	line("Group", a.Monitor)
	line("Code", a.Code.String())
	if f := flapText(a.Flap); f != "" {
		line("Flapping", f)
	}
	line("Time", a.At.UTC().Format(time.RFC3339Nano))
	line("Monitors", strconv.Itoa(len(a.Group)))
	b.WriteString("\n")
	for _, m := range a.Group[:min(len(a.Group), emailMembers)] {
		b.WriteString("- " + oneLine(m.Monitor, 1<<10))
		if f := memberFacts(m); f != "" {
			b.WriteString(": " + f)
		}
		b.WriteString("\n")
	}
	if rest := len(a.Group) - emailMembers; rest > 0 {
		fmt.Fprintf(&b, "and %d more\n", rest)
	}
	return b.String()
}

// String describes the notifier without its credentials.
func (n EmailNotifier) String() string {
	return fmt.Sprintf("alert.Email(%s, %s)", n.addr, recipients(len(n.to)))
}

// GoString is String, so that %#v prints no secret either.
func (n EmailNotifier) GoString() string { return n.String() }

// Format prints String for every verb, also for the struct itself.
func (n EmailNotifier) Format(f fmt.State, verb rune) { redact.Format(f, verb, n.String()) }

var _ Notifier = (*EmailNotifier)(nil)

func recipients(n int) string {
	if n == 1 {
		return "1 recipient"
	}
	return strconv.Itoa(n) + " recipients"
}
