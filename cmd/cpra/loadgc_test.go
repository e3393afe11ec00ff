package main

import (
	"runtime/debug"
	"testing"
)

// gcPercent returns the current GOGC without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestLoadGC: a load collects at loadGOGC and puts the previous setting
// back; a GOGC or GOMEMLIMIT from the environment is left alone.
func TestLoadGC(t *testing.T) {
	before := gcPercent()
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	done := loadGC()
	if got := gcPercent(); got != loadGOGC {
		t.Errorf("while loading: GOGC %d, want %d", got, loadGOGC)
	}
	done()
	if got := gcPercent(); got != before {
		t.Errorf("after the load: GOGC %d, want %d back", got, before)
	}
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "400")
			done := loadGC()
			if got := gcPercent(); got != before {
				t.Errorf("%s set: GOGC %d while loading, want %d untouched", env, got, before)
			}
			done()
		})
	}
}
