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

	"github.com/ziad/cpra/internal/redact"
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
// A flap alert reads "checkout-api is flapping" or "checkout-api stopped
// flapping (now green)" and has a Flapping field. A group reads "37 monitors
// down (zone=eu-1): a, b, c and 34 more" (ten names at most); its
// attachment has the label and the count of monitors as fields and lists the
// first 20 members, each with its failures, start, attempt and error, then
// counts the rest.
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
		secrets: cfg.secrets(webhookURL),
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

// Bounds of the texts in a Slack message, in bytes before escaping: Slack
// cuts a message's text at 40,000 characters and asks for at most a few
// thousand in each text; these keep a message well within both.
const (
	slackMaxTitle = 1000
	slackMaxError = 3000
)

func slackMessageOf(a Alert) slackMessage {
	title := slackEscape.Replace(redact.Truncate(headline(a), slackMaxTitle, "..."))
	text := "[" + strings.ToUpper(a.Code.String()) + "] " + title
	color, ok := slackColors[a.Code]
	if !ok {
		color = "#9E9E9E"
	}
	group := len(a.Group) > 0
	fields := []slackField{{Title: "Code", Value: a.Code.String(), Short: true}}
	switch a.Flap {
	case FlapStart:
		fields = append(fields, slackField{Title: "Flapping", Value: "started", Short: true})
	case FlapEnd:
		fields = append(fields, slackField{Title: "Flapping", Value: "stopped", Short: true})
	}
	if group {
		// Failures, start and attempt are per member: they are in the list.
		fields = append(fields, slackField{Title: "Monitors", Value: strconv.Itoa(len(a.Group)), Short: true})
	} else {
		fields = append(fields, slackField{Title: "Failures", Value: strconv.Itoa(a.Failures), Short: true})
		if !a.Since.IsZero() {
			fields = append(fields, slackField{Title: "Since", Value: a.Since.UTC().Format(time.RFC3339), Short: true})
		}
		if a.Attempt > 0 {
			fields = append(fields, slackField{Title: "Attempt", Value: strconv.Itoa(a.Attempt), Short: true})
		}
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
	switch {
	case group:
		// The title counts the members; the text lists the first ones.
		att.Title = slackEscape.Replace(redact.Truncate(storyOf(a).line(0, 0), slackMaxTitle, "..."))
		att.Text = slackMemberList(a.Group)
	case a.Err != nil:
		att.Text = "Error: " + slackEscape.Replace(redact.Truncate(a.Err.Error(), slackMaxError, "..."))
	}
	return slackMessage{Text: text, Attachments: []slackAttachment{att}}
}

// slackMemberList is one line per member of a group, for the first
// slackMembers of them, then a count of the rest.
func slackMemberList(group []Alert) string {
	var b strings.Builder
	for i, m := range group[:min(len(group), slackMembers)] {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("• " + slackEscape.Replace(m.Monitor))
		if f := memberFacts(m); f != "" {
			b.WriteString(": " + slackEscape.Replace(f))
		}
	}
	if rest := len(group) - slackMembers; rest > 0 {
		b.WriteString("\nand " + strconv.Itoa(rest) + " more")
	}
	return b.String()
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
func (n SlackNotifier) String() string { return "alert.Slack(" + n.p.display + ")" }

// GoString is String, so that %#v prints no secret either.
func (n SlackNotifier) GoString() string { return n.String() }

// Format prints String for every verb, also for the struct itself.
func (n SlackNotifier) Format(f fmt.State, verb rune) { redact.Format(f, verb, n.String()) }

var _ Notifier = (*SlackNotifier)(nil)
