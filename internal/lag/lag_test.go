package lag

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestLagBucketsBracketValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		v := rng.Int64N(1 << rng.IntN(40))
		b := lagBucket(v)
		if up := lagUpper(b); v > up {
			t.Fatalf("value %d in bucket %d whose upper bound is %d", v, b, up)
		}
		if b > 0 && v <= lagUpper(b-1) {
			t.Fatalf("value %d in bucket %d but fits bucket %d (upper %d)", v, b, b-1, lagUpper(b-1))
		}
		if up := lagUpper(b); v >= 16 && float64(up-v) > float64(v)/8+1 {
			t.Fatalf("bucket %d upper %d is more than 12.5%% above %d", b, up, v)
		}
	}
}

func TestLagSummaryPercentiles(t *testing.T) {
	var h Hist
	rng := rand.New(rand.NewPCG(3, 4))
	var vals []int64
	for i := range 50000 {
		v := rng.Int64N(int64(10 * time.Millisecond))
		vals = append(vals, v)
		h.Record(int64(i%5), v)
	}
	slices.Sort(vals)
	st := h.Summary(4)
	if st.Samples != 50000 {
		t.Fatalf("samples = %d, want 50000", st.Samples)
	}
	check := func(name string, got time.Duration, want int64) {
		if float64(got) < float64(want)*0.95 || float64(got) > float64(want)*1.15 {
			t.Errorf("%s = %v, want about %v", name, got, time.Duration(want))
		}
	}
	check("p50", st.P50, vals[len(vals)/2])
	check("p99", st.P99, vals[len(vals)*99/100])
	if st.Max != time.Duration(vals[len(vals)-1]) {
		t.Errorf("max = %v, want %v", st.Max, time.Duration(vals[len(vals)-1]))
	}
	// Seconds that left the window no longer count.
	if st := h.Summary(4 + Window); st.Samples != 0 {
		t.Errorf("samples after the window passed = %d, want 0", st.Samples)
	}
}

func TestLatencyHistogram(t *testing.T) {
	var h Latency
	for _, d := range []time.Duration{100 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, 20 * time.Second} {
		h.Record(int64(d))
	}
	st := h.Stats()
	want := map[time.Duration]uint64{500 * time.Microsecond: 1, time.Millisecond: 2, 2500 * time.Microsecond: 2, 5 * time.Millisecond: 3, 10 * time.Second: 3}
	for _, b := range st.Buckets {
		if w, ok := want[b.UpperBound]; ok && b.Count != w {
			t.Errorf("bucket le=%v holds %d, want %d", b.UpperBound, b.Count, w)
		}
	}
	if st.Count != 4 || st.Sum != 100*time.Microsecond+time.Millisecond+3*time.Millisecond+20*time.Second {
		t.Errorf("count %d sum %v", st.Count, st.Sum)
	}
}
