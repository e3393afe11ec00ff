package cpra

import (
	"context"
	"testing"
	"time"

	"github.com/ziad/cpra/internal/loop"
	"github.com/ziad/cpra/pulse"
)

// TestValidateAllocatesNothing: a loader validates each monitor before it
// adds it; at a million monitors a validation's garbage is the loader's
// garbage collection.
func TestValidateAllocatesNothing(t *testing.T) {
	m := Monitor{Name: "db", Check: pulse.CheckerFunc(func(context.Context) error { return nil }),
		Interval: time.Minute, Labels: map[string]string{"team": "core"}}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = m.Validate() }); n != 0 {
		t.Errorf("Validate allocates %v times, want 0", n)
	}
}

// TestHTTPCheckerKeptAsValue: the engine keeps the value of a
// *pulse.HTTPChecker (one pointer, no heap object of its own in an
// interface), which checks the same URL; other checkers, and a nil
// pointer, are kept as given.
func TestHTTPCheckerKeptAsValue(t *testing.T) {
	c := pulse.MustHTTP("http://127.0.0.1:1/health")
	got, ok := compactCheck(c).(pulse.HTTPChecker)
	if !ok || got.URL() != c.URL() {
		t.Fatalf("kept %T (%v) for a *pulse.HTTPChecker, want its value", compactCheck(c), got)
	}
	var sp loop.Spec
	m := Monitor{Name: "web", Check: c, Interval: time.Minute}
	if err := m.fill(&sp); err != nil {
		t.Fatal(err)
	}
	if _, ok := sp.Check.(pulse.HTTPChecker); !ok {
		t.Errorf("the engine's spec holds %T, want pulse.HTTPChecker", sp.Check)
	}
	if n := testing.AllocsPerRun(100, func() { _ = m.fill(&sp) }); n != 0 {
		t.Errorf("validating an HTTP monitor allocates %v times, want 0", n)
	}
	var nilHTTP *pulse.HTTPChecker
	if k, ok := compactCheck(nilHTTP).(*pulse.HTTPChecker); !ok || k != nil {
		t.Errorf("a nil *pulse.HTTPChecker became %T", compactCheck(nilHTTP))
	}
	f := pulse.CheckerFunc(func(context.Context) error { return nil })
	if _, ok := compactCheck(f).(pulse.CheckerFunc); !ok {
		t.Errorf("a CheckerFunc became %T", compactCheck(f))
	}
}
