// Package lag keeps the engine's histograms of how late checks start
// (over a sliding window of seconds) and how long they take (since
// Start). Recording costs a few nanoseconds and allocates nothing.
package lag

import (
	"math/bits"
	"time"
)

// Hist is a log-linear histogram of durations in nanoseconds: 8 buckets
// per power of two, so a percentile read from it is within 12.5% of the
// true value. It keeps one histogram per second for the last Window
// seconds and answers over all of them.
const (
	lagSub     = 3
	lagBuckets = 64 << lagSub
	Window     = 10
)

type lagSecond struct {
	sec    int64
	counts [lagBuckets]uint32
	max    int64
	n      uint64
}

type Hist struct {
	secs [Window]lagSecond
}

func lagBucket(v int64) int {
	if v < 1<<lagSub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	u := uint64(v)
	e := bits.Len64(u) - 1 - lagSub
	return (e+1)<<lagSub + int(u>>uint(e))&(1<<lagSub-1)
}

// lagUpper returns the largest value that falls in bucket i.
func lagUpper(i int) int64 {
	if i < 1<<lagSub {
		return int64(i)
	}
	e := i>>lagSub - 1
	m := int64(i&(1<<lagSub-1)) | 1<<lagSub
	return (m+1)<<uint(e) - 1
}

func (h *Hist) Record(sec int64, v int64) {
	s := &h.secs[sec%Window]
	if s.sec != sec {
		*s = lagSecond{sec: sec}
	}
	s.counts[lagBucket(v)]++
	s.n++
	if v > s.max {
		s.max = v
	}
}

// Summary summarises schedule lag over the last few seconds: how late
// checks started compared with when they were due.
type Summary struct {
	P50, P99, Max time.Duration
	Samples       uint64 // checks measured in the window
}

func (h *Hist) Summary(nowSec int64) Summary {
	var total [lagBuckets]uint64
	var st Summary
	var max int64
	for i := range h.secs {
		s := &h.secs[i]
		if s.n == 0 || s.sec <= nowSec-Window || s.sec > nowSec {
			continue
		}
		for b, c := range s.counts {
			total[b] += uint64(c)
		}
		st.Samples += s.n
		if s.max > max {
			max = s.max
		}
	}
	if st.Samples == 0 {
		return st
	}
	pick := func(q float64) time.Duration {
		want := uint64(q*float64(st.Samples) + 0.5)
		if want < 1 {
			want = 1
		}
		var seen uint64
		for b, c := range total {
			seen += c
			if seen >= want {
				return time.Duration(min(lagUpper(b), max))
			}
		}
		return time.Duration(max)
	}
	st.P50, st.P99, st.Max = pick(0.50), pick(0.99), time.Duration(max)
	return st
}

// latencyBounds are the upper bounds of the check-latency histogram's
// buckets, as Prometheus users expect them (a last bucket counts the rest).
var latencyBounds = [...]time.Duration{
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
	5 * time.Second, 10 * time.Second,
}

// LatencyBucket is one bucket of [LatencySummary]: checks that took at most
// UpperBound (cumulative, as in a Prometheus histogram).
type LatencyBucket struct {
	UpperBound time.Duration
	Count      uint64
}

// LatencySummary is a histogram of how long checks took since Start.
type LatencySummary struct {
	Buckets []LatencyBucket // cumulative counts, by increasing bound
	Count   uint64          // all checks, including those above the last bound
	Sum     time.Duration   // total time of all checks
}

type Latency struct {
	counts [len(latencyBounds) + 1]uint64
	sum    int64
}

func (h *Latency) Record(ns int64) {
	i := 0
	for i < len(latencyBounds) && ns > int64(latencyBounds[i]) {
		i++
	}
	h.counts[i]++
	h.sum += ns
}

func (h *Latency) Stats() LatencySummary {
	st := LatencySummary{Buckets: make([]LatencyBucket, len(latencyBounds)), Sum: time.Duration(h.sum)}
	var cum uint64
	for i, b := range latencyBounds {
		cum += h.counts[i]
		st.Buckets[i] = LatencyBucket{UpperBound: b, Count: cum}
	}
	st.Count = cum + h.counts[len(latencyBounds)]
	return st
}

// Busy reports whether anything was recorded in second sec: the summary
// changes when that second leaves the window.
func (h *Hist) Busy(sec int64) bool { return h.secs[sec%Window].n > 0 }
