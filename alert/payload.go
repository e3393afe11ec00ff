package alert

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"time"
)

// PayloadVersion is the version of the [Payload] schema. It changes only
// when a field changes meaning or goes away; new fields may be added
// without a change.
const PayloadVersion = 1

// Payload is the JSON form of an [Alert]: the body [Webhook] posts, the line
// [Log] writes, and the data a [WithTemplate] template is executed with.
//
// Schema, version 1:
//
//	{
//	  "version":  1,                               // PayloadVersion
//	  "id":       "9f2c51e0a4b7d833",              // same for every retry of the same alert
//	  "key":      "checkout-api/1735830185000/2",   // Alert.Key; absent for a group
//	  "monitor":  "checkout-api",                  // Alert.Monitor ("label=value" for a group)
//	  "code":     "red",                           // yellow, red, green, cyan or gray
//	  "flap":     "flap-start",                    // Alert.Flap: flap-start or flap-end; absent otherwise
//	  "time":     "2025-01-02T15:04:05.123456789Z", // Alert.At, RFC 3339, UTC
//	  "since":    "2025-01-02T15:03:05Z",          // Alert.Since; absent when unknown
//	  "error":    "connection refused",            // Alert.Err; absent when nil
//	  "failures": 3,                               // Alert.Failures
//	  "attempt":  0,                               // Alert.Attempt
//	  "labels":   {"team": "payments"},            // Alert.Labels; absent when empty
//	  "members":  [ ... ]                          // Alert.Group; absent for one monitor
//	}
//
// An alert that stands for a group of monitors has "monitor" and "labels"
// naming the shared label value ("zone=eu-1", {"zone": "eu-1"}); its
// "since", "error", "failures" and "attempt" are those of the first member,
// and "members" lists every member, in the group's order, each as
//
//	{
//	  "monitor":  "checkout-api",                  // the member's Alert.Monitor
//	  "time":     "2025-01-02T15:04:05Z",          // its Alert.At
//	  "since":    "2025-01-02T15:03:05Z",          // its Alert.Since; absent when unknown
//	  "error":    "connection refused",            // its Alert.Err; absent when nil
//	  "failures": 3,                               // its Alert.Failures
//	  "attempt":  0,                               // its Alert.Attempt
//	  "flap":     "flap-start",                    // its Alert.Flap; absent when 0
//	  "labels":   {"zone": "eu-1", "team": "pay"}  // its Alert.Labels; absent when empty
//	}
//
// The list is complete however large the group is; the texts meant for
// people ([Payload.Headline], [Slack], [Email], [SMS], [PagerDuty]) name only
// the first few members and count the rest.
type Payload struct {
	Version  int               `json:"version"`
	ID       string            `json:"id"`
	Key      string            `json:"key,omitempty"`
	Monitor  string            `json:"monitor"`
	Code     string            `json:"code"`
	Flap     string            `json:"flap,omitempty"`
	Time     time.Time         `json:"time"`
	Since    time.Time         `json:"since,omitzero"`
	Error    string            `json:"error,omitempty"`
	Failures int               `json:"failures"`
	Attempt  int               `json:"attempt"`
	Labels   map[string]string `json:"labels,omitempty"`
	Members  []Member          `json:"members,omitempty"`
}

// Member is one monitor's alert within a group: the JSON form of an element
// of [Alert.Group], in [Payload.Members].
type Member struct {
	Monitor  string            `json:"monitor"`
	Time     time.Time         `json:"time"`
	Since    time.Time         `json:"since,omitzero"`
	Error    string            `json:"error,omitempty"`
	Failures int               `json:"failures"`
	Attempt  int               `json:"attempt"`
	Flap     string            `json:"flap,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// NewPayload returns the JSON form of a.
func NewPayload(a Alert) Payload {
	p := Payload{
		Version:  PayloadVersion,
		ID:       alertID(a),
		Key:      a.Key,
		Monitor:  a.Monitor,
		Code:     a.Code.String(),
		Flap:     a.Flap.String(),
		Time:     a.At.UTC(),
		Failures: a.Failures,
		Attempt:  a.Attempt,
		Labels:   a.Labels,
	}
	if !a.Since.IsZero() {
		p.Since = a.Since.UTC()
	}
	if a.Err != nil {
		p.Error = a.Err.Error()
	}
	if len(a.Group) > 0 {
		p.Members = make([]Member, len(a.Group))
		for i, m := range a.Group {
			p.Members[i] = memberOf(m)
		}
	}
	return p
}

func memberOf(a Alert) Member {
	m := Member{
		Monitor:  a.Monitor,
		Time:     a.At.UTC(),
		Failures: a.Failures,
		Attempt:  a.Attempt,
		Flap:     a.Flap.String(),
		Labels:   a.Labels,
	}
	if !a.Since.IsZero() {
		m.Since = a.Since.UTC()
	}
	if a.Err != nil {
		m.Error = a.Err.Error()
	}
	return m
}

// Headline is the one-line account of the alert that the built-in
// notifiers show people: "checkout-api is down", "checkout-api is
// flapping", "checkout-api stopped flapping (now green)", or for a group
// "37 monitors down (zone=eu-1): a, b, c, d, e, f, g, h, i, j and 27 more"
// (at most 10 names, in the group's order). A [WithTemplate] template
// gets it as {{.Headline}}.
func (p Payload) Headline() string {
	s := story{
		monitor:  p.Monitor,
		code:     codeNamed(p.Code),
		codeName: p.Code,
		flap:     flapNamed(p.Flap),
		n:        len(p.Members),
		name:     func(i int) string { return p.Members[i].Monitor },
	}
	return s.line(lineNames, 0)
}

// alertID identifies one alert: the same alert retried, or sent again after
// a restart, keeps its id, so a receiver can drop a duplicate. A flap alert adds its Flap, and a group
// adds each member's monitor and times, so two groups sent for the same
// label value at the same moment still differ.
func alertID(a Alert) string {
	h := sha256.New()
	if a.Key != "" && len(a.Group) == 0 {
		h.Write([]byte(a.Key)) // stable across retries and restarts
		return hex.EncodeToString(h.Sum(nil)[:8])
	}
	h.Write([]byte(a.Monitor))
	h.Write([]byte{0, byte(a.Code)})
	putInt(h, a.At.UnixNano())
	putInt(h, a.Since.UnixNano())
	putInt(h, int64(a.Attempt))
	// Alerts without flap or group hash as they always have.
	if a.Flap != 0 {
		h.Write([]byte{1, byte(a.Flap)})
	}
	if len(a.Group) > 0 {
		h.Write([]byte{2})
		putInt(h, int64(len(a.Group)))
		for _, m := range a.Group {
			putInt(h, int64(len(m.Monitor)))
			h.Write([]byte(m.Monitor))
			h.Write([]byte{byte(m.Code), byte(m.Flap)})
			putInt(h, m.At.UnixNano())
			putInt(h, m.Since.UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func putInt(h hash.Hash, v int64) {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(v))
	h.Write(buf[:])
}
