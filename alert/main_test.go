package alert

import (
	"errors"
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
