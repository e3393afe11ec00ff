package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SlackNotifier posts each alert to a Slack incoming webhook. Create it with
// [Slack].
type SlackNotifier struct {
	p *poster
}

// Slack returns a notifier that posts each alert to a Slack incoming
// webhook (https://hooks.slack.com/services/...). The message has a one-line
// text and an attachment coloured by code (yellow amber, red red, green
// green, cyan blue, gray gray) listing the monitor's facts: code, failures,
// episode start, remediation attempt, error and labels.
//
// The webhook URL is a credential: only its scheme and host ever appear in
// errors and in String. Slack answers 200 "ok" on success; another status is
// a [*DeliveryError], retryable for 429 and 5xx.
//
// Options: [WithHTTPClient], [WithRootCAs].
func Slack(webhookURL string, opts ...Option) (*SlackNotifier, error) {
	u, err := parseHTTPURL("Slack webhook URL", webhookURL)
	if err != nil {
		return nil, err
	}
	cfg, err := newConfig(kindSlack, opts)
	if err != nil {
		return nil, err
	}
	return &SlackNotifier{p: &poster{
		kind:    "slack",
		url:     webhookURL,
		display: displayURL(u),
		client:  cfg.httpClient(),
		secrets: secretsOf(webhookURL, u),
	}}, nil
}

// Slack colours per code.
var slackColors = map[Code]string{
	Yellow: "#ECB22E",
	Red:    "#E01E5A",
	Green:  "#2EB67D",
	Cyan:   "#36C5F0",
	Gray:   "#9E9E9E",
}

type slackMessage struct {
	Text        string            `json:"text"`
	Attachments []slackAttachment `json:"attachments"`
}

type slackAttachment struct {
	Color    string       `json:"color"`
	Fallback string       `json:"fallback"`
	Title    string       `json:"title"`
	Text     string       `json:"text,omitempty"`
	Fields   []slackField `json:"fields"`
	Footer   string       `json:"footer"`
	TS       int64        `json:"ts"`
}

type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

// slackEscape escapes the three characters Slack's message format reserves.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// headline is the one-line summary of an alert used by several notifiers.
func headline(a Alert) string {
	switch a.Code {
	case Yellow:
		return a.Monitor + " is failing"
	case Red:
		return a.Monitor + " is down"
	case Green:
		return a.Monitor + " is up again"
	case Cyan:
		return a.Monitor + " was repaired, verifying"
	case Gray:
		return a.Monitor + " is paused"
	}
	return a.Monitor + ": " + a.Code.String()
}

func slackMessageOf(a Alert) slackMessage {
	title := slackEscape.Replace(headline(a))
	text := "[" + strings.ToUpper(a.Code.String()) + "] " + title
	color, ok := slackColors[a.Code]
	if !ok {
		color = "#9E9E9E"
	}
	fields := []slackField{
		{Title: "Code", Value: a.Code.String(), Short: true},
		{Title: "Failures", Value: strconv.Itoa(a.Failures), Short: true},
	}
	if !a.Since.IsZero() {
		fields = append(fields, slackField{Title: "Since", Value: a.Since.UTC().Format(time.RFC3339), Short: true})
	}
	if a.Attempt > 0 {
		fields = append(fields, slackField{Title: "Attempt", Value: strconv.Itoa(a.Attempt), Short: true})
	}
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fields = append(fields, slackField{Title: slackEscape.Replace(k), Value: slackEscape.Replace(a.Labels[k]), Short: true})
	}
	att := slackAttachment{
		Color:    color,
		Fallback: text,
		Title:    title,
		Fields:   fields,
		Footer:   "cpra",
		TS:       a.At.Unix(),
	}
	if a.Err != nil {
		att.Text = "Error: " + slackEscape.Replace(a.Err.Error())
	}
	return slackMessage{Text: text, Attachments: []slackAttachment{att}}
}

// Notify posts a. It honours ctx.
func (n *SlackNotifier) Notify(ctx context.Context, a Alert) error {
	body, err := json.Marshal(slackMessageOf(a))
	if err != nil {
		return &DeliveryError{Notifier: "slack", Endpoint: n.p.display, Err: err}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("User-Agent", userAgent)
	_, err = n.p.post(ctx, h, body)
	return err
}

// String describes the notifier without its secret URL.
func (n *SlackNotifier) String() string { return fmt.Sprintf("alert.Slack(%s)", n.p.display) }

// GoString is String, so that %#v prints no secret either.
func (n *SlackNotifier) GoString() string { return n.String() }

var _ Notifier = (*SlackNotifier)(nil)
