package alert

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// receiver is a loopback HTTP server that records requests and answers
// with the statuses it is given, one per request (the last one repeats).
type receiver struct {
	*httptest.Server
	reqs     chan recorded
	statuses []int
	answer   string
	header   http.Header
}

type recorded struct {
	method, path string
	header       http.Header
	body         []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	if len(statuses) == 0 {
		statuses = []int{http.StatusOK}
	}
	r := &receiver{reqs: make(chan recorded, 64), statuses: statuses, header: http.Header{}}
	var n int
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.reqs <- recorded{req.Method, req.URL.RequestURI(), req.Header.Clone(), body}
		st := r.statuses[min(n, len(r.statuses)-1)]
		n++
		for k, vs := range r.header {
			w.Header()[k] = vs
		}
		w.WriteHeader(st)
		_, _ = io.WriteString(w, r.answer)
	}))
	t.Cleanup(r.Close)
	return r
}

// next returns the next recorded request, failing if there is none.
func (r *receiver) next(t *testing.T) recorded {
	t.Helper()
	select {
	case rec := <-r.reqs:
		return rec
	default:
		t.Fatal("the receiver got no request")
		return recorded{}
	}
}

func (r *receiver) none(t *testing.T) {
	t.Helper()
	select {
	case rec := <-r.reqs:
		t.Fatalf("got request %s %s %s, want none", rec.method, rec.path, rec.body)
	default:
	}
}

func TestWebhookPostsSignedPayload(t *testing.T) {
	r := newReceiver(t, http.StatusNoContent)
	n, err := Webhook(r.URL+"/hooks/cpra", WithSecret("s3cret"), WithHeader("Authorization", "Bearer tok"))
	if err != nil {
		t.Fatal(err)
	}
	a := redAlert()
	if err := n.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	rec := r.next(t)
	if rec.method != http.MethodPost || rec.path != "/hooks/cpra" {
		t.Errorf("got %s %s, want POST /hooks/cpra", rec.method, rec.path)
	}
	if got := rec.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("got Content-Type %q, want application/json", got)
	}
	if got := rec.header.Get("Authorization"); got != "Bearer tok" {
		t.Errorf("got Authorization %q, want the custom header", got)
	}
	sig := rec.header.Get(SignatureHeader)
	if !strings.HasPrefix(sig, "sha256=") || !VerifySignature("s3cret", rec.body, sig) {
		t.Errorf("signature %q does not verify over the body", sig)
	}
	var p Payload
	if err := json.Unmarshal(rec.body, &p); err != nil {
		t.Fatal(err)
	}
	if want := NewPayload(a); p.Version != 1 || p.ID != want.ID || p.Monitor != a.Monitor || p.Code != "red" ||
		p.Error != want.Error || !p.Since.Equal(a.Since) || p.Labels["env"] != "prod" {
		t.Errorf("got payload %+v, want %+v", p, want)
	}
	// A retry of the same alert carries the same id.
	if err := n.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	var again Payload
	_ = json.Unmarshal(r.next(t).body, &again)
	if again.ID != p.ID {
		t.Errorf("got id %q on retry, want %q", again.ID, p.ID)
	}
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"version":1}`)
	good := Sign("k", body)
	tests := []struct {
		name, secret, header string
		body                 []byte
		want                 bool
	}{
		{"valid", "k", good, body, true},
		{"wrong secret", "other", good, body, false},
		{"tampered body", "k", good, []byte(`{"version":2}`), false},
		{"no prefix", "k", strings.TrimPrefix(good, "sha256="), body, false},
		{"not hex", "k", "sha256=zz", body, false},
		{"empty", "k", "", body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifySignature(tt.secret, tt.body, tt.header); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWebhookTemplate(t *testing.T) {
	r := newReceiver(t)
	n, err := Webhook(r.URL, WithTemplate(`{"text": {{json (printf "%s is %s" .Monitor .Code)}}}`),
		WithHeader("Content-Type", "application/vnd.chat+json"), WithSecret("k"))
	if err != nil {
		t.Fatal(err)
	}
	a := redAlert()
	a.Monitor = `say "hi"`
	if err := n.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	rec := r.next(t)
	var got map[string]string
	if err := json.Unmarshal(rec.body, &got); err != nil {
		t.Fatalf("templated body %q is not JSON: %v", rec.body, err)
	}
	if got["text"] != `say "hi" is red` {
		t.Errorf("got text %q, want %q", got["text"], `say "hi" is red`)
	}
	if ct := rec.header.Get("Content-Type"); ct != "application/vnd.chat+json" {
		t.Errorf("got Content-Type %q, want the one set by WithHeader", ct)
	}
	if !VerifySignature("k", rec.body, rec.header.Get(SignatureHeader)) {
		t.Error("templated body is not signed")
	}
}

func TestWebhookConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts []Option
	}{
		{"bad template", "http://127.0.0.1/", []Option{WithTemplate("{{.Nope")}},
		{"relative URL", "/hooks/x", nil},
		{"wrong scheme", "ftp://127.0.0.1/x", nil},
		{"option for another notifier", "http://127.0.0.1/", []Option{WithEndpoint("http://127.0.0.1/")}},
		{"bad header", "http://127.0.0.1/", []Option{WithHeader("Bad Header", "v")}},
		{"header injection", "http://127.0.0.1/", []Option{WithHeader("X-A", "v\r\nX-B: w")}},
		{"empty secret", "http://127.0.0.1/", []Option{WithSecret("")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Webhook(tt.url, tt.opts...)
			if !errors.Is(err, ErrConfig) {
				t.Errorf("got %v, want ErrConfig", err)
			}
		})
	}
}

func TestWebhookStatuses(t *testing.T) {
	tests := []struct {
		status     int
		wantErr    bool
		retryable  bool
		retryAfter string
		wantAfter  time.Duration
	}{
		{http.StatusOK, false, false, "", 0},
		{http.StatusAccepted, false, false, "", 0},
		{http.StatusMovedPermanently, true, false, "", 0},
		{http.StatusBadRequest, true, false, "", 0},
		{http.StatusUnauthorized, true, false, "", 0},
		{http.StatusNotFound, true, false, "", 0},
		{http.StatusRequestTimeout, true, true, "", 0},
		{http.StatusTooManyRequests, true, true, "7", 7 * time.Second},
		{http.StatusInternalServerError, true, true, "", 0},
		{http.StatusServiceUnavailable, true, true, "120", 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			r := newReceiver(t, tt.status)
			r.answer = "answer from receiver"
			if tt.retryAfter != "" {
				r.header.Set("Retry-After", tt.retryAfter)
			}
			if tt.status == http.StatusMovedPermanently {
				r.header.Set("Location", "/elsewhere")
			}
			n, err := Webhook(r.URL)
			if err != nil {
				t.Fatal(err)
			}
			err = n.Notify(context.Background(), redAlert())
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			de := deliveryError(t, err)
			if de.Status != tt.status || de.Retryable != tt.retryable || Retryable(err) != tt.retryable {
				t.Errorf("got status %d retryable %v, want %d %v", de.Status, de.Retryable, tt.status, tt.retryable)
			}
			if de.RetryAfter != tt.wantAfter {
				t.Errorf("got RetryAfter %v, want %v", de.RetryAfter, tt.wantAfter)
			}
			if msg := err.Error(); !strings.Contains(msg, http.StatusText(tt.status)) || !strings.Contains(msg, "answer from receiver") {
				t.Errorf("error %q does not name the status and the answer", msg)
			}
			if len(r.reqs) != 1 {
				t.Errorf("got %d requests, want 1 (no redirect followed)", len(r.reqs))
			}
		})
	}
}

func TestWebhookVerifiesTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is expected
	srv.StartTLS()
	defer srv.Close()

	n, err := Webhook(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(context.Background(), redAlert())
	if err == nil {
		t.Fatal("got nil error from a server with an untrusted certificate")
	}
	if Retryable(err) {
		t.Errorf("certificate failure %v is retryable, want permanent", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	n, err = Webhook(srv.URL, WithRootCAs(pool))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), redAlert()); err != nil {
		t.Errorf("with the server's CA: got %v, want nil", err)
	}
	n, err = Webhook(srv.URL, WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), redAlert()); err != nil {
		t.Errorf("with the server's client: got %v, want nil", err)
	}
}

func TestWebhookHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	n, err := Webhook(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = n.Notify(ctx, redAlert())
	if !errors.Is(err, context.DeadlineExceeded) || !Retryable(err) {
		t.Errorf("got %v, want a retryable deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Notify took %v after its deadline", d)
	}
}

func TestWebhookConnectionRefusedIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	n, err := Webhook(url + "/x?token=abc")
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(context.Background(), redAlert())
	if de := deliveryError(t, err); !de.Retryable || de.Status != 0 {
		t.Errorf("got %v, want a retryable error without status", err)
	}
}

func TestWebhookFlapAndGroupPayload(t *testing.T) {
	r := newReceiver(t)
	n, err := Webhook(r.URL, WithSecret("k"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		a       Alert
		flap    string
		members int
	}{
		{flapStart(), "flap-start", 0},
		{flapEnd(Red), "flap-end", 0},
		{groupAlert(3, Red), "", 3},
		{groupAlert(1000, Red), "", 1000},
	}
	for _, tt := range tests {
		if err := n.Notify(context.Background(), tt.a); err != nil {
			t.Fatal(err)
		}
		rec := r.next(t)
		if !VerifySignature("k", rec.body, rec.header.Get(SignatureHeader)) {
			t.Errorf("%s: body not signed", headline(tt.a))
		}
		var p Payload
		if err := json.Unmarshal(rec.body, &p); err != nil {
			t.Fatal(err)
		}
		if want := NewPayload(tt.a); p.ID != want.ID || p.Flap != tt.flap || len(p.Members) != tt.members || p.Monitor != tt.a.Monitor {
			t.Errorf("%s: got id %q flap %q, %d members; want %q %q %d", headline(tt.a), p.ID, p.Flap, len(p.Members), want.ID, tt.flap, tt.members)
		}
		if tt.members > 0 && p.Members[tt.members-1].Monitor != tt.a.Group[tt.members-1].Monitor {
			t.Errorf("got last member %q, want %q", p.Members[tt.members-1].Monitor, tt.a.Group[tt.members-1].Monitor)
		}
	}
}

func TestWebhookTemplateFlapAndGroup(t *testing.T) {
	r := newReceiver(t)
	n, err := Webhook(r.URL, WithTemplate(`{"text": {{json .Headline}}, "flap": {{json .Flap}}, "monitors": {{len .Members}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		a        Alert
		text     string
		flap     string
		monitors int
	}{
		{flapStart(), "checkout-api is flapping", "flap-start", 0},
		{flapEnd(Green), "checkout-api stopped flapping (now green)", "flap-end", 0},
		{groupAlert(3, Red), "3 monitors down (zone=eu-1): api-0001, api-0002, api-0003", "", 3},
		{groupAlert(1000, Red), "1000 monitors down (zone=eu-1): " + apiNames(10) + " and 990 more", "", 1000},
	}
	for _, tt := range tests {
		if err := n.Notify(context.Background(), tt.a); err != nil {
			t.Fatal(err)
		}
		rec := r.next(t)
		var got struct {
			Text     string `json:"text"`
			Flap     string `json:"flap"`
			Monitors int    `json:"monitors"`
		}
		if err := json.Unmarshal(rec.body, &got); err != nil {
			t.Fatalf("templated body %q is not JSON: %v", rec.body, err)
		}
		if got.Text != tt.text || got.Flap != tt.flap || got.Monitors != tt.monitors {
			t.Errorf("got %+v, want text %q flap %q monitors %d", got, tt.text, tt.flap, tt.monitors)
		}
	}
}
