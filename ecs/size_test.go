package ecs

import (
	"testing"
	"unsafe"
)

// Every monitor carries these components, so their size is memory per
// monitor; a field added to them must fit the padding or be worth its cost.
func TestComponentSizes(t *testing.T) {
	for _, c := range []struct {
		name       string
		got, limit uintptr
	}{
		{"Probe", unsafe.Sizeof(Probe{}), 16},
		{"Schedule", unsafe.Sizeof(Schedule{}), 8},
		{"Health", unsafe.Sizeof(Health{}), 24},
		// Those of the features: Ring and Window, Meta and Maint.
		{"Ring", unsafe.Sizeof(Ring{}), 8},
		{"Window", unsafe.Sizeof(Window{}), 1},
		{"Meta", unsafe.Sizeof(Meta{}), 4},
		{"Maint", unsafe.Sizeof(Maint{}), 1},
		{"Deps", unsafe.Sizeof(Deps{}), 4},
		// A wheel chunk: entries per chunk against its size.
		{"chunk", unsafe.Sizeof(chunk{}), 128},
	} {
		if c.got > c.limit {
			t.Errorf("%s is %d bytes, budget %d", c.name, c.got, c.limit)
		}
	}
}
