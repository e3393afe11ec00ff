package alert

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	smtpd "github.com/emersion/go-smtp"
)

// mailServer is a real SMTP server (github.com/emersion/go-smtp) on
// loopback, with a backend that records what it was given.
type mailServer struct {
	srv *smtpd.Server
	ln  net.Listener

	// Set before the first connection.
	user, pass string
	mechs      []string // AUTH mechanisms offered; nil: no AUTH
	echoAuth   bool     // a failed AUTH quotes back what it got

	mu      sync.Mutex
	rejects map[string]*smtpd.SMTPError // RCPT address -> reply
	mails   []gotMail
	rcpts   []string // every RCPT address offered, accepted or not
	auths   []string // mechanisms that authenticated
}

type gotMail struct {
	from string
	utf8 bool // MAIL FROM had SMTPUTF8
	to   []string
	data string
}

type mailOption func(*mailServer)

func withSMTPUTF8() mailOption { return func(m *mailServer) { m.srv.EnableSMTPUTF8 = true } }

func withAuthMechs(user, pass string, mechs ...string) mailOption {
	return func(m *mailServer) { m.user, m.pass, m.mechs = user, pass, mechs }
}

func withReject(addr string, code int, msg string) mailOption {
	return func(m *mailServer) { m.reject(addr, code, msg) }
}

// reject makes the server answer RCPT TO:<addr> with code and msg; code 0
// accepts addr again.
func (m *mailServer) reject(addr string, code int, msg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if code == 0 {
		delete(m.rejects, addr)
		return
	}
	m.rejects[addr] = &smtpd.SMTPError{Code: code, EnhancedCode: smtpd.EnhancedCode{code / 100, 1, 1}, Message: msg}
}

func withEchoAuth() mailOption { return func(m *mailServer) { m.echoAuth = true } }

func startMailServer(t *testing.T, opts ...mailOption) *mailServer {
	t.Helper()
	m := &mailServer{rejects: map[string]*smtpd.SMTPError{}}
	m.srv = smtpd.NewServer(smtpd.BackendFunc(func(*smtpd.Conn) (smtpd.Session, error) {
		return &mailSession{m: m}, nil
	}))
	m.srv.Domain = "127.0.0.1"
	m.srv.AllowInsecureAuth = true // loopback, no TLS
	m.srv.ErrorLog = log.New(io.Discard, "", 0)
	for _, o := range opts {
		o(m)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.ln = ln
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = m.srv.Close()
		<-done
	})
	return m
}

func (m *mailServer) addr() string { return m.ln.Addr().String() }

func (m *mailServer) got() ([]gotMail, []string, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]gotMail(nil), m.mails...), append([]string(nil), m.rcpts...), append([]string(nil), m.auths...)
}

type mailSession struct {
	m      *mailServer
	cur    gotMail
	authed bool
}

func (s *mailSession) AuthMechanisms() []string { return s.m.mechs }

func (s *mailSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass, got string) error {
		if user == s.m.user && pass == s.m.pass {
			s.authed = true
			s.m.mu.Lock()
			s.m.auths = append(s.m.auths, mech)
			s.m.mu.Unlock()
			return nil
		}
		msg := "Authentication failed"
		if s.m.echoAuth {
			msg += " for " + got
		}
		return &smtpd.SMTPError{Code: 535, EnhancedCode: smtpd.EnhancedCode{5, 7, 8}, Message: msg}
	}
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			raw := "\x00" + user + "\x00" + pass
			return check(user, pass, base64.StdEncoding.EncodeToString([]byte(raw))+" = "+strconv.Quote(raw))
		}), nil
	case "LOGIN":
		return &loginServer{check: check}, nil
	case "CRAM-MD5":
		return &cramServer{secret: s.m.pass, user: s.m.user, check: check}, nil
	}
	return nil, smtpd.ErrAuthUnknownMechanism
}

func (s *mailSession) Mail(from string, opts *smtpd.MailOptions) error {
	if s.m.mechs != nil && !s.authed {
		return smtpd.ErrAuthRequired
	}
	s.cur = gotMail{from: from, utf8: opts != nil && opts.UTF8}
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtpd.RcptOptions) error {
	s.m.mu.Lock()
	s.m.rcpts = append(s.m.rcpts, to)
	e := s.m.rejects[to]
	s.m.mu.Unlock()
	if e != nil {
		return e
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.m.mu.Lock()
	s.m.mails = append(s.m.mails, s.cur)
	s.m.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.cur = gotMail{} }
func (s *mailSession) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN: it prompts for the user
// name, then the password.
type loginServer struct {
	step       int
	user, pass string
	check      func(user, pass, got string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 2:
		l.pass = string(resp)
		return nil, true, l.check(l.user, l.pass, base64.StdEncoding.EncodeToString(resp)+" = "+strconv.Quote(l.pass))
	}
	return nil, false, errors.New("unexpected response")
}

// cramServer is the server side of AUTH CRAM-MD5 (RFC 2195).
type cramServer struct {
	challenge string
	user      string
	secret    string
	check     func(user, pass, got string) error
}

func (c *cramServer) Next(resp []byte) ([]byte, bool, error) {
	if c.challenge == "" {
		c.challenge = "<1896.697170952@127.0.0.1>"
		return []byte(c.challenge), false, nil
	}
	user, digest, _ := strings.Cut(string(resp), " ")
	mac := hmac.New(md5.New, []byte(c.secret))
	mac.Write([]byte(c.challenge))
	if user == c.user && digest == hex.EncodeToString(mac.Sum(nil)) {
		return nil, true, c.check(c.user, c.secret, string(resp))
	}
	return nil, true, c.check(user, "", string(resp))
}
