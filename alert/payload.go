package alert

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
//	  "monitor":  "checkout-api",                  // Alert.Monitor
//	  "code":     "red",                           // yellow, red, green, cyan or gray
//	  "time":     "2025-01-02T15:04:05.123456789Z", // Alert.At, RFC 3339, UTC
//	  "since":    "2025-01-02T15:03:05Z",          // Alert.Since; absent when unknown
//	  "error":    "connection refused",            // Alert.Err; absent when nil
//	  "failures": 3,                               // Alert.Failures
//	  "attempt":  0,                               // Alert.Attempt
//	  "labels":   {"team": "payments"}             // Alert.Labels; absent when empty
//	}
type Payload struct {
	Version  int               `json:"version"`
	ID       string            `json:"id"`
	Monitor  string            `json:"monitor"`
	Code     string            `json:"code"`
	Time     time.Time         `json:"time"`
	Since    time.Time         `json:"since,omitzero"`
	Error    string            `json:"error,omitempty"`
	Failures int               `json:"failures"`
	Attempt  int               `json:"attempt"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// NewPayload returns the JSON form of a.
func NewPayload(a Alert) Payload {
	p := Payload{
		Version:  PayloadVersion,
		ID:       alertID(a),
		Monitor:  a.Monitor,
		Code:     a.Code.String(),
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
	return p
}

// alertID identifies one alert: the same alert retried keeps its id, so a
// receiver can drop a duplicate.
func alertID(a Alert) string {
	h := sha256.New()
	var buf [8]byte
	h.Write([]byte(a.Monitor))
	h.Write([]byte{0, byte(a.Code)})
	binary.BigEndian.PutUint64(buf[:], uint64(a.At.UnixNano()))
	h.Write(buf[:])
	binary.BigEndian.PutUint64(buf[:], uint64(a.Since.UnixNano()))
	h.Write(buf[:])
	binary.BigEndian.PutUint64(buf[:], uint64(a.Attempt))
	h.Write(buf[:])
	return hex.EncodeToString(h.Sum(nil)[:8])
}
