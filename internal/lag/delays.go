package lag

import "time"

// delayBounds are the upper bounds of the schedule-lag histogram's buckets
// (a last bucket counts the rest): from a tenth of a millisecond, where a
// healthy engine's checks start, to a minute, where a stalled one's do.
var delayBounds = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
	30 * time.Second, time.Minute,
}

// Delays is a histogram of how late checks started, since Start: every
// check's lag, unlike [Hist], which keeps the last seconds only. A check
// that started early counts as on time.
type Delays struct {
	counts [len(delayBounds) + 1]uint64
	sum    int64
}

// Record counts one check that started ns late.
func (h *Delays) Record(ns int64) {
	if ns < 0 {
		ns = 0
	}
	// The first bound at or above ns, by halving: five comparisons
	// whatever the lag, where a scan from the first bucket would take up
	// to eighteen when the engine falls behind.
	i, j := 0, len(delayBounds)
	for i < j {
		m := int(uint(i+j) >> 1)
		if ns > int64(delayBounds[m]) {
			i = m + 1
		} else {
			j = m
		}
	}
	h.counts[i]++
	h.sum += ns
}

// Stats returns the histogram with cumulative counts, as Prometheus has
// them.
func (h *Delays) Stats() LatencySummary {
	st := LatencySummary{Buckets: make([]LatencyBucket, len(delayBounds)), Sum: time.Duration(h.sum)}
	var cum uint64
	for i, b := range delayBounds {
		cum += h.counts[i]
		st.Buckets[i] = LatencyBucket{UpperBound: b, Count: cum}
	}
	st.Count = cum + h.counts[len(delayBounds)]
	return st
}
