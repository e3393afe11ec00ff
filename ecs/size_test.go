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
		{"Probe", unsafe.Sizeof(Probe{}), 32},
		{"Schedule", unsafe.Sizeof(Schedule{}), 16},
		{"Health", unsafe.Sizeof(Health{}), 24},
	} {
		if c.got > c.limit {
			t.Errorf("%s is %d bytes, budget %d", c.name, c.got, c.limit)
		}
	}
}

func TestFlapSum(t *testing.T) {
	if got := FlapSum(0); got != 0 {
		t.Errorf("steady history: %d, want 0", got)
	}
	if got := FlapSum(0x5555555555555555); got != 1900 {
		t.Errorf("alternating history: %d, want 1900 (100%%)", got)
	}
	if got := FlapSum(1); got != 114 {
		t.Errorf("one new failure: %d, want 114 (the newest change weighs 1.2)", got)
	}
	if got := FlapSum(1 << 20); got != 76 {
		t.Errorf("change at the oldest transition: %d, want 76 (weighs 0.8)", got)
	}
	if got := FlapSum(1 << 21); got != 0 {
		t.Errorf("change older than 20 transitions: %d, want 0", got)
	}
}
