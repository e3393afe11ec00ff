package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

func TestMultiCallsEveryNotifier(t *testing.T) {
	var calls atomic.Int32
	errPermanent := &DeliveryError{Notifier: "a", Err: errors.New("rejected")}
	errRetry := &DeliveryError{Notifier: "b", Retryable: true, Err: errors.New("busy")}
	ok := NotifierFunc(func(context.Context, Alert) error { calls.Add(1); return nil })
	m := Multi(
		ok,
		NotifierFunc(func(context.Context, Alert) error { calls.Add(1); return errPermanent }),
		nil,
		NotifierFunc(func(context.Context, Alert) error { calls.Add(1); panic("boom") }),
		NotifierFunc(func(context.Context, Alert) error { calls.Add(1); return errRetry }),
		ok,
	)
	err := m.Notify(context.Background(), redAlert())
	if got := calls.Load(); got != 5 {
		t.Errorf("got %d calls, want 5", got)
	}
	if !errors.Is(err, errPermanent) || !errors.Is(err, errRetry) || !strings.Contains(err.Error(), "panic: boom") {
		t.Errorf("got %v, want both errors and the panic joined", err)
	}
	if !Retryable(err) {
		t.Error("a join with a retryable part is not retryable")
	}
	if Retryable(Multi(NotifierFunc(func(context.Context, Alert) error { return errPermanent })).Notify(context.Background(), redAlert())) {
		t.Error("a permanent failure is retryable")
	}
	if err := Multi().Notify(context.Background(), redAlert()); err != nil {
		t.Errorf("empty Multi: got %v", err)
	}
	if err := Multi(ok).Notify(context.Background(), redAlert()); err != nil {
		t.Errorf("Multi of one: got %v", err)
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("x"), true},
		{"permanent", &DeliveryError{}, false},
		{"retryable", &DeliveryError{Retryable: true}, true},
		{"wrapped permanent", errors.Join(errors.New("ctx"), &DeliveryError{}), true},
		{"all permanent", errors.Join(&DeliveryError{}, &DeliveryError{}), false},
		{"wrapped join", fmt.Errorf("send: %w", errors.Join(&DeliveryError{}, &DeliveryError{Retryable: true})), true},
		{"wrapped context error", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
