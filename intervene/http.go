package intervene

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ziad/cpra/internal/redact"
)

// PayloadVersion is the version of the [Payload] schema.
const PayloadVersion = 1

// Payload is the JSON body [HTTP] sends, describing the incident.
//
// Schema, version 1:
//
//	{
//	  "version":  1,                      // PayloadVersion
//	  "monitor":  "checkout-api",         // Incident.Monitor
//	  "attempt":  1,                      // Incident.Attempt
//	  "error":    "connection refused",   // Incident.Err; absent when nil
//	  "since":    "2025-01-02T15:04:05Z", // Incident.Since, UTC; absent when unknown
//	  "failures": 3,                      // Incident.Failures
//	  "labels":   {"team": "payments"}    // Incident.Labels; absent when empty
//	}
type Payload struct {
	Version  int               `json:"version"`
	Monitor  string            `json:"monitor"`
	Attempt  int               `json:"attempt"`
	Error    string            `json:"error,omitempty"`
	Since    time.Time         `json:"since,omitzero"`
	Failures int               `json:"failures"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// NewPayload returns the JSON form of inc.
func NewPayload(inc Incident) Payload {
	p := Payload{Version: PayloadVersion, Monitor: inc.Monitor, Attempt: inc.Attempt, Failures: inc.Failures, Labels: inc.Labels}
	if inc.Err != nil {
		p.Error = inc.Err.Error()
	}
	if !inc.Since.IsZero() {
		p.Since = inc.Since.UTC()
	}
	return p
}

// StatusError reports an HTTP answer ([HTTP], [DockerRestart]) whose status
// does not mean success.
type StatusError struct {
	// Endpoint is the server, without the URL's path or query.
	Endpoint string
	// Status is the HTTP status.
	Status int
	// Message is the start of the server's answer (for Docker, its
	// "message").
	Message string
	// Err is a sentinel for a status with a known meaning, such as
	// [ErrNoSuchContainer], or nil.
	Err error
}

// Error names the endpoint, the status and the server's message.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("intervene: %s: status %d %s", e.Endpoint, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + strconv.Quote(e.Message)
	}
	return s
}

// Unwrap returns the sentinel, if any.
func (e *StatusError) Unwrap() error { return e.Err }

// HTTPRemediator calls a webhook or an orchestration API. Create it with
// [HTTP].
type HTTPRemediator struct {
	method  string
	url     string
	display string
	client  *http.Client
	cfg     *config
	secrets *redact.Secrets
}

// HTTP returns a remediator that sends one request to rawURL per attempt:
// for a method other than GET and HEAD, with the incident's [Payload] as a
// JSON body. Headers come from [WithHeader]. Success is a 2xx status, or
// one listed by [WithExpectStatus]; another status is a [*StatusError]. The
// server's certificate is verified against the system roots or those of
// [WithRootCAs]. Redirects are not followed.
//
// The URL's user information, path and query and the header values never
// appear in errors or when the remediator is printed: an error names the
// server by scheme and host, and the server's answer (quoted in a
// [*StatusError]) and transport errors are scrubbed of every secret the
// remediator holds, in any of its escaped or base64 forms, so a server
// that echoes the request back reveals nothing.
//
// Options: [WithHeader], [WithExpectStatus], [WithHTTPClient], [WithRootCAs].
func HTTP(method, rawURL string, opts ...Option) (*HTTPRemediator, error) {
	if method == "" || strings.ContainsAny(method, " \t\r\n") {
		return nil, errorf("HTTP: invalid method %q", method)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errorf("HTTP: the URL must be an absolute http or https URL")
	}
	cfg, err := newConfig(kindHTTP, opts)
	if err != nil {
		return nil, err
	}
	client := cfg.client
	if client == nil {
		client = &http.Client{CheckRedirect: noRedirect}
		if cfg.rootCAs != nil {
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.TLSClientConfig = &tls.Config{RootCAs: cfg.rootCAs, MinVersion: tls.VersionTLS12}
			client.Transport = t
		}
	}
	sec := &redact.Secrets{}
	sec.AddURL(rawURL)
	for _, vs := range cfg.header {
		for _, v := range vs {
			sec.AddHeader(v)
		}
	}
	return &HTTPRemediator{method: strings.ToUpper(method), url: rawURL, display: u.Scheme + "://" + u.Host,
		client: client, cfg: cfg, secrets: sec}, nil
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Remediate sends the request for inc. It honours ctx.
func (h *HTTPRemediator) Remediate(ctx context.Context, inc Incident) error {
	var body io.Reader
	withBody := h.method != http.MethodGet && h.method != http.MethodHead
	if withBody {
		b, err := json.Marshal(NewPayload(inc))
		if err != nil {
			return fmt.Errorf("intervene: %s: %w", h.display, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, h.method, h.url, body)
	if err != nil {
		return fmt.Errorf("intervene: %s %s: invalid request", h.method, h.display)
	}
	if withBody {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "cpra-intervene/1")
	for k, vs := range h.cfg.header {
		req.Header[k] = vs
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("intervene: %s %s: %w", h.method, h.display, h.secrets.Error(unwrapURLError(err)))
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if len(h.cfg.expect) > 0 {
		ok = slices.Contains(h.cfg.expect, resp.StatusCode)
	}
	if ok {
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		resp.Body.Close()
		return nil
	}
	return &StatusError{Endpoint: h.method + " " + h.display, Status: resp.StatusCode, Message: h.answer(resp)}
}

// maxAnswer bounds the server's answer quoted in a StatusError.
const maxAnswer = 512

// answer reads the start of a failed response's body, closes it, and
// returns it scrubbed of the remediator's secrets and cut for an error.
func (h *HTTPRemediator) answer(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	s := h.secrets.Scrub(strings.ToValidUTF8(string(b), "?"))
	return redact.Truncate(strings.TrimSpace(s), maxAnswer, "...")
}

// unwrapURLError drops the *url.Error layer, which prints the whole URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// readAnswer reads the start of a response body, closes it and returns it
// trimmed for an error message.
func readAnswer(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	return strings.ToValidUTF8(strings.TrimSpace(string(b)), "?")
}

// String describes the remediator without the URL's path or query.
func (h HTTPRemediator) String() string { return "intervene.HTTP(" + h.method + " " + h.display + ")" }

// GoString is String, so that %#v prints no secret either.
func (h HTTPRemediator) GoString() string { return h.String() }

// Format prints String for every verb, also for the struct itself.
func (h HTTPRemediator) Format(f fmt.State, verb rune) { redact.Format(f, verb, h.String()) }

var _ Remediator = (*HTTPRemediator)(nil)
