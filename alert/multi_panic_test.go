package alert

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestMultiPanicIsOneLine: a panic in a member becomes an error whose text
// is one line, as it goes into alerts and logs, with the stack kept in it.
func TestMultiPanicIsOneLine(t *testing.T) {
	boom := NotifierFunc(func(context.Context, Alert) error { panic("boom") })
	ok := NotifierFunc(func(context.Context, Alert) error { return nil })
	for _, m := range []Notifier{Multi(boom), Multi(ok, boom)} {
		err := m.Notify(context.Background(), Alert{Monitor: "api", Code: Red})
		if err == nil {
			t.Fatal("got nil, want the panic as an error")
		}
		msg := err.Error()
		if !strings.Contains(msg, "panic: boom") || strings.Count(msg, "boom") != 1 || strings.Contains(msg, "\n") {
			t.Errorf("got %q, want one line with \"panic: boom\"", msg)
		}
		var st interface{ Stack() []byte }
		if !errors.As(err, &st) || !strings.Contains(string(st.Stack()), "goroutine") {
			t.Errorf("got %v, want the stack kept in the error", err)
		}
	}
}
