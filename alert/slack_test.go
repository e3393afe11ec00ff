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

// slackPosted is what a test reads back of a posted Slack message.
type slackPosted struct {
	Text        string `json:"text"`
	Attachments []struct {
		Color, Fallback, Title, Text string
		Fields                       []struct {
			Title, Value string
		}
	} `json:"attachments"`
}

func (m slackPosted) fields() map[string]string {
	f := map[string]string{}
	for _, x := range m.Attachments[0].Fields {
		f[x.Title] = x.Value
	}
	return f
}

func TestSlackFlapAndGroup(t *testing.T) {
	r := newReceiver(t)
	r.answer = "ok"
	n, err := Slack(r.URL + slackPath)
	if err != nil {
		t.Fatal(err)
	}
	post := func(a Alert) (slackPosted, int) {
		t.Helper()
		if err := n.Notify(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		rec := r.next(t)
		var m slackPosted
		if err := json.Unmarshal(rec.body, &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Attachments) != 1 {
			t.Fatalf("got %d attachments, want 1", len(m.Attachments))
		}
		return m, len(rec.body)
	}

	m, _ := post(flapStart())
	if want := "[YELLOW] checkout-api is flapping"; m.Text != want || m.Attachments[0].Title != "checkout-api is flapping" {
		t.Errorf("flap start: got text %q title %q, want %q", m.Text, m.Attachments[0].Title, want)
	}
	if f := m.fields(); f["Flapping"] != "started" || f["Failures"] != "3" || m.Attachments[0].Color != slackColors[Yellow] {
		t.Errorf("flap start: got fields %v colour %s", f, m.Attachments[0].Color)
	}

	m, _ = post(flapEnd(Green))
	if want := "[GREEN] checkout-api stopped flapping (now green)"; m.Text != want {
		t.Errorf("flap end: got text %q, want %q", m.Text, want)
	}
	if f := m.fields(); f["Flapping"] != "stopped" || m.Attachments[0].Color != slackColors[Green] {
		t.Errorf("flap end: got fields %v colour %s", f, m.Attachments[0].Color)
	}

	m, _ = post(groupAlert(3, Red))
	att := m.Attachments[0]
	if want := "[RED] 3 monitors down (zone=eu-1): api-0001, api-0002, api-0003"; m.Text != want || att.Fallback != want {
		t.Errorf("group of 3: got text %q, want %q", m.Text, want)
	}
	if att.Title != "3 monitors down (zone=eu-1)" {
		t.Errorf("group of 3: got title %q", att.Title)
	}
	f := m.fields()
	if f["Monitors"] != "3" || f["zone"] != "eu-1" || f["Code"] != "red" {
		t.Errorf("group of 3: got fields %v", f)
	}
	for _, k := range []string{"Failures", "Since", "Attempt"} {
		if _, ok := f[k]; ok {
			t.Errorf("group of 3: has the first member's %s as if it were the group's", k)
		}
	}
	lines := strings.Split(att.Text, "\n")
	if len(lines) != 3 || lines[0] != "• api-0001: failures 3, since 2025-01-02T15:04:05Z, error: dial tcp 10.0.0.0:443: connection refused" ||
		!strings.HasPrefix(lines[2], "• api-0003: ") {
		t.Errorf("group of 3: got attachment text\n%s", att.Text)
	}

	m, size := post(groupAlert(1000, Red))
	att = m.Attachments[0]
	if want := "[RED] 1000 monitors down (zone=eu-1): " + apiNames(10) + " and 990 more"; m.Text != want {
		t.Errorf("group of 1000: got text %q, want %q", m.Text, want)
	}
	lines = strings.Split(att.Text, "\n")
	if len(lines) != slackMembers+1 || !strings.HasPrefix(lines[slackMembers-1], "• api-0020: ") || lines[slackMembers] != "and 980 more" {
		t.Errorf("group of 1000: got %d lines of attachment text, want %d and a count:\n%s", len(lines), slackMembers+1, att.Text)
	}
	if m.fields()["Monitors"] != "1000" {
		t.Errorf("group of 1000: got fields %v", m.fields())
	}
	if size > 8<<10 {
		t.Errorf("group of 1000: posted %d bytes, want a message that does not grow with the group", size)
	}
}
