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
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EmailNotifier sends each alert as a plain-text email over SMTP. Create it
// with [Email].
type EmailNotifier struct {
	addr string
	host string
	from *mail.Address
	to   []*mail.Address
	cfg  *config // holds the password: behind a pointer, never printed
	now  func() time.Time
}

// Email returns a notifier that mails each alert from from to every address
// in to through the SMTP server at smtpAddr ("host:port", usually port 587
// or 25).
//
// The conversation: EHLO; STARTTLS when the server offers it (the server's
// certificate is verified against the system roots or [WithRootCAs]), or
// failure when it does not and [WithRequireTLS] was given; AUTH PLAIN when
// [WithAuth] gave credentials, which are sent only over TLS or to a
// loopback server; then MAIL, one RCPT per recipient, DATA and QUIT. The
// message is plain text (UTF-8, quoted-printable) with Date, Message-ID and
// a Subject that names the code and the monitor, such as
// "[cpra] RED: checkout-api is down".
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
// reply or a failed certificate check is not. Retrying may mail recipients
// who already got the message. The password never appears in errors or in
// String.
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
	return &EmailNotifier{addr: smtpAddr, host: host, from: f, to: rcpts, cfg: cfg, now: time.Now}, nil
}

// Notify mails a. It honours ctx: the connection is closed when ctx is done.
func (n *EmailNotifier) Notify(ctx context.Context, a Alert) error {
	if err := canceled(ctx, "email", n.addr); err != nil {
		return err
	}
	return n.send(ctx, n.message(a, n.now()))
}

func (n *EmailNotifier) send(ctx context.Context, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", n.addr)
	if err != nil {
		return n.fail("connect", err)
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
		return n.fail("greeting", n.ctxErr(ctx, err))
	}
	defer c.Close()
	if err := c.Hello(n.cfg.helo); err != nil {
		return n.fail("EHLO", n.ctxErr(ctx, err))
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc := &tls.Config{ServerName: n.host, RootCAs: n.cfg.rootCAs, MinVersion: tls.VersionTLS12}
		if err := c.StartTLS(tc); err != nil {
			return n.fail("STARTTLS", n.ctxErr(ctx, err))
		}
	} else if n.cfg.requireTLS {
		return &DeliveryError{Notifier: "email", Endpoint: n.addr, Err: errors.New("server does not offer STARTTLS")}
	}
	if n.cfg.username != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok || !hasWord(mechs, "PLAIN") {
			return &DeliveryError{Notifier: "email", Endpoint: n.addr, Err: errors.New("server does not offer AUTH PLAIN")}
		}
		if err := c.Auth(smtp.PlainAuth("", n.cfg.username, n.cfg.password, n.host)); err != nil {
			return n.fail("AUTH", n.ctxErr(ctx, err))
		}
	}
	if err := c.Mail(n.from.Address); err != nil {
		return n.fail("MAIL", n.ctxErr(ctx, err))
	}
	for _, r := range n.to {
		if err := c.Rcpt(r.Address); err != nil {
			return n.fail("RCPT", n.ctxErr(ctx, err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return n.fail("DATA", n.ctxErr(ctx, err))
	}
	if _, err := w.Write(msg); err != nil {
		return n.fail("DATA", n.ctxErr(ctx, err))
	}
	if err := w.Close(); err != nil {
		return n.fail("DATA", n.ctxErr(ctx, err))
	}
	// The message is accepted; a failed QUIT does not undo that.
	_ = c.Quit()
	return nil
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

// fail classifies an SMTP failure.
func (n *EmailNotifier) fail(step string, err error) error {
	de := &DeliveryError{Notifier: "email", Endpoint: n.addr}
	var te *textproto.Error
	switch {
	case errors.As(err, &te):
		de.Status = te.Code
		de.Retryable = te.Code >= 400 && te.Code < 500
	case !transportRetryable(err):
		de.Retryable = false
	default:
		var ne net.Error
		de.Retryable = errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
			errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
	}
	sc := scrubber{}
	if n.cfg.password != "" {
		sc = append(sc, n.cfg.password)
	}
	de.Err = &secretError{msg: step + ": " + sc.scrub(err.Error()), err: err}
	return de
}

func hasWord(list, word string) bool {
	for _, w := range strings.Fields(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}

// headerText makes s safe for a header: no control characters, bounded,
// and MIME-encoded when not ASCII.
func headerText(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "..."
	}
	return mime.QEncoding.Encode("utf-8", s)
}

// message renders the email for a.
func (n *EmailNotifier) message(a Alert, now time.Time) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	to := make([]string, len(n.to))
	for i, r := range n.to {
		to[i] = r.String()
	}
	h("From", n.from.String())
	h("To", strings.Join(to, ", "))
	h("Subject", emailSubject(a))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", messageID(n.from.Address))
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
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
func (n *EmailNotifier) String() string {
	return fmt.Sprintf("alert.Email(%s, %s)", n.addr, recipients(len(n.to)))
}

// GoString is String, so that %#v prints no secret either.
func (n *EmailNotifier) GoString() string { return n.String() }

var _ Notifier = (*EmailNotifier)(nil)

func recipients(n int) string {
	if n == 1 {
		return "1 recipient"
	}
	return strconv.Itoa(n) + " recipients"
}
