package backoff

import "testing"

func TestDelay(t *testing.T) {
	for _, tc := range []struct {
		base, limit int64
		n           int
		jitter      float64
		rnd         uint32
		want        int64
	}{
		{1000, 60000, 1, 0, 0, 1000},
		{1000, 60000, 2, 0, 0, 2000},
		{1000, 60000, 4, 0, 0, 8000},
		{1000, 60000, 10, 0, 0, 60000},       // capped
		{1000, 0, 10, 0, 0, 512000},          // no cap
		{1000, 500, 1, 0, 0, 500},            // a limit below the base wins
		{1000, 60000, 1, 0.5, 1 << 31, 1250}, // half the jitter range
		{1000, 60000, 1, 0.2, 1<<32 - 1, 1199},
		{1000, 0, 1000, 0, 0, 1000 << 52}, // no overflow on many tries
	} {
		if got := Delay(tc.base, tc.limit, tc.n, tc.jitter, tc.rnd); got != tc.want {
			t.Errorf("Delay(%d, %d, %d, %v, %d) = %d, want %d", tc.base, tc.limit, tc.n, tc.jitter, tc.rnd, got, tc.want)
		}
	}
}
