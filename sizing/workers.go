package sizing

import (
	"math"
	"time"
)

// MaxLoad is the largest offered load λ·E[S], in erlangs, that [Workers]
// accepts. It keeps every search short: the solver's cost grows with √a.
const MaxLoad = 1e9

// MaxVariability is the largest squared coefficient of variation (CA2, CS2)
// that [Workers] accepts. Heavy-tailed service times measured over a window
// stay far below it; it bounds the search.
const MaxVariability = 1e6

// fallbackWaitShare is the mean queueing delay, as a share of E[S], that
// Workers sizes for when the SLO itself is unreachable.
const fallbackWaitShare = 0.1

// Params describes one pipeline and its target for [Workers].
type Params struct {
	// Lambda is the arrival rate in jobs per second; finite, ≥ 0.
	Lambda float64
	// MeanService is the mean service time E[S]; ≥ 0.
	MeanService time.Duration
	// CA2 and CS2 are the squared coefficients of variation (variance/mean²)
	// of the inter-arrival and the service times: 1 for exponential (the
	// M/M/c case), 0 for fixed times. Finite, in [0, MaxVariability].
	CA2, CS2 float64
	// SLO is the target mean response time W_q + E[S]; > 0.
	SLO time.Duration
	// Headroom is the extra share of workers added on top of the least pool
	// that meets the SLO: 0.2 gives ⌈1.2·c⌉. Finite, ≥ 0.
	Headroom float64
	// Min and Max bound the result. Min 0 means 1; Max 0 means no bound.
	// When both are set, Max ≥ Min.
	Min, Max int
}

// Decision is the result of [Workers].
type Decision struct {
	// Workers is the pool size to use: Needed scaled by the headroom and
	// clamped to [Min, Max].
	Workers int
	// Needed is the least c > a with W_q + E[S] ≤ SLO, before headroom and
	// clamping; 0 when the SLO is unreachable.
	Needed int
	// Load is the offered load a = λ·E[S] in erlangs (busy workers on average).
	Load float64
	// Utilization is a / Workers; at or above 1 the queue is unstable.
	Utilization float64
	// WaitProb is the Erlang C probability of waiting at Workers.
	WaitProb float64
	// Wait is the predicted mean queueing delay W_q at Workers (Allen–Cunneen);
	// it saturates at the largest Duration when the queue is unstable.
	Wait time.Duration
	// Response is Wait + E[S], saturating like Wait.
	Response time.Duration
	// Meets reports whether Response ≤ SLO at Workers. It is false when the
	// SLO is unreachable or when Max cut the pool below Needed.
	Meets bool
}

// Workers returns the least number of workers c that meets the mean response
// time target, W_q + E[S] ≤ SLO, where W_q is the Allen–Cunneen G/G/c
// estimate (see [WaitGGC]); then it adds the headroom and clamps to
// [Min, Max].
//
// The search walks c upward from ⌊a⌋+1, the least stable pool, advancing the
// Erlang B recurrence by one step per candidate. W_q falls monotonically in c,
// so the first c that meets the target is the least one, and the walk is short:
// it starts about 10·√a below a (see [ErlangB]) and ends within about 12·√a
// above it for any valid Params, so λ = 10⁶/s with E[S] = 20 ms (a = 20,000)
// takes a few thousand steps. It never loops without bound and never returns
// NaN.
//
// Errors: a *[ParamError] (errors.Is [ErrInvalid]) when a field is out of
// its domain, with a zero Decision; [ErrUnreachable] when E[S] ≥ SLO, with a
// Decision sized so that the mean wait is at most a tenth of E[S] (plus
// headroom, clamped), Needed 0 and Meets false.
func Workers(p Params) (Decision, error) {
	if err := p.validate(); err != nil {
		return Decision{}, err
	}
	es := p.MeanService.Seconds()
	slo := p.SLO.Seconds()
	a := p.Lambda * es
	v := (p.CA2 + p.CS2) / 2
	lo, hi := p.Min, p.Max
	if lo < 1 {
		lo = 1
	}
	if hi == 0 {
		hi = math.MaxInt32
	}

	var err error
	target := slo - es
	if target <= 0 {
		err = ErrUnreachable
		target = fallbackWaitShare * es
	}
	needed := leastWorkers(a, es, v, target)

	c := needed
	if p.Headroom > 0 {
		if f := math.Ceil(float64(needed) * (1 + p.Headroom)); f < float64(hi) {
			c = int(f)
		} else {
			c = hi
		}
	}
	c = max(lo, min(c, hi))

	d := Decision{Workers: c, Needed: needed, Load: a, Utilization: a / float64(c)}
	var wq float64
	if a >= float64(c) {
		d.WaitProb = 1
		wq = math.Inf(1)
		if v == 0 && a == float64(c) {
			wq = 0
		}
	} else if a > 0 {
		d.WaitProb = ErlangC(c, a)
		wq = v * d.WaitProb * es / (float64(c) - a)
	}
	d.Wait = seconds(wq)
	d.Response = seconds(wq + es)
	if err != nil {
		d.Needed = 0
		return d, err
	}
	d.Meets = wq+es <= slo
	return d, nil
}

// leastWorkers returns the least c > a with v·P_W(c, a)·es/(c - a) ≤ target.
// The arguments are validated: a in [0, MaxLoad], v in [0, MaxVariability],
// es ≥ 0, target > 0.
func leastWorkers(a, es, v, target float64) int {
	c0 := int(math.Floor(a)) + 1
	if a == 0 || es == 0 || v == 0 {
		return c0
	}
	k, b := bStart(c0, a)
	for k++; k <= c0; k++ {
		b = bStep(k, a, b)
	}
	// A backstop far beyond the analytic walk length (about 12·√a + 100 steps
	// for valid inputs); reaching it would be a bug, not a slow answer.
	limit := c0 + 64*int(math.Sqrt(a)) + 4096
	c := c0
	for ; c < limit; c++ {
		if c > c0 {
			b = bStep(c, a, b)
		}
		if v*erlangCFromB(c, a, b)*es/(float64(c)-a) <= target {
			break
		}
	}
	return c
}

// seconds converts to a Duration, rounding to the nanosecond and saturating
// at the largest one.
func seconds(s float64) time.Duration {
	if s >= float64(math.MaxInt64)/1e9 || math.IsNaN(s) {
		return math.MaxInt64
	}
	return time.Duration(math.Round(s * 1e9))
}

func (p Params) validate() error {
	bad := func(field string, value float64, reason string) error {
		return &ParamError{Field: field, Value: value, Reason: reason}
	}
	switch {
	case !finiteNonNeg(p.Lambda):
		return bad("Lambda", p.Lambda, "must be finite and non-negative")
	case p.MeanService < 0:
		return bad("MeanService", p.MeanService.Seconds(), "must be non-negative")
	case !finiteNonNeg(p.CA2) || p.CA2 > MaxVariability:
		return bad("CA2", p.CA2, "must be in [0, MaxVariability]")
	case !finiteNonNeg(p.CS2) || p.CS2 > MaxVariability:
		return bad("CS2", p.CS2, "must be in [0, MaxVariability]")
	case p.SLO <= 0:
		return bad("SLO", p.SLO.Seconds(), "must be positive")
	case !finiteNonNeg(p.Headroom):
		return bad("Headroom", p.Headroom, "must be finite and non-negative")
	case p.Min < 0:
		return bad("Min", float64(p.Min), "must be non-negative")
	case p.Max < 0:
		return bad("Max", float64(p.Max), "must be non-negative")
	case p.Max > 0 && p.Max < p.Min:
		return bad("Max", float64(p.Max), "must be at least Min")
	case p.Max > math.MaxInt32 || p.Min > math.MaxInt32:
		return bad("Max", float64(p.Max), "must fit in 32 bits")
	}
	if a := p.Lambda * p.MeanService.Seconds(); a > MaxLoad {
		return bad("Lambda", p.Lambda, "offered load λ·E[S] must be at most MaxLoad")
	}
	return nil
}
