package alert

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const slackPath = "/services/T000/B000/XXXXsecretXXXX"

func TestSlackPostsColouredMessage(t *testing.T) {
	r := newReceiver(t)
	r.answer = "ok"
	n, err := Slack(r.URL + slackPath)
	if err != nil {
		t.Fatal(err)
	}
	a := redAlert()
	a.Err = textError("status 503 <html> & more")
	if err := n.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	rec := r.next(t)
	if rec.method != http.MethodPost || rec.path != slackPath {
		t.Errorf("got %s %s, want POST to the webhook path", rec.method, rec.path)
	}
	if ct := rec.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("got Content-Type %q, want application/json", ct)
	}
	var msg struct {
		Text        string `json:"text"`
		Attachments []struct {
			Color, Fallback, Title, Text string
			Fields                       []struct {
				Title, Value string
				Short        bool
			}
			TS int64 `json:"ts"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(rec.body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Text == "" || !strings.Contains(msg.Text, "checkout-api") || !strings.Contains(msg.Text, "RED") {
		t.Errorf("got text %q, want the code and the monitor", msg.Text)
	}
	if len(msg.Attachments) != 1 {
		t.Fatalf("got %d attachments, want 1", len(msg.Attachments))
	}
	att := msg.Attachments[0]
	if att.Color != slackColors[Red] {
		t.Errorf("got colour %q, want %q", att.Color, slackColors[Red])
	}
	if want := "Error: status 503 &lt;html&gt; &amp; more"; att.Text != want {
		t.Errorf("got text %q, want escaped %q", att.Text, want)
	}
	if att.TS != a.At.Unix() {
		t.Errorf("got ts %d, want %d", att.TS, a.At.Unix())
	}
	facts := map[string]string{}
	for _, f := range att.Fields {
		facts[f.Title] = f.Value
	}
	for k, v := range map[string]string{"Code": "red", "Failures": "3", "Attempt": "2", "Since": "2025-01-02T15:04:05Z", "team": "payments", "env": "prod"} {
		if facts[k] != v {
			t.Errorf("got field %s = %q, want %q", k, facts[k], v)
		}
	}
}

type textError string

func (e textError) Error() string { return string(e) }

func TestSlackColourPerCode(t *testing.T) {
	seen := map[string]Code{}
	for _, c := range []Code{Yellow, Red, Green, Cyan, Gray} {
		m := slackMessageOf(withCode(redAlert(), c))
		col := m.Attachments[0].Color
		if col == "" {
			t.Errorf("%v: no colour", c)
		}
		if prev, dup := seen[col]; dup {
			t.Errorf("%v and %v share colour %s", c, prev, col)
		}
		seen[col] = c
	}
}

func TestSlackErrorsHideTheWebhookURL(t *testing.T) {
	r := newReceiver(t, http.StatusNotFound, http.StatusTooManyRequests)
	r.answer = "no_service " + slackPath
	n, err := Slack(r.URL + slackPath)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(context.Background(), redAlert())
	if de := deliveryError(t, err); de.Status != 404 || de.Retryable {
		t.Errorf("got %v, want a permanent 404", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q shows the webhook URL", err)
	}
	err = n.Notify(context.Background(), redAlert())
	if de := deliveryError(t, err); de.Status != 429 || !de.Retryable {
		t.Errorf("got %v, want a retryable 429", err)
	}

	// A transport error (*url.Error) prints the URL: it must be redacted.
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	n, err = Slack(u + slackPath)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Notify(context.Background(), redAlert())
	if err == nil || !Retryable(err) || strings.Contains(err.Error(), "secret") {
		t.Errorf("got %v, want a retryable error without the webhook path", err)
	}
}
