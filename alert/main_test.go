package alert

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var t0 = time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)

// redAlert is the alert most tests send.
func redAlert() Alert {
	return Alert{
		Monitor:  "checkout-api",
		Code:     Red,
		Err:      errors.New("dial tcp 10.0.0.7:443: connection refused"),
		At:       t0.Add(90 * time.Second),
		Since:    t0,
		Failures: 3,
		Attempt:  2,
		Labels:   map[string]string{"team": "payments", "env": "prod"},
	}
}

func withCode(a Alert, c Code) Alert {
	a.Code = c
	if c == Green {
		a.Err = nil
	}
	return a
}

// deliveryError asserts err is a *DeliveryError and returns it.
func deliveryError(t *testing.T, err error) *DeliveryError {
	t.Helper()
	var de *DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("got error %v (%T), want a *DeliveryError", err, err)
	}
	return de
}

// flapStart is the alert that opens a spell of flapping of checkout-api.
func flapStart() Alert {
	a := withCode(redAlert(), Yellow)
	a.Flap = FlapStart
	return a
}

// flapEnd is the alert that closes it, with the code of the state then.
func flapEnd(c Code) Alert {
	a := withCode(redAlert(), c)
	a.Flap = FlapEnd
	return a
}

// groupAlert is one alert standing for n monitors, api-0001 to api-n, that
// went c in zone eu-1.
func groupAlert(n int, c Code) Alert {
	members := make([]Alert, n)
	for i := range members {
		m := Alert{
			Monitor:  fmt.Sprintf("api-%04d", i+1),
			Code:     c,
			At:       t0.Add(time.Minute + time.Duration(i)*time.Millisecond),
			Since:    t0.Add(time.Duration(i) * time.Second),
			Failures: 3,
			Labels:   map[string]string{"zone": "eu-1", "team": "payments"},
		}
		if c != Green {
			m.Err = fmt.Errorf("dial tcp 10.0.%d.%d:443: connection refused", i/256, i%256)
		}
		members[i] = m
	}
	first := members[0]
	return Alert{
		Monitor:  "zone=eu-1",
		Code:     c,
		Err:      first.Err,
		At:       t0.Add(2 * time.Minute),
		Since:    first.Since,
		Failures: first.Failures,
		Labels:   map[string]string{"zone": "eu-1"},
		Group:    members,
	}
}

// apiNames is "api-0001, api-0002, ..., api-n".
func apiNames(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("api-%04d", i+1)
	}
	return strings.Join(names, ", ")
}
