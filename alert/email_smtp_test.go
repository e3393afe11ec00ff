package alert

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// These tests talk to a real SMTP server implementation
// (github.com/emersion/go-smtp) started on loopback.

func TestEmailPerRecipientDelivery(t *testing.T) {
	tests := []struct {
		name      string
		reply     int
		retryable bool
	}{
		{"permanent refusal", 550, false},
		{"temporary refusal", 450, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startMailServer(t, withReject("reject@example.com", tt.reply, "No such user here"))
			n, err := Email(s.addr(), "cpra@example.com", []string{"reject@example.com", "ok@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			err = n.Notify(context.Background(), redAlert())
			de := deliveryError(t, err)
			if de.Retryable != tt.retryable || Retryable(err) != tt.retryable {
				t.Errorf("got retryable %v, want %v (%v)", de.Retryable, tt.retryable, err)
			}
			if de.Status != tt.reply {
				t.Errorf("got status %d, want %d", de.Status, tt.reply)
			}
			var re *RecipientError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a *RecipientError inside", err)
			}
			if re.Delivered != 1 || re.Of != 2 || len(re.Rejected) != 1 || re.Rejected[0].Address != "reject@example.com" ||
				re.Rejected[0].Status != tt.reply || re.Rejected[0].Retryable != tt.retryable {
				t.Errorf("got %+v, want 1 of 2 delivered and reject@example.com refused with %d", *re, tt.reply)
			}
			for _, want := range []string{"reject@example.com", "No such user here", "delivered to 1 of 2"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			mails, _, _ := s.got()
			if len(mails) != 1 || strings.Join(mails[0].to, ",") != "ok@example.com" {
				t.Fatalf("server got %+v, want one message, for ok@", mails)
			}
		})
	}
}

// A retry of an alert that some recipients refused for now goes to them
// alone; those who got it do not get it twice.
func TestEmailRetryGoesOnlyToRefused(t *testing.T) {
	s := startMailServer(t, withReject("busy@example.com", 452, "Mailbox full, try later"))
	n, err := Email(s.addr(), "cpra@example.com", []string{"ok@example.com", "busy@example.com", "gone@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	s.reject("gone@example.com", 550, "User unknown")
	a := redAlert()
	if err := n.Notify(context.Background(), a); !Retryable(err) {
		t.Fatalf("first try: got %v, want a retryable error", err)
	}
	s.reject("busy@example.com", 0, "")
	if err := n.Notify(context.Background(), a); err != nil {
		t.Fatalf("retry: got %v, want nil", err)
	}
	mails, _, _ := s.got()
	if len(mails) != 2 {
		t.Fatalf("got %d messages, want 2", len(mails))
	}
	if got := strings.Join(mails[0].to, ","); got != "ok@example.com" {
		t.Errorf("first message to %s, want ok@example.com", got)
	}
	if got := strings.Join(mails[1].to, ","); got != "busy@example.com" {
		t.Errorf("retry to %s, want busy@example.com alone", got)
	}
	// A different alert goes to everyone again.
	if err := n.Notify(context.Background(), withCode(a, Green)); Retryable(err) || err == nil {
		t.Errorf("next alert: got %v, want the permanent refusal of gone@", err)
	}
	if mails, _, _ := s.got(); len(mails) != 3 || strings.Join(mails[2].to, ",") != "ok@example.com,busy@example.com" {
		t.Errorf("next alert went to %v, want ok@ and busy@", mails[len(mails)-1].to)
	}
}

func TestEmailAllRecipientsRefused(t *testing.T) {
	s := startMailServer(t, withReject("a@example.com", 451, "Greylisted"), withReject("b@example.com", 550, "Unknown"))
	n, err := Email(s.addr(), "cpra@example.com", []string{"a@example.com", "b@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(context.Background(), redAlert())
	if !Retryable(err) {
		t.Errorf("got %v, want retryable (a@ was refused for now)", err)
	}
	if mails, _, _ := s.got(); len(mails) != 0 {
		t.Errorf("got %d messages, want none", len(mails))
	}
	// All were refused: the retry is for both.
	s.reject("a@example.com", 0, "")
	err = n.Notify(context.Background(), redAlert())
	if Retryable(err) || err == nil {
		t.Errorf("retry: got %v, want b@'s permanent refusal", err)
	}
	if mails, _, _ := s.got(); len(mails) != 1 || strings.Join(mails[0].to, ",") != "a@example.com" {
		t.Errorf("got %+v, want one message for a@", mails)
	}
}

func TestEmailAuthMechanisms(t *testing.T) {
	tests := []struct {
		name    string
		offered []string
		used    string
	}{
		{"plain only", []string{"PLAIN"}, "PLAIN"},
		{"login only", []string{"LOGIN"}, "LOGIN"},
		{"cram-md5 only", []string{"CRAM-MD5"}, "CRAM-MD5"},
		{"plain preferred", []string{"CRAM-MD5", "LOGIN", "PLAIN"}, "PLAIN"},
		{"login over cram-md5", []string{"CRAM-MD5", "LOGIN"}, "LOGIN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startMailServer(t, withAuthMechs("alerts", "s3cret-pw", tt.offered...))
			n, err := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"}, WithAuth("alerts", "s3cret-pw"))
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Notify(context.Background(), redAlert()); err != nil {
				t.Fatal(err)
			}
			mails, _, auths := s.got()
			if len(auths) != 1 || auths[0] != tt.used {
				t.Errorf("authenticated with %v, want %s", auths, tt.used)
			}
			if len(mails) != 1 {
				t.Errorf("got %d messages, want 1", len(mails))
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		for _, mech := range []string{"PLAIN", "LOGIN", "CRAM-MD5"} {
			s := startMailServer(t, withAuthMechs("alerts", "right", mech))
			n, _ := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"}, WithAuth("alerts", "wrong"))
			err := n.Notify(context.Background(), redAlert())
			de := deliveryError(t, err)
			if de.Status != 535 || de.Retryable || !strings.Contains(err.Error(), "AUTH "+mech) {
				t.Errorf("%s: got %v, want a permanent 535 naming AUTH %s", mech, err, mech)
			}
		}
	})
	t.Run("no mechanism in common", func(t *testing.T) {
		s := startMailServer(t, withAuthMechs("alerts", "pw", "XOAUTH2"))
		n, _ := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"}, WithAuth("alerts", "pw"))
		err := n.Notify(context.Background(), redAlert())
		if err == nil || Retryable(err) || !strings.Contains(err.Error(), "XOAUTH2") || !strings.Contains(err.Error(), "LOGIN") {
			t.Errorf("got %v, want a permanent error naming what the server offers and what we speak", err)
		}
	})
}

func TestEmailSMTPUTF8(t *testing.T) {
	to := []string{"Jörg Ä <jörg@bücher.example>", "ops@example.com"}
	t.Run("offered", func(t *testing.T) {
		s := startMailServer(t, withSMTPUTF8())
		n, err := Email(s.addr(), "Überwachung <alarm@überwachung.example>", to)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Notify(context.Background(), redAlert()); err != nil {
			t.Fatal(err)
		}
		mails, _, _ := s.got()
		if len(mails) != 1 {
			t.Fatalf("got %d messages, want 1", len(mails))
		}
		m := mails[0]
		if !m.utf8 || m.from != "alarm@überwachung.example" || strings.Join(m.to, ",") != "jörg@bücher.example,ops@example.com" {
			t.Errorf("got MAIL %q (SMTPUTF8 %v) RCPT %q, want the UTF-8 addresses with SMTPUTF8", m.from, m.utf8, m.to)
		}
		msg, err := mail.ReadMessage(strings.NewReader(m.data))
		if err != nil {
			t.Fatal(err)
		}
		list, err := msg.Header.AddressList("To")
		if err != nil || len(list) != 2 || list[0].Address != "jörg@bücher.example" || list[0].Name != "Jörg Ä" {
			t.Errorf("To header %q parses as %v (%v)", msg.Header.Get("To"), list, err)
		}
	})
	t.Run("not offered", func(t *testing.T) {
		s := startMailServer(t)
		n, err := Email(s.addr(), "cpra@example.com", to)
		if err != nil {
			t.Fatal(err)
		}
		err = n.Notify(context.Background(), redAlert())
		var re *RecipientError
		if !errors.As(err, &re) || Retryable(err) {
			t.Fatalf("got %v, want a permanent *RecipientError", err)
		}
		if len(re.Rejected) != 1 || re.Rejected[0].Address != "jörg@bücher.example" || re.Rejected[0].Status != 0 ||
			!strings.Contains(re.Rejected[0].Reason, "SMTPUTF8") {
			t.Errorf("got %+v, want jörg@ refused for want of SMTPUTF8", re.Rejected)
		}
		mails, rcpts, _ := s.got()
		for _, r := range rcpts {
			if !isASCII(r) {
				t.Errorf("RCPT %q was sent raw to a server without SMTPUTF8", r)
			}
		}
		if len(mails) != 1 || mails[0].utf8 || strings.Join(mails[0].to, ",") != "ops@example.com" {
			t.Fatalf("got %+v, want one message to ops@ without SMTPUTF8", mails)
		}
		if !isASCII(mails[0].data) {
			t.Errorf("the message is not ASCII:\n%s", mails[0].data)
		}
	})
	t.Run("sender not offered", func(t *testing.T) {
		s := startMailServer(t)
		n, err := Email(s.addr(), "alarm@überwachung.example", []string{"ops@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		err = n.Notify(context.Background(), redAlert())
		if err == nil || Retryable(err) || !strings.Contains(err.Error(), "SMTPUTF8") {
			t.Errorf("got %v, want a permanent error about SMTPUTF8", err)
		}
		if mails, rcpts, _ := s.got(); len(mails)+len(rcpts) != 0 {
			t.Errorf("the server got %v %v, want nothing", mails, rcpts)
		}
	})
}

var encodedWord = regexp.MustCompile(`=\?[^?]+\?[qQbB]\?[^?]*\?=`)

// TestEmailHeadersFolded sends subjects and names of every kind and checks
// the message's header lines, as the server got them, against RFC 2047 and
// 5322: encoded words of at most 75 characters, lines of at most 76 (78
// for lines without encoded words), and a Subject that decodes to the
// headline.
func TestEmailHeadersFolded(t *testing.T) {
	long := strings.Repeat("ÜberwachungsdienstÄÖÜ-", 12)
	tests := []struct {
		name    string
		monitor string
	}{
		{"short ascii", "checkout-api"},
		{"long ascii words", strings.Repeat("checkout api ", 20)},
		{"one long ascii word", strings.Repeat("checkout-api-", 20)},
		{"long german", long},
		{"japanese", strings.Repeat("決済サービスの監視", 12)},
		{"emoji", strings.Repeat("🔥💳👨‍👩‍👧 ", 15)},
		{"looks encoded", "=?utf-8?q?not_really?= api"},
		{"controls", "a\r\nBcc: evil@example.com\tb"},
	}
	s := startMailServer(t)
	n, err := Email(s.addr(), "Überwachung der Zahlungsdienste und der Kassensysteme <alarm@example.com>",
		[]string{`"Bereitschaftsdienst für Zahlungen und Kassensysteme, Tag und Nacht" <oncall@example.com>`,
			"ops@example.com", "Plain Person <p@example.com>", `"Quoted, Name" <q@example.com>`})
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := redAlert()
			a.Monitor = tt.monitor
			if err := n.Notify(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			mails, _, _ := s.got()
			raw := mails[i].data
			head, _, _ := strings.Cut(raw, "\r\n\r\n")
			for _, line := range strings.Split(head, "\r\n") {
				limit := 78
				if encodedWord.MatchString(line) {
					limit = 76
				}
				if len(line) > limit {
					t.Errorf("header line of %d characters (limit %d): %q", len(line), limit, line)
				}
				for _, w := range encodedWord.FindAllString(line, -1) {
					if len(w) > 75 {
						t.Errorf("encoded word of %d characters: %q", len(w), w)
					}
				}
				if strings.HasPrefix(strings.ToLower(line), "bcc:") {
					t.Errorf("a control character in the monitor's name made a header line: %q", line)
				}
			}
			m, err := mail.ReadMessage(strings.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			if err != nil {
				t.Fatalf("Subject %q: %v", m.Header.Get("Subject"), err)
			}
			want := emailSubject(a)
			if subj != want || !strings.HasPrefix(subj, "[cpra] RED: ") {
				t.Errorf("Subject decodes to\n  %q\nwant\n  %q", subj, want)
			}
			if !utf8.ValidString(subj) || len(subj) > maxSubject {
				t.Errorf("Subject %q: invalid UTF-8 or longer than %d bytes", subj, maxSubject)
			}
			from, err := m.Header.AddressList("From")
			if err != nil || from[0].Name != "Überwachung der Zahlungsdienste und der Kassensysteme" {
				t.Errorf("From %q parses as %v, %v", m.Header.Get("From"), from, err)
			}
			to, err := m.Header.AddressList("To")
			if err != nil || len(to) != 4 || to[0].Name != "Bereitschaftsdienst für Zahlungen und Kassensysteme, Tag und Nacht" ||
				to[3].Name != "Quoted, Name" || to[3].Address != "q@example.com" {
				t.Errorf("To %q parses as %v, %v", m.Header.Get("To"), to, err)
			}
			body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
			if err != nil || !strings.Contains(string(body), "Failures: 3") {
				t.Errorf("body %q, %v", body, err)
			}
		})
	}
}
