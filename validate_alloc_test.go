package cpra

import (
	"context"
	"testing"
	"time"

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
