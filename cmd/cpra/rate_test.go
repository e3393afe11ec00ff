package main

import (
	"math"
	"testing"
	"time"
)

// TestRateWindowFastFleet: a fleet of thousands of checks a second gets
// the rate of the last second, so that a change shows at the next sample.
func TestRateWindowFastFleet(t *testing.T) {
	var w rateWindow
	t0 := time.Unix(0, 0)
	var checks, failed uint64
	w.add(t0, 0, 0)
	for s := 1; s <= 20; s++ {
		perS := uint64(1000)
		if s > 10 {
			perS = 3000
		}
		checks += perS
		failed += perS / 100
		got, gotFailed := w.add(t0.Add(time.Duration(s)*time.Second), checks, failed)
		if got != float64(perS) || gotFailed != float64(perS/100) {
			t.Errorf("second %d: got %v checks/s (%v failed), want %d (%d)", s, got, gotFailed, perS, perS/100)
		}
	}
}

// TestRateWindowSlowFleet: three monitors every 30 seconds (0.1 checks/s),
// sampled every second: once a check has run the rate is never 0, and
// after a few minutes it is within 10% of the truth.
func TestRateWindowSlowFleet(t *testing.T) {
	var w rateWindow
	t0 := time.Unix(0, 0)
	w.add(t0, 0, 0)
	var checks uint64
	for s := 1; s <= 3600; s++ {
		if s%10 == 5 { // the three monitors' phases are 10 s apart
			checks++
		}
		got, _ := w.add(t0.Add(time.Duration(s)*time.Second), checks, 0)
		if checks > 0 && got == 0 {
			t.Fatalf("second %d: 0 checks/s after %d checks", s, checks)
		}
		if s >= 300 && math.Abs(got-0.1) > 0.01 {
			t.Errorf("second %d: %v checks/s, want 0.1 ± 10%%", s, got)
		}
	}
	if n := len(w.samples); n > int(rateSpan/time.Second)+2 {
		t.Errorf("%d samples kept, want at most the span's %d", n, int(rateSpan/time.Second)+2)
	}
}

// TestRateWindowIdle: a fleet that ran checks and stopped falls to 0
// within the span.
func TestRateWindowIdle(t *testing.T) {
	var w rateWindow
	t0 := time.Unix(0, 0)
	w.add(t0, 0, 0)
	w.add(t0.Add(time.Second), 50, 0)
	var got float64
	for s := 2; s <= int(rateSpan/time.Second)+5; s++ {
		got, _ = w.add(t0.Add(time.Duration(s)*time.Second), 50, 0)
	}
	if got != 0 {
		t.Errorf("idle for longer than the span: %v checks/s, want 0", got)
	}
	if got, _ := new(rateWindow).add(t0, 10, 1); got != 0 {
		t.Errorf("first sample: %v, want 0", got)
	}
}

func TestFormatRate(t *testing.T) {
	tests := []struct {
		r    float64
		want string
	}{
		{0, "0"},
		{0.0333, "0.033"},
		{0.1, "0.1"},
		{3.33, "3.3"},
		{9.96, "10"},
		{42.5, "42"},
		{1250.4, "1250"},
		{4.97e6, "4970000"},
	}
	for _, tc := range tests {
		if got := formatRate(tc.r); got != tc.want {
			t.Errorf("formatRate(%v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}
