package intervene

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type request struct {
	method, path string
	header       http.Header
	body         []byte
}

func server(t *testing.T, status int) (*httptest.Server, chan request) {
	t.Helper()
	reqs := make(chan request, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reqs <- request{r.Method, r.URL.RequestURI(), r.Header.Clone(), body}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "answer from orchestrator")
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

func TestHTTPPostsIncident(t *testing.T) {
	srv, reqs := server(t, http.StatusAccepted)
	r, err := HTTP("post", srv.URL+"/v1/restart?service=api", WithHeader("Authorization", "Bearer s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Remediate(context.Background(), incident()); err != nil {
		t.Fatal(err)
	}
	req := <-reqs
	if req.method != http.MethodPost || req.path != "/v1/restart?service=api" {
		t.Errorf("got %s %s", req.method, req.path)
	}
	if req.header.Get("Authorization") != "Bearer s3cret" || req.header.Get("Content-Type") != "application/json" {
		t.Errorf("got headers %v", req.header)
	}
	var p Payload
	if err := json.Unmarshal(req.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 || p.Monitor != "checkout-api" || p.Attempt != 2 || p.Failures != 4 ||
		!p.Since.Equal(since) || !strings.Contains(p.Error, "connection refused") || p.Labels["Zone"] != "eu-1" {
		t.Errorf("got payload %+v", p)
	}
}

func TestHTTPGetHasNoBody(t *testing.T) {
	srv, reqs := server(t, http.StatusOK)
	r, err := HTTP(http.MethodGet, srv.URL+"/heal")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Remediate(context.Background(), incident()); err != nil {
		t.Fatal(err)
	}
	if req := <-reqs; len(req.body) != 0 || req.method != http.MethodGet {
		t.Errorf("got %s with body %q, want GET without body", req.method, req.body)
	}
}

func TestHTTPStatuses(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		expect  []int
		wantErr bool
	}{
		{"2xx by default", http.StatusNoContent, nil, false},
		{"server error", http.StatusInternalServerError, nil, true},
		{"redirect not followed", http.StatusFound, nil, true},
		{"expected status", http.StatusAccepted, []int{http.StatusAccepted}, false},
		{"2xx but not the expected one", http.StatusOK, []int{http.StatusAccepted}, true},
		{"expected non-2xx", http.StatusConflict, []int{http.StatusOK, http.StatusConflict}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := server(t, tt.status)
			var opts []Option
			if tt.expect != nil {
				opts = append(opts, WithExpectStatus(tt.expect...))
			}
			r, err := HTTP(http.MethodPost, srv.URL+"/x", opts...)
			if err != nil {
				t.Fatal(err)
			}
			err = r.Remediate(context.Background(), incident())
			if !tt.wantErr {
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Status != tt.status || se.Message != "answer from orchestrator" {
				t.Errorf("got %v, want a *StatusError with status %d and the answer", err, tt.status)
			}
		})
	}
}

func TestHTTPVerifiesTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	r, err := HTTP(http.MethodPost, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Remediate(context.Background(), incident()); err == nil {
		t.Error("got nil error from a server with an untrusted certificate")
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	r, err = HTTP(http.MethodPost, srv.URL, WithRootCAs(pool))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Remediate(context.Background(), incident()); err != nil {
		t.Errorf("with the server's CA: got %v", err)
	}
}

func TestHTTPErrorsHideURLAndHeaders(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	r, err := HTTP(http.MethodPost, u+"/hook/T0KEN?key=T0KEN", WithHeader("X-Api-Key", "T0KEN"))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Remediate(context.Background(), incident())
	if err == nil || strings.Contains(err.Error(), "T0KEN") {
		t.Errorf("got %v, want an error without the token", err)
	}
	if s := r.String(); strings.Contains(s, "T0KEN") {
		t.Errorf("String shows the token: %s", s)
	}
}

func TestHTTPHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	r, err := HTTP(http.MethodPost, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Remediate(ctx, incident()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the deadline error", err)
	}
}

func TestHTTPConfigErrors(t *testing.T) {
	for name, fn := range map[string]func() error{
		"relative URL":  func() error { _, err := HTTP("POST", "/x"); return err },
		"bad method":    func() error { _, err := HTTP("PO ST", "http://127.0.0.1/"); return err },
		"bad status":    func() error { _, err := HTTP("POST", "http://127.0.0.1/", WithExpectStatus(42)); return err },
		"exec option":   func() error { _, err := HTTP("POST", "http://127.0.0.1/", WithDir("/")); return err },
		"header inject": func() error { _, err := HTTP("POST", "http://127.0.0.1/", WithHeader("A", "b\r\nC: d")); return err },
	} {
		if err := fn(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}

// TestHTTPEchoedSecretsScrubbed: a server that quotes the whole request
// back (path, query, headers, credentials) in its error answer; the
// StatusError and the printed remediator hold none of the secrets.
func TestHTTPEchoedSecretsScrubbed(t *testing.T) {
	const pathTok, queryTok, hdrTok, userTok = "PathT0kenXYZ", "QueryT0kenXYZ", "HeaderT0kenXYZ", "UserPassXYZ"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%s %s %s %v %s:%s", r.Method, r.RequestURI, r.URL.Path, r.Header, u, p)
	}))
	defer srv.Close()
	raw := strings.Replace(srv.URL, "http://", "http://ops:"+userTok+"@", 1) + "/restart/" + pathTok + "?key=" + queryTok
	r, err := HTTP(http.MethodPost, raw, WithHeader("X-Api-Key", hdrTok))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Remediate(context.Background(), incident())
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusInternalServerError {
		t.Fatalf("got %v, want a *StatusError with status 500", err)
	}
	if !strings.Contains(se.Message, "[redacted]") || !strings.Contains(se.Message, "POST") {
		t.Errorf("got message %q, want the answer with the secrets masked", se.Message)
	}
	printed := fmt.Sprintf("%v %+v %#v %s %v %+v %#v", err, err, err, r, r, *r, *r)
	for _, s := range []string{pathTok, queryTok, hdrTok, userTok} {
		if strings.Contains(printed, s) {
			t.Errorf("%q shows up: %s", s, printed)
		}
	}
	if want := "intervene.HTTP(POST " + srv.URL + ")"; fmt.Sprintf("%#v", *r) != want {
		t.Errorf("%%#v of the struct = %q, want %q", fmt.Sprintf("%#v", *r), want)
	}
}
