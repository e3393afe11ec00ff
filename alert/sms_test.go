package alert

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "tw1l10t0kenSECRET"
)

func TestSMSPostsTwilioForm(t *testing.T) {
	r := newReceiver(t, http.StatusCreated)
	r.answer = `{"sid":"SM1","status":"queued"}`
	n, err := SMS(twilioSID, twilioToken, "+15550001111", []string{"+15552223333", "+15554445555"}, WithEndpoint(r.URL))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), redAlert()); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"+15552223333", "+15554445555"} {
		rec := r.next(t)
		if want := "/2010-04-01/Accounts/" + twilioSID + "/Messages.json"; rec.method != http.MethodPost || rec.path != want {
			t.Errorf("got %s %s, want POST %s", rec.method, rec.path, want)
		}
		if ct := rec.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("got Content-Type %q", ct)
		}
		req := &http.Request{Header: rec.header}
		user, pass, ok := req.BasicAuth()
		if !ok || user != twilioSID || pass != twilioToken {
			t.Errorf("got basic auth %q %q %v, want the SID and token", user, pass, ok)
		}
		form, err := url.ParseQuery(string(rec.body))
		if err != nil {
			t.Fatal(err)
		}
		if form.Get("To") != to || form.Get("From") != "+15550001111" {
			t.Errorf("got To %q From %q, want %s from +15550001111", form.Get("To"), form.Get("From"), to)
		}
		if b := form.Get("Body"); !strings.Contains(b, "RED") || !strings.Contains(b, "checkout-api") || !strings.Contains(b, "connection refused") {
			t.Errorf("got Body %q", b)
		}
	}
}

func TestSMSErrors(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int
		retryable bool
	}{
		{"bad credentials", []int{http.StatusUnauthorized}, false},
		{"invalid number then ok", []int{http.StatusBadRequest, http.StatusCreated}, false},
		{"rate limited", []int{http.StatusTooManyRequests}, true},
		{"server error", []int{http.StatusInternalServerError}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, tt.statuses...)
			basic := base64.StdEncoding.EncodeToString([]byte(twilioSID + ":" + twilioToken))
			r.answer = `{"code":20003,"message":"Authenticate ` + twilioToken + ` ` + basic + `","status":401}`
			n, err := SMS(twilioSID, twilioToken, "+15550001111", []string{"+15552223333", "+15554445555"}, WithEndpoint(r.URL))
			if err != nil {
				t.Fatal(err)
			}
			err = n.Notify(context.Background(), redAlert())
			if err == nil {
				t.Fatal("got nil error")
			}
			if Retryable(err) != tt.retryable {
				t.Errorf("got retryable %v for %v, want %v", Retryable(err), err, tt.retryable)
			}
			if !strings.Contains(err.Error(), "+15552223333") {
				t.Errorf("error %q does not name the recipient", err)
			}
			if strings.Contains(err.Error(), twilioToken) || strings.Contains(err.Error(), basic) {
				t.Errorf("error %q shows the token", err)
			}
			if len(r.reqs) != 2 {
				t.Errorf("got %d requests, want one per recipient even after a failure", len(r.reqs))
			}
		})
	}
}

func TestSMSTextBounded(t *testing.T) {
	a := redAlert()
	a.Err = textError(strings.Repeat("é long error\n", 100))
	s := smsText(a)
	if n := utf8.RuneCountInString(s); n > maxSMS {
		t.Errorf("got %d characters, want at most %d", n, maxSMS)
	}
	if strings.Contains(s, "\n") || !utf8.ValidString(s) {
		t.Errorf("got %q, want one valid line", s)
	}
}

func TestSMSConfigErrors(t *testing.T) {
	if _, err := SMS("", "t", "+1", []string{"+2"}); err == nil {
		t.Error("empty SID accepted")
	}
	if _, err := SMS("AC", "t", "+1", nil); err == nil {
		t.Error("no recipient accepted")
	}
	if _, err := SMS("AC", "t", "+1", []string{"+2"}, WithEndpoint("not a url")); err == nil {
		t.Error("bad endpoint accepted")
	}
}

func TestSMSFlapAndGroup(t *testing.T) {
	r := newReceiver(t, http.StatusCreated)
	n, err := SMS(twilioSID, twilioToken, "+15550001111", []string{"+15552223333"}, WithEndpoint(r.URL))
	if err != nil {
		t.Fatal(err)
	}
	long := groupAlert(1000, Red)
	for i := range long.Group {
		long.Group[i].Monitor = "payments-checkout-service-" + long.Group[i].Monitor
	}
	tests := []struct {
		name string
		a    Alert
		want string
	}{
		{"flap start", flapStart(), "[cpra] YELLOW: checkout-api is flapping: dial tcp 10.0.0.7:443: connection refused"},
		{"flap end", flapEnd(Green), "[cpra] GREEN: checkout-api stopped flapping (now green)"},
		{"flap end red", flapEnd(Red), "[cpra] RED: checkout-api stopped flapping (now red): dial tcp 10.0.0.7:443: connection refused"},
		{"group of 3", groupAlert(3, Red), "[cpra] RED: 3 monitors down (zone=eu-1): api-0001, api-0002, api-0003"},
		{"group of 1000", groupAlert(1000, Red), "[cpra] RED: 1000 monitors down (zone=eu-1): " + apiNames(10) + " and 990 more"},
		{"group of 1000, long names", long, "[cpra] RED: 1000 monitors down (zone=eu-1): payments-checkout-service-api-0001, " +
			"payments-checkout-service-api-0002, payments-checkout-service-api-0003, payments-checkout-service-api-0004, " +
			"payments-checkout-service-api-0005, payments-checkout-service-api-0006 and 994 more"}, // a seventh would make 307
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := n.Notify(context.Background(), tt.a); err != nil {
				t.Fatal(err)
			}
			form, err := url.ParseQuery(string(r.next(t).body))
			if err != nil {
				t.Fatal(err)
			}
			body := form.Get("Body")
			if body != tt.want {
				t.Errorf("got Body\n  %q\nwant\n  %q", body, tt.want)
			}
			if c := utf8.RuneCountInString(body); c > maxSMS {
				t.Errorf("got %d characters, want at most %d", c, maxSMS)
			}
			for _, r := range body {
				if r >= 0x7f {
					t.Errorf("got %q, want plain ASCII (one GSM segment holds 160 of it)", r)
					break
				}
			}
		})
	}
}
