package sizing

import "math"

// fastStartLoad is the offered load from which the Erlang B recurrence is
// started near its fixed point instead of at zero servers (see bStart).
const fastStartLoad = 100

// fastStartSpan, in standard deviations √a, is how far below min(c, a) the
// recurrence is started when a ≥ fastStartLoad. The start error shrinks by
// about exp(-fastStartSpan²/2) ≈ 2e-22 before it reaches k = min(c, a).
const fastStartSpan = 10

// bStart returns a server count k ≤ c and a value of B(k, a) from which the
// recurrence can be run up to c.
//
// For k well below a the recurrence B(k) = a·B(k-1)/(k + a·B(k-1)) has the
// attracting fixed point B = 1 - k/a, and its derivative there is k/a < 1, so
// an error in a start value decays geometrically. Starting fastStartSpan·√a
// below min(c, a) from 1 - k/a therefore gives B(c, a) to full float64
// precision in O(√a + |c - a|) steps instead of O(c), which matters for the
// solver at large loads (a = 10^6 needs 10^4 steps, not 10^6).
func bStart(c int, a float64) (int, float64) {
	if a < fastStartLoad {
		return 0, 1
	}
	k := math.Min(float64(c), a) - fastStartSpan*math.Sqrt(a)
	if k < 1 {
		return 0, 1
	}
	k0 := int(k)
	return k0, 1 - float64(k0)/a
}

// bStep advances the Erlang B recurrence from B(k-1, a) to B(k, a).
func bStep(k int, a, b float64) float64 {
	ab := a * b
	return ab / (float64(k) + ab)
}

// ErlangB returns the Erlang B blocking probability B(c, a): the share of
// arrivals that find all c servers busy in an M/M/c/c loss system with offered
// load a = λ·E[S] (in erlangs).
//
// It is computed by the recurrence B(0) = 1, B(k) = a·B(k-1) / (k + a·B(k-1)),
// which never forms a^c or c! and so stays finite and accurate for any load
// (a naive a^c/c! overflows at a ≈ 171 for c = a and at a ≈ 709 in general).
//
// The result is always in [0, 1]. Out-of-domain inputs give the conservative
// answer: 1 when c < 1 or a is NaN or +Inf, 0 when a ≤ 0 (and c ≥ 1).
// Use [CheckLoad] first to treat them as errors instead.
func ErlangB(c int, a float64) float64 {
	switch {
	case c < 1 || math.IsNaN(a) || math.IsInf(a, 1):
		return 1
	case a <= 0:
		return 0
	}
	return erlangB(c, a)
}

func erlangB(c int, a float64) float64 {
	k, b := bStart(c, a)
	// Past a, B falls faster than geometrically and underflows to 0 within
	// about 38·√a steps; stop there, so a huge c costs no more than that.
	for k++; k <= c && b > 0; k++ {
		b = bStep(k, a, b)
	}
	return b
}

// erlangCFromB turns B(c, a) into the Erlang C probability of waiting:
// P_W = c·B / (c - a·(1 - B)), valid for a < c.
func erlangCFromB(c int, a, b float64) float64 {
	fc := float64(c)
	p := fc * b / (fc - a*(1-b))
	switch {
	case p > 1 || math.IsNaN(p):
		return 1
	case p < 0:
		return 0
	}
	return p
}

// ErlangC returns the Erlang C probability P_W(c, a) that an arrival has to
// wait in an M/M/c queue with c servers and offered load a = λ·E[S] erlangs.
//
// It is derived from [ErlangB] as P_W = c·B(c, a) / (c - a·(1 - B(c, a))), so
// it is finite for any load. The queue is unstable when a ≥ c, and ErlangC
// then returns 1 (every arrival waits). The result is always in [0, 1].
// Out-of-domain inputs give the conservative answer: 1 when c < 1 or a is NaN
// or +Inf, 0 when a ≤ 0 (and c ≥ 1). Use [CheckLoad] to reject them instead.
func ErlangC(c int, a float64) float64 {
	switch {
	case c < 1 || math.IsNaN(a) || a >= float64(c):
		return 1
	case a <= 0:
		return 0
	}
	return erlangCFromB(c, a, erlangB(c, a))
}

// CheckLoad reports whether (c, a) is inside the domain of [ErlangB] and
// [ErlangC]: c ≥ 1 and a finite and ≥ 0. It returns a *[ParamError] (which
// matches [ErrInvalid] under errors.Is) naming the bad argument, or nil.
func CheckLoad(c int, a float64) error {
	if c < 1 {
		return &ParamError{Field: "c", Value: float64(c), Reason: "must be at least 1"}
	}
	if math.IsNaN(a) || math.IsInf(a, 0) || a < 0 {
		return &ParamError{Field: "a", Value: a, Reason: "must be finite and non-negative"}
	}
	return nil
}

// WaitMMC returns the mean time an arrival waits in the queue (before its
// service starts) in an M/M/c system: W_q = P_W(c, a)·E[S] / (c - a) with
// a = lambda·meanService. The result is in the unit of meanService, and
// lambda must be per that same unit (for example per second and seconds).
//
// It returns +Inf when the queue is unstable (a ≥ c), 0 when lambda or
// meanService is 0, and NaN when an argument is NaN, negative or infinite or
// c < 1.
func WaitMMC(lambda, meanService float64, c int) float64 {
	if !finiteNonNeg(lambda) || !finiteNonNeg(meanService) || c < 1 {
		return math.NaN()
	}
	a := lambda * meanService
	if a == 0 {
		return 0
	}
	if a >= float64(c) {
		return math.Inf(1)
	}
	return ErlangC(c, a) * meanService / (float64(c) - a)
}

// WaitGGC returns the Allen–Cunneen approximation of the mean waiting time in
// a G/G/c queue: the M/M/c value scaled by the variability of arrivals and
// service, W_q ≈ W_q(M/M/c) · (ca2 + cs2) / 2, where ca2 and cs2 are the
// squared coefficients of variation (variance / mean²) of the inter-arrival
// and service times. Exponential times have 1, fixed times 0, so ca2 = cs2 = 1
// gives back [WaitMMC].
//
// Units and special results are as for WaitMMC; ca2 and cs2 must be finite
// and non-negative, else the result is NaN.
func WaitGGC(lambda, meanService float64, c int, ca2, cs2 float64) float64 {
	if !finiteNonNeg(ca2) || !finiteNonNeg(cs2) {
		return math.NaN()
	}
	w := WaitMMC(lambda, meanService, c)
	if w == 0 || math.IsNaN(w) {
		return w
	}
	v := (ca2 + cs2) / 2
	if math.IsInf(w, 1) {
		// An unstable queue grows without bound unless nothing varies at all.
		if v == 0 && lambda*meanService <= float64(c) {
			return 0
		}
		return w
	}
	return w * v
}

func finiteNonNeg(x float64) bool {
	return !math.IsNaN(x) && !math.IsInf(x, 0) && x >= 0
}
