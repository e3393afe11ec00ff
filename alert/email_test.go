package alert

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCert returns a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cpra test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// smtpServer is a small SMTP server on loopback that records the commands
// it receives, one connection at a time.
type smtpServer struct {
	ln       net.Listener
	tls      *tls.Config // nil: STARTTLS not offered
	user     string      // "": AUTH not offered
	pass     string
	replies  map[string]string // verb -> reply replacing the usual one
	greet    bool              // send the greeting (false: stay silent)
	wg       sync.WaitGroup
	mu       sync.Mutex
	commands []string
	messages []string
}

func newSMTPServer(t *testing.T, configure func(*smtpServer)) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, replies: map[string]string{}, greet: true}
	if configure != nil {
		configure(s)
	}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.serve(c)
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *smtpServer) addr() string { return s.ln.Addr().String() }

func (s *smtpServer) record(cmd string) {
	s.mu.Lock()
	s.commands = append(s.commands, cmd)
	s.mu.Unlock()
}

func (s *smtpServer) got() ([]string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...), append([]string(nil), s.messages...)
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if !s.greet {
		_, _ = io.Copy(io.Discard, c) // until the client hangs up
		return
	}
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func(verb, def string) {
		if x, ok := s.replies[verb]; ok {
			def = x
		}
		_, _ = w.WriteString(def + "\r\n")
		_ = w.Flush()
	}
	reply("GREETING", "220 127.0.0.1 ESMTP test")
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO":
			s.record("EHLO")
			ext := []string{"250-127.0.0.1 hello"}
			if s.tls != nil && !secure {
				ext = append(ext, "250-STARTTLS")
			}
			if s.user != "" && (secure || s.tls == nil) {
				ext = append(ext, "250-AUTH PLAIN LOGIN")
			}
			ext = append(ext, "250 SIZE 10240000")
			reply("EHLO", strings.Join(ext, "\r\n"))
		case "STARTTLS":
			s.record("STARTTLS")
			reply("STARTTLS", "220 ready to start TLS")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			secure = true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
		case "AUTH":
			f := strings.Fields(line)
			s.record("AUTH " + f[1])
			creds, _ := base64.StdEncoding.DecodeString(f[len(f)-1])
			if string(creds) == "\x00"+s.user+"\x00"+s.pass {
				reply("AUTH", "235 2.7.0 authenticated")
			} else {
				reply("AUTH", "535 5.7.8 bad credentials for "+string(creds))
			}
		case "MAIL", "RCPT":
			s.record(line)
			reply(verb, "250 2.1.0 ok")
		case "DATA":
			s.record("DATA")
			reply("DATA", "354 go ahead")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			s.messages = append(s.messages, msg.String())
			s.mu.Unlock()
			reply("END", "250 2.0.0 queued")
		case "QUIT":
			s.record("QUIT")
			reply("QUIT", "221 bye")
			return
		default:
			s.record(line)
			reply("", "502 5.5.2 unknown command")
		}
	}
}

func sameCommands(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got commands\n  %q\nwant\n  %q", got, want)
	}
}

func TestEmailStartTLSAuthConversation(t *testing.T) {
	cert, pool := testCert(t)
	s := newSMTPServer(t, func(s *smtpServer) {
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.user, s.pass = "alerts", "pa55word"
	})
	n, err := Email(s.addr(), "CPRA <cpra@example.com>", []string{"ops@example.com", "Oncall <oncall@example.org>"},
		WithAuth("alerts", "pa55word"), WithRootCAs(pool), WithRequireTLS(), WithHello("mon.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	a := redAlert()
	a.Err = errors.New("first line\n.\nlast line after a lone dot")
	if err := n.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	cmds, msgs := s.got()
	sameCommands(t, cmds, []string{
		"EHLO", "STARTTLS", "EHLO", "AUTH PLAIN",
		"MAIL FROM:<cpra@example.com>", "RCPT TO:<ops@example.com>", "RCPT TO:<oncall@example.org>",
		"DATA", "QUIT",
	})
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m, err := mail.ReadMessage(strings.NewReader(msgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	if subj := m.Header.Get("Subject"); !strings.Contains(subj, "RED") || !strings.Contains(subj, "checkout-api") {
		t.Errorf("got Subject %q, want the code and the monitor", subj)
	}
	if _, err := m.Header.Date(); err != nil {
		t.Errorf("Date header: %v", err)
	}
	if id := m.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("got Message-ID %q", id)
	}
	if ct := m.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("got Content-Type %q", ct)
	}
	if to := m.Header.Get("To"); !strings.Contains(to, "ops@example.com") || !strings.Contains(to, "oncall@example.org") {
		t.Errorf("got To %q", to)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"checkout-api is down", "Failures: 3", "team = payments", "\r\n.\r\nlast line after a lone dot"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestEmailPlainLoopbackWithoutTLS(t *testing.T) {
	s := newSMTPServer(t, nil)
	n, err := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), withCode(redAlert(), Green)); err != nil {
		t.Fatal(err)
	}
	cmds, _ := s.got()
	sameCommands(t, cmds, []string{"EHLO", "MAIL FROM:<cpra@example.com>", "RCPT TO:<ops@example.com>", "DATA", "QUIT"})
}

func TestEmailRequireTLSWithoutStartTLS(t *testing.T) {
	s := newSMTPServer(t, nil)
	n, err := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"}, WithRequireTLS())
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(context.Background(), redAlert())
	if err == nil || Retryable(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("got %v, want a permanent error about STARTTLS", err)
	}
	cmds, msgs := s.got()
	if len(msgs) != 0 || len(cmds) != 1 {
		t.Errorf("got commands %q, want only EHLO and no message", cmds)
	}
}

func TestEmailUntrustedCertificate(t *testing.T) {
	cert, _ := testCert(t)
	s := newSMTPServer(t, func(s *smtpServer) { s.tls = &tls.Config{Certificates: []tls.Certificate{cert}} })
	n, err := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(context.Background(), redAlert())
	if err == nil || Retryable(err) {
		t.Errorf("got %v, want a permanent certificate error", err)
	}
	if _, msgs := s.got(); len(msgs) != 0 {
		t.Error("a message was sent over an unverified connection")
	}
}

func TestEmailReplies(t *testing.T) {
	tests := []struct {
		name      string
		verb      string
		reply     string
		status    int
		retryable bool
	}{
		{"mailbox busy", "RCPT", "450 4.2.1 mailbox busy", 450, true},
		{"no such user", "RCPT", "550 5.1.1 no such user", 550, false},
		{"sender refused", "MAIL", "553 5.7.1 sender refused", 553, false},
		{"queue full", "END", "452 4.3.1 insufficient storage", 452, true},
		{"service unavailable", "GREETING", "421 4.3.2 try later", 421, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSMTPServer(t, func(s *smtpServer) { s.replies[tt.verb] = tt.reply })
			n, err := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			err = n.Notify(context.Background(), redAlert())
			de := deliveryError(t, err)
			if de.Status != tt.status || de.Retryable != tt.retryable {
				t.Errorf("got %v (status %d, retryable %v), want %d %v", err, de.Status, de.Retryable, tt.status, tt.retryable)
			}
		})
	}
}

func TestEmailBadPasswordNotShown(t *testing.T) {
	cert, pool := testCert(t)
	s := newSMTPServer(t, func(s *smtpServer) {
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.user, s.pass = "alerts", "right"
	})
	n, err := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"}, WithAuth("alerts", "wr0ngPassw0rd"), WithRootCAs(pool))
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(context.Background(), redAlert())
	de := deliveryError(t, err)
	if de.Status != 535 || de.Retryable {
		t.Errorf("got %v, want a permanent 535", err)
	}
	if strings.Contains(err.Error(), "wr0ngPassw0rd") {
		t.Errorf("error %q shows the password", err)
	}
	if s := fmt.Sprintf("%v %+v %#v", n, n, n); strings.Contains(s, "wr0ngPassw0rd") {
		t.Errorf("printing the notifier shows the password: %s", s)
	}
}

func TestEmailHonoursContext(t *testing.T) {
	s := newSMTPServer(t, func(s *smtpServer) { s.greet = false })
	n, err := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = n.Notify(ctx, redAlert())
	if !errors.Is(err, context.DeadlineExceeded) || !Retryable(err) {
		t.Errorf("got %v, want a retryable deadline error", err)
	}
}

func TestEmailConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		addr string
		from string
		to   []string
		opts []Option
	}{
		{"no port", "127.0.0.1", "a@b.c", []string{"d@e.f"}, nil},
		{"bad from", "127.0.0.1:25", "not an address", []string{"d@e.f"}, nil},
		{"no recipient", "127.0.0.1:25", "a@b.c", nil, nil},
		{"bad recipient", "127.0.0.1:25", "a@b.c", []string{"d@e.f\r\nBcc: x@y.z"}, nil},
		{"http option", "127.0.0.1:25", "a@b.c", []string{"d@e.f"}, []Option{WithSecret("x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Email(tt.addr, tt.from, tt.to, tt.opts...); !errors.Is(err, ErrConfig) {
				t.Errorf("got %v, want ErrConfig", err)
			}
		})
	}
}

func TestEmailAuthOnLoopbackWithoutTLS(t *testing.T) {
	s := newSMTPServer(t, func(s *smtpServer) { s.user, s.pass = "alerts", "pw" })
	n, err := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"}, WithAuth("alerts", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), redAlert()); err != nil {
		t.Fatal(err)
	}
	cmds, _ := s.got()
	sameCommands(t, cmds, []string{"EHLO", "AUTH PLAIN", "MAIL FROM:<cpra@example.com>", "RCPT TO:<ops@example.com>", "DATA", "QUIT"})
}

func TestEmailAuthNotOffered(t *testing.T) {
	s := newSMTPServer(t, nil)
	n, err := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"}, WithAuth("alerts", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(context.Background(), redAlert())
	if err == nil || Retryable(err) || !strings.Contains(err.Error(), "AUTH") {
		t.Errorf("got %v, want a permanent error about AUTH", err)
	}
	if _, msgs := s.got(); len(msgs) != 0 {
		t.Error("a message was sent without the required authentication")
	}
}

func TestEmailFlapAndGroup(t *testing.T) {
	s := newSMTPServer(t, nil)
	n, err := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		a       Alert
		subject string
		body    []string // lines the body must have
		members int      // member lines
	}{
		{"flap start", flapStart(), "[cpra] YELLOW: checkout-api is flapping",
			[]string{"checkout-api is flapping", "Monitor:  checkout-api", "Code:     yellow",
				"Flapping: started; no other alert is sent for it until it stops", "Failures: 3"}, 0},
		{"flap end", flapEnd(Green), "[cpra] GREEN: checkout-api stopped flapping (now green)",
			[]string{"checkout-api stopped flapping (now green)", "Code:     green", "Flapping: stopped"}, 0},
		{"group of 3", groupAlert(3, Red), "[cpra] RED: 3 monitors down (zone=eu-1): api-0001, api-0002, api-0003",
			[]string{"3 monitors down (zone=eu-1)", "Group:    zone=eu-1", "Code:     red", "Monitors: 3",
				"- api-0001: failures 3, since 2025-01-02T15:04:05Z, error: dial tcp 10.0.0.0:443: connection refused",
				"- api-0003: failures 3, since 2025-01-02T15:04:07Z, error: dial tcp 10.0.0.2:443: connection refused"}, 3},
		{"group of 1000", groupAlert(1000, Red), "[cpra] RED: 1000 monitors down (zone=eu-1): " + apiNames(10) + " and 990 more",
			[]string{"1000 monitors down (zone=eu-1)", "Monitors: 1000", "- api-0100: failures 3, since 2025-01-02T15:05:44Z, error: dial tcp 10.0.0.99:443: connection refused",
				"and 900 more"}, emailMembers},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := n.Notify(context.Background(), tt.a); err != nil {
				t.Fatal(err)
			}
			_, msgs := s.got()
			if len(msgs) != i+1 {
				t.Fatalf("got %d messages, want %d", len(msgs), i+1)
			}
			raw := msgs[i]
			if len(raw) > 32<<10 {
				t.Errorf("got a %d-byte message, want one that does not grow with the group", len(raw))
			}
			m, err := mail.ReadMessage(strings.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			if err != nil || subj != tt.subject {
				t.Errorf("got Subject %q (%v), want %q", subj, err, tt.subject)
			}
			body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(body), "\r\n")
			have := map[string]bool{}
			members := 0
			for _, l := range lines {
				have[l] = true
				if strings.HasPrefix(l, "- ") {
					members++
				}
			}
			for _, want := range tt.body {
				if !have[want] {
					t.Errorf("body lacks the line %q:\n%s", want, body)
				}
			}
			if members != tt.members {
				t.Errorf("got %d member lines, want %d", members, tt.members)
			}
			if tt.a.Group != nil && (have["Failures: 3"] || strings.Contains(string(body), "Since:")) {
				t.Errorf("a group's body gives the first member's facts as the group's:\n%s", body)
			}
		})
	}
}
