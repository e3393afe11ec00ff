package alert

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

const routingKey = "R0UTINGKEY0123456789abcdefABCDEF"

type pdRequest struct {
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
	Client      string `json:"client"`
	Payload     *struct {
		Summary       string         `json:"summary"`
		Source        string         `json:"source"`
		Severity      string         `json:"severity"`
		Timestamp     string         `json:"timestamp"`
		Component     string         `json:"component"`
		CustomDetails map[string]any `json:"custom_details"`
	} `json:"payload"`
}

// pagerDutyServer answers like the Events API v2: 202 with a JSON status.
func pagerDutyServer(t *testing.T, statuses ...int) *receiver {
	if len(statuses) == 0 {
		statuses = []int{http.StatusAccepted}
	}
	r := newReceiver(t, statuses...)
	r.answer = `{"status":"success","message":"Event processed"}`
	return r
}

func decodePD(t *testing.T, rec recorded) pdRequest {
	t.Helper()
	if rec.method != http.MethodPost || rec.path != "/v2/enqueue" {
		t.Errorf("got %s %s, want POST /v2/enqueue", rec.method, rec.path)
	}
	if ct := rec.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("got Content-Type %q, want application/json", ct)
	}
	var ev pdRequest
	if err := json.Unmarshal(rec.body, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestPagerDutyEpisode(t *testing.T) {
	r := pagerDutyServer(t)
	n, err := PagerDuty(routingKey, WithEndpoint(r.URL+"/v2/enqueue"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := redAlert()

	// Yellow, cyan and gray are not sent by default.
	for _, c := range []Code{Yellow, Cyan, Gray} {
		if err := n.Notify(ctx, withCode(a, c)); err != nil {
			t.Fatal(err)
		}
	}
	r.none(t)

	if err := n.Notify(ctx, a); err != nil {
		t.Fatal(err)
	}
	trig := decodePD(t, r.next(t))
	if trig.RoutingKey != routingKey || trig.EventAction != "trigger" || trig.DedupKey == "" || trig.Payload == nil {
		t.Fatalf("got %+v, want a trigger with routing key, dedup key and payload", trig)
	}
	p := trig.Payload
	if p.Severity != "critical" || p.Source != "checkout-api" || p.Component != "checkout-api" ||
		!strings.Contains(p.Summary, "checkout-api") || !strings.Contains(p.Summary, "connection refused") {
		t.Errorf("got payload %+v", p)
	}
	if ts, err := time.Parse(time.RFC3339Nano, p.Timestamp); err != nil || !ts.Equal(a.At) {
		t.Errorf("got timestamp %q, want %v", p.Timestamp, a.At)
	}
	if p.CustomDetails["failures"] != float64(3) || p.CustomDetails["error"] == nil {
		t.Errorf("got custom_details %v", p.CustomDetails)
	}

	// The green of the same episode resolves the same dedup key.
	green := withCode(a, Green)
	green.At = a.At.Add(time.Minute)
	if err := n.Notify(ctx, green); err != nil {
		t.Fatal(err)
	}
	res := decodePD(t, r.next(t))
	if res.EventAction != "resolve" || res.DedupKey != trig.DedupKey || res.RoutingKey != routingKey {
		t.Errorf("got %+v, want a resolve of %q", res, trig.DedupKey)
	}

	// The next episode opens a new incident.
	next := a
	next.Since = a.Since.Add(time.Hour)
	if err := n.Notify(ctx, next); err != nil {
		t.Fatal(err)
	}
	if ev := decodePD(t, r.next(t)); ev.DedupKey == trig.DedupKey {
		t.Errorf("a new episode reused dedup key %q", ev.DedupKey)
	}
}

func TestPagerDutyYellowWarning(t *testing.T) {
	r := pagerDutyServer(t)
	n, err := PagerDuty(routingKey, WithEndpoint(r.URL+"/v2/enqueue"), WithYellowWarning(), WithSource("db-7"))
	if err != nil {
		t.Fatal(err)
	}
	a := redAlert()
	if err := n.Notify(context.Background(), withCode(a, Yellow)); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	y, red := decodePD(t, r.next(t)), decodePD(t, r.next(t))
	if y.EventAction != "trigger" || y.Payload.Severity != "warning" || y.Payload.Source != "db-7" {
		t.Errorf("got yellow %+v, want a warning trigger from db-7", y)
	}
	if red.DedupKey != y.DedupKey || red.Payload.Severity != "critical" {
		t.Errorf("got red %+v, want critical under the yellow's key %q", red, y.DedupKey)
	}
}

func TestPagerDutyStatuses(t *testing.T) {
	tests := []struct {
		status    int
		retryable bool
	}{
		{http.StatusBadRequest, false},
		{http.StatusTooManyRequests, true},
		{http.StatusInternalServerError, true},
		{http.StatusBadGateway, true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			r := newReceiver(t, tt.status, http.StatusAccepted)
			// A receiver that echoes the key back must not leak it.
			r.answer = `{"status":"invalid event","errors":["bad routing_key ` + routingKey + `"]}`
			n, err := PagerDuty(routingKey, WithEndpoint(r.URL+"/v2/enqueue"))
			if err != nil {
				t.Fatal(err)
			}
			err = n.Notify(context.Background(), redAlert())
			de := deliveryError(t, err)
			if de.Status != tt.status || de.Retryable != tt.retryable {
				t.Errorf("got %v, want status %d retryable %v", err, tt.status, tt.retryable)
			}
			if strings.Contains(err.Error(), routingKey) {
				t.Errorf("error %q contains the routing key", err)
			}
			// The receiver then accepts: one more delivery, exactly one request.
			if err := n.Notify(context.Background(), redAlert()); err != nil {
				t.Errorf("second try: got %v, want nil", err)
			}
			if len(r.reqs) != 2 {
				t.Errorf("got %d requests, want 2", len(r.reqs))
			}
		})
	}
}

func TestPagerDutyDedupKeyBounded(t *testing.T) {
	a := redAlert()
	a.Monitor = strings.Repeat("m", 400)
	k := pdDedupKey(a)
	if len(k) > 255 {
		t.Errorf("got a %d-character dedup key, want at most 255", len(k))
	}
	b := a
	b.Monitor = strings.Repeat("m", 399) + "n"
	if pdDedupKey(b) == k {
		t.Error("two long monitor names share a dedup key")
	}
	if _, err := PagerDuty(""); err == nil {
		t.Error("got nil error for an empty routing key")
	}
}

func TestPagerDutyFlap(t *testing.T) {
	r := pagerDutyServer(t)
	plain, err := PagerDuty(routingKey, WithEndpoint(r.URL+"/v2/enqueue"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// A flap start is a yellow: not sent by default.
	if err := plain.Notify(ctx, flapStart()); err != nil {
		t.Fatal(err)
	}
	r.none(t)

	n, err := PagerDuty(routingKey, WithEndpoint(r.URL+"/v2/enqueue"), WithYellowWarning())
	if err != nil {
		t.Fatal(err)
	}
	episode := pdDedupKey(redAlert())
	if err := n.Notify(ctx, flapStart()); err != nil {
		t.Fatal(err)
	}
	ev := decodePD(t, r.next(t))
	if ev.EventAction != "trigger" || ev.DedupKey != episode || ev.Payload.Severity != "warning" ||
		ev.Payload.Summary != "[yellow] checkout-api is flapping: dial tcp 10.0.0.7:443: connection refused" ||
		ev.Payload.CustomDetails["flap"] != "flap-start" {
		t.Errorf("flap start: got %+v %+v", ev, ev.Payload)
	}

	if err := n.Notify(ctx, flapEnd(Red)); err != nil {
		t.Fatal(err)
	}
	ev = decodePD(t, r.next(t))
	if ev.EventAction != "trigger" || ev.DedupKey != episode || ev.Payload.Severity != "critical" ||
		ev.Payload.Summary != "[red] checkout-api stopped flapping (now red): dial tcp 10.0.0.7:443: connection refused" ||
		ev.Payload.CustomDetails["flap"] != "flap-end" {
		t.Errorf("flap end red: got %+v %+v", ev, ev.Payload)
	}

	if err := n.Notify(ctx, flapEnd(Green)); err != nil {
		t.Fatal(err)
	}
	if ev := decodePD(t, r.next(t)); ev.EventAction != "resolve" || ev.DedupKey != episode {
		t.Errorf("flap end green: got %+v, want a resolve of %q", ev, episode)
	}

	// A plain alert's details have no flap.
	if err := n.Notify(ctx, redAlert()); err != nil {
		t.Fatal(err)
	}
	if ev := decodePD(t, r.next(t)); ev.Payload.CustomDetails["flap"] != nil {
		t.Errorf("plain red: got custom_details %v", ev.Payload.CustomDetails)
	}
}

func TestPagerDutyGroup(t *testing.T) {
	r := pagerDutyServer(t)
	n, err := PagerDuty(routingKey, WithEndpoint(r.URL+"/v2/enqueue"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if err := n.Notify(ctx, groupAlert(3, Red)); err != nil {
		t.Fatal(err)
	}
	trig := decodePD(t, r.next(t))
	p := trig.Payload
	if trig.EventAction != "trigger" || trig.DedupKey != "cpra/group/zone=eu-1" || p.Severity != "critical" ||
		p.Source != "zone=eu-1" || p.Component != "zone=eu-1" {
		t.Errorf("group of 3: got %+v %+v", trig, p)
	}
	if want := "[red] 3 monitors down (zone=eu-1): api-0001, api-0002, api-0003"; p.Summary != want {
		t.Errorf("group of 3: got summary %q, want %q", p.Summary, want)
	}
	d := p.CustomDetails
	if d["code"] != "red" || d["monitors"] != float64(3) || d["more_members"] != nil ||
		strings.Join(anyStrings(d["members"]), ",") != "api-0001,api-0002,api-0003" {
		t.Errorf("group of 3: got custom_details %v", d)
	}
	for _, k := range []string{"error", "failures", "since", "attempt"} {
		if _, ok := d[k]; ok {
			t.Errorf("group of 3: custom_details has the first member's %s as the group's: %v", k, d)
		}
	}

	// More monitors of the zone go down: the same incident.
	big := groupAlert(1000, Red)
	if err := n.Notify(ctx, big); err != nil {
		t.Fatal(err)
	}
	ev := decodePD(t, r.next(t))
	if ev.DedupKey != trig.DedupKey {
		t.Errorf("group of 1000: got dedup key %q, want %q", ev.DedupKey, trig.DedupKey)
	}
	if want := "[red] 1000 monitors down (zone=eu-1): " + apiNames(10) + " and 990 more"; ev.Payload.Summary != want {
		t.Errorf("group of 1000: got summary %q, want %q", ev.Payload.Summary, want)
	}
	d = ev.Payload.CustomDetails
	if names := anyStrings(d["members"]); len(names) != pdMembers || names[pdMembers-1] != "api-0050" ||
		d["monitors"] != float64(1000) || d["more_members"] != float64(1000-pdMembers) {
		t.Errorf("group of 1000: got %d names, monitors %v, more_members %v", len(names), d["monitors"], d["more_members"])
	}

	// A later green group for the zone, whatever its members and their
	// episodes, resolves the incident.
	green := groupAlert(2, Green)
	green.Group[0], green.Group[1] = big.Group[999], big.Group[500]
	green.Group[0].Code, green.Group[1].Code = Green, Green
	green.Since = green.Group[0].Since
	if err := n.Notify(ctx, green); err != nil {
		t.Fatal(err)
	}
	if ev := decodePD(t, r.next(t)); ev.EventAction != "resolve" || ev.DedupKey != trig.DedupKey {
		t.Errorf("green group: got %+v, want a resolve of %q", ev, trig.DedupKey)
	}

	// Another label value is another incident; a long one stays bounded.
	other := groupAlert(3, Red)
	other.Monitor = "zone=" + strings.Repeat("z", 300)
	if k := pdDedupKey(other); k == trig.DedupKey || len(k) > 255 || !strings.HasPrefix(k, "cpra/group/") {
		t.Errorf("got dedup key %q for another, long label value", k)
	}
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
