package alerts

import (
	"context"
	"testing"

	"github.com/ziad/cpra/alert"
)

type valueNotifier struct{ url string }

func (valueNotifier) Notify(context.Context, alert.Alert) error { return nil }

type listNotifier []string

func (listNotifier) Notify(context.Context, alert.Alert) error { return nil }

func TestNotifierID(t *testing.T) {
	mk := func(tag string) alert.Notifier {
		return alert.NotifierFunc(func(context.Context, alert.Alert) error { _ = tag; return nil })
	}
	f1, f2 := mk("a"), mk("b")
	route := alert.Route{alert.Red: f1}
	other := alert.Route{alert.Red: f1}
	list := listNotifier{"x"}
	for _, tc := range []struct {
		name string
		a, b alert.Notifier
		same bool
	}{
		{"one closure given twice", f1, f1, true},
		{"two closures of one literal", f1, f2, false},
		{"one Route value", route, route, true},
		{"two equal Routes", route, other, false},
		{"equal comparable values", valueNotifier{"u"}, valueNotifier{"u"}, true},
		{"different comparable values", valueNotifier{"u"}, valueNotifier{"v"}, false},
		{"one slice", list, list, true},
	} {
		if got := notifierID(tc.a, true) == notifierID(tc.b, true); got != tc.same {
			t.Errorf("%s: same = %v, want %v", tc.name, got, tc.same)
		}
	}
	if notifierID(f1, false) != notifierID(f2, false) {
		t.Errorf("the engine's notifier is one notifier")
	}
}
