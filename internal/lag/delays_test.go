package lag

import (
	"testing"
	"time"
)

func TestDelays(t *testing.T) {
	var h Delays
	for _, d := range []time.Duration{-time.Millisecond, 0, 100 * time.Microsecond, 101 * time.Microsecond, 3 * time.Millisecond, time.Second, 2 * time.Minute} {
		h.Record(int64(d))
	}
	st := h.Stats()
	if st.Count != 7 {
		t.Errorf("got count %d, want 7", st.Count)
	}
	// The early check counts as 0; the sum is of the lags.
	if want := 201*time.Microsecond + 3*time.Millisecond + time.Second + 2*time.Minute; st.Sum != want {
		t.Errorf("got sum %v, want %v", st.Sum, want)
	}
	want := map[time.Duration]uint64{
		100 * time.Microsecond:  3, // -1ms (as 0), 0, and 100µs: a bound is inclusive
		250 * time.Microsecond:  4,
		2500 * time.Microsecond: 4,
		5 * time.Millisecond:    5,
		time.Second:             6,
		time.Minute:             6, // 2m is above every bound: only in Count
	}
	seen := 0
	for i, b := range st.Buckets {
		if i > 0 && (b.UpperBound <= st.Buckets[i-1].UpperBound || b.Count < st.Buckets[i-1].Count) {
			t.Errorf("bucket %d (%v, %d) does not follow %v, %d", i, b.UpperBound, b.Count, st.Buckets[i-1].UpperBound, st.Buckets[i-1].Count)
		}
		if w, ok := want[b.UpperBound]; ok {
			seen++
			if b.Count != w {
				t.Errorf("le %v: got %d, want %d", b.UpperBound, b.Count, w)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d bounds checked", seen, len(want))
	}
}

func BenchmarkDelaysRecord(b *testing.B) {
	var h Delays
	for i := range b.N {
		h.Record(int64(i&1023) * 1000) // 0 to 1ms, as a healthy engine's lags
	}
}
