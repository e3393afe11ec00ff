package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ziad/cpra/internal/redact"
)

// DefaultPagerDutyEndpoint is the Events API v2 endpoint [PagerDuty] posts
// to unless [WithEndpoint] names another.
const DefaultPagerDutyEndpoint = "https://events.pagerduty.com/v2/enqueue"

// PagerDutyNotifier sends alerts to PagerDuty's Events API v2. Create it with
// [PagerDuty].
type PagerDutyNotifier struct {
	p          *poster
	routingKey *string // behind a pointer so that printing the struct shows no key
	source     string
	warnYellow bool
}

// PagerDuty returns a notifier that sends alerts to the Events API v2 with
// the integration's routing key.
//
// Codes map to events as follows:
//   - red: a "trigger" event, severity "critical";
//   - green: a "resolve" event;
//   - yellow: nothing, unless [WithYellowWarning] is given, when it is a
//     "trigger" with severity "warning";
//   - cyan and gray: nothing (the incident stays open while a repair is
//     verified or the monitor is paused).
//
// Every event of one episode of a monitor carries the same dedup_key, made
// from the monitor's name and the episode's start ([Alert.Since]), so the
// green resolves exactly the incident its red opened, a retried trigger
// does not open a second one, and the next episode opens a new one. A
// resolve for an episode that never triggered is accepted and ignored by
// PagerDuty.
//
// A flap alert is sent by its code like any other, its summary reading
// "checkout-api is flapping" (a yellow, so only with [WithYellowWarning])
// or "checkout-api stopped flapping (now red)", and its custom_details
// carrying "flap". An alert for a group of monitors is sent by its code
// too, under the dedup key "cpra/group/" followed by its Monitor
// ("label=value"), whatever the episodes of its members: a red group opens
// an incident for the label value (a later red group for it adds to the
// same incident while it is open) and the next green group for the same
// label value resolves it. Its summary names at most ten members ("[red] 37
// monitors down (zone=eu-1): a, b, c and 34 more") and its custom_details
// hold "monitors" (the count), "members" (the first 50 names) and
// "more_members" (how many are not named). The incident of a group and
// those of single monitors are distinct: a monitor whose red was sent alone
// is resolved by its own green, not by a green group.
//
// PagerDuty answers 202 when it accepted the event. 429 and 5xx are
// retryable [*DeliveryError]s; 400 (an invalid event or routing key) is
// not. The routing key never appears in errors or in String.
//
// Options: [WithEndpoint], [WithSource], [WithYellowWarning],
// [WithHTTPClient], [WithRootCAs].
func PagerDuty(routingKey string, opts ...Option) (*PagerDutyNotifier, error) {
	if routingKey == "" {
		return nil, errorf("PagerDuty: empty routing key")
	}
	cfg, err := newConfig(kindPagerDuty, opts)
	if err != nil {
		return nil, err
	}
	endpoint := DefaultPagerDutyEndpoint
	if cfg.endpoint != "" {
		endpoint = cfg.endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, errorf("PagerDuty: invalid endpoint")
	}
	sec := cfg.secrets()
	sec.Add(routingKey)
	return &PagerDutyNotifier{
		p: &poster{
			kind:    "pagerduty",
			url:     endpoint,
			display: displayURL(u),
			client:  cfg.httpClient(),
			secrets: sec,
		},
		routingKey: &routingKey,
		source:     cfg.source,
		warnYellow: cfg.warnYellow,
	}, nil
}

type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload,omitempty"`
	Client      string     `json:"client,omitempty"`
}

type pdPayload struct {
	Summary       string `json:"summary"`
	Source        string `json:"source"`
	Severity      string `json:"severity"`
	Timestamp     string `json:"timestamp,omitempty"`
	Component     string `json:"component,omitempty"`
	Class         string `json:"class,omitempty"`
	CustomDetails any    `json:"custom_details"`
}

type pdDetails struct {
	Code     string            `json:"code"`
	Error    string            `json:"error,omitempty"`
	Failures int               `json:"failures"`
	Attempt  int               `json:"attempt"`
	Since    string            `json:"since,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Flap     string            `json:"flap,omitempty"`
}

// pdGroupDetails are the custom details of a group: the first pdMembers
// names and how many more there are.
type pdGroupDetails struct {
	Code     string            `json:"code"`
	Flap     string            `json:"flap,omitempty"`
	Monitors int               `json:"monitors"`
	Members  []string          `json:"members"`
	More     int               `json:"more_members,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// pdDedupKey is the key of a monitor's episode: its name and start. Keys
// longer than PagerDuty's 255 characters use a hash of the name. A group's
// key is made from its Monitor ("label=value") alone, as
// "cpra/group/label=value": its Since is only its first member's.
func pdDedupKey(a Alert) string {
	if len(a.Group) > 0 {
		key := "cpra/group/" + a.Monitor
		if len(key) > 255 {
			sum := sha256.Sum256([]byte(a.Monitor))
			key = "cpra/group/" + hex.EncodeToString(sum[:16])
		}
		return key
	}
	since := a.Since.UTC().Format(time.RFC3339Nano)
	key := "cpra/" + a.Monitor + "/" + since
	if len(key) > 255 {
		sum := sha256.Sum256([]byte(a.Monitor))
		key = "cpra/" + hex.EncodeToString(sum[:16]) + "/" + since
	}
	return key
}

// maxSummary is PagerDuty's bound on a summary, in bytes.
const maxSummary = 1024

// pdEventOf builds the event for a, or nil when a is not sent.
func (n *PagerDutyNotifier) pdEventOf(a Alert) *pdEvent {
	ev := &pdEvent{RoutingKey: *n.routingKey, DedupKey: pdDedupKey(a), Client: "cpra"}
	var severity string
	switch a.Code {
	case Red:
		severity = "critical"
	case Yellow:
		if !n.warnYellow {
			return nil
		}
		severity = "warning"
	case Green:
		ev.EventAction = "resolve"
		return ev
	default:
		return nil
	}
	ev.EventAction = "trigger"
	source := n.source
	if source == "" {
		source = a.Monitor
	}
	summary := "[" + a.Code.String() + "] "
	var details any
	if len(a.Group) > 0 {
		// The error, failures and start are only the first member's: the
		// summary and details count and name the members instead.
		summary += storyOf(a).line(lineNames, maxSummary-len(summary))
		d := pdGroupDetails{Code: a.Code.String(), Flap: a.Flap.String(), Monitors: len(a.Group), Labels: a.Labels}
		d.Members = make([]string, 0, min(len(a.Group), pdMembers))
		for _, m := range a.Group[:min(len(a.Group), pdMembers)] {
			d.Members = append(d.Members, m.Monitor)
		}
		d.More = len(a.Group) - len(d.Members)
		details = d
	} else {
		summary += headline(a)
		if a.Err != nil {
			summary += ": " + a.Err.Error()
		}
		d := pdDetails{Code: a.Code.String(), Failures: a.Failures, Attempt: a.Attempt, Labels: a.Labels, Flap: a.Flap.String()}
		if a.Err != nil {
			d.Error = a.Err.Error()
		}
		if !a.Since.IsZero() {
			d.Since = a.Since.UTC().Format(time.RFC3339Nano)
		}
		details = d
	}
	summary = redact.Truncate(summary, maxSummary, "...")
	ev.Payload = &pdPayload{
		Summary:       summary,
		Source:        source,
		Severity:      severity,
		Component:     a.Monitor,
		Class:         "monitor",
		CustomDetails: details,
	}
	if !a.At.IsZero() {
		ev.Payload.Timestamp = a.At.UTC().Format(time.RFC3339Nano)
	}
	return ev
}

// Notify sends the event for a, if its code maps to one. It honours ctx.
func (n *PagerDutyNotifier) Notify(ctx context.Context, a Alert) error {
	ev := n.pdEventOf(a)
	if ev == nil {
		return nil
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return &DeliveryError{Notifier: "pagerduty", Endpoint: n.p.display, Err: err}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", userAgent)
	_, err = n.p.post(ctx, h, body)
	return err
}

// String describes the notifier without its routing key.
func (n PagerDutyNotifier) String() string { return "alert.PagerDuty(" + n.p.display + ")" }

// GoString is String, so that %#v prints no secret either.
func (n PagerDutyNotifier) GoString() string { return n.String() }

// Format prints String for every verb, also for the struct itself.
func (n PagerDutyNotifier) Format(f fmt.State, verb rune) { redact.Format(f, verb, n.String()) }

var _ Notifier = (*PagerDutyNotifier)(nil)
