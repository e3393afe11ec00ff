package main

import (
	"strconv"
	"time"
)

// rateSpan is how far back the status line's rates may look: a slow fleet
// (a few monitors every few minutes) gets a rate over up to this long
// rather than a 0 between its checks.
const rateSpan = 10 * time.Minute

// rateEnough is the number of checks that makes a window long enough: a
// fast fleet's rate is over the last sample that leaves at least this many
// checks in the window, so it follows changes within a second or two.
const rateEnough = 100

// rateWindow turns the engine's check counters, sampled now and then, into
// rates over a sliding window: the shortest that holds rateEnough checks,
// or everything of the last rateSpan.
type rateWindow struct {
	samples []rateSample // oldest first
}

type rateSample struct {
	at             time.Time
	checks, failed uint64
}

// add records the counters at a time and returns the rates of checks and
// of failed checks per second over the window that ends there. The first
// sample gives zeros.
func (w *rateWindow) add(at time.Time, checks, failed uint64) (checksPerS, failedPerS float64) {
	w.samples = append(w.samples, rateSample{at, checks, failed})
	drop := 0
	for drop < len(w.samples)-2 && at.Sub(w.samples[drop+1].at) >= rateSpan {
		drop++ // the next one still spans rateSpan
	}
	if drop > 0 {
		w.samples = append(w.samples[:0], w.samples[drop:]...)
	}
	last := len(w.samples) - 1
	base := w.samples[0]
	for i := last - 1; i > 0; i-- {
		if checks-w.samples[i].checks >= rateEnough {
			base = w.samples[i]
			break
		}
	}
	secs := at.Sub(base.at).Seconds()
	if last == 0 || secs <= 0 {
		return 0, 0
	}
	return float64(checks-base.checks) / secs, float64(failed-base.failed) / secs
}

// formatRate writes a rate with two significant digits below 10 and as a
// whole number above: 0.033, 3.3, 42, 1250.
func formatRate(r float64) string {
	switch {
	case r >= 10:
		return strconv.FormatFloat(r, 'f', 0, 64)
	case r == 0:
		return "0"
	default:
		return strconv.FormatFloat(r, 'g', 2, 64)
	}
}
