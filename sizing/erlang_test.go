package sizing

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"testing"
)

// erlangCDirect evaluates the textbook Erlang C formula
//
//	P_W = (a^c/c!)·c/(c−a) / (Σ_{k<c} a^k/k! + (a^c/c!)·c/(c−a))
//
// with 256-bit floats, as an oracle independent of the recurrence.
func erlangCDirect(c int, a float64) float64 {
	const prec = 256
	fa := new(big.Float).SetPrec(prec).SetFloat64(a)
	term := new(big.Float).SetPrec(prec).SetInt64(1) // a^k/k!
	sum := new(big.Float).SetPrec(prec)
	for k := 0; k < c; k++ {
		sum.Add(sum, term)
		term.Mul(term, fa)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(k+1)))
	}
	// term is now a^c/c!
	last := new(big.Float).SetPrec(prec).Mul(term, new(big.Float).SetPrec(prec).SetFloat64(float64(c)/(float64(c)-a)))
	den := new(big.Float).SetPrec(prec).Add(sum, last)
	p, _ := new(big.Float).Quo(last, den).Float64()
	return p
}

// erlangBFull runs the recurrence from zero servers, without the fast start.
func erlangBFull(c int, a float64) float64 {
	b := 1.0
	for k := 1; k <= c; k++ {
		b = bStep(k, a, b)
	}
	return b
}

func relDiff(x, y float64) float64 {
	if x == y {
		return 0
	}
	return math.Abs(x-y) / math.Max(math.Abs(x), math.Abs(y))
}

// TestPublishedValues compares with values printed in public references:
//
//   - Wolfram Language documentation, ErlangC: ErlangC[3, 2] = 4/9, and
//     ErlangB: ErlangB[3, 2] = 4/19.
//   - Erlang B traffic tables, as printed in teletraffic engineering
//     handbooks: 5 erlangs offered to 10 trunks block 1.84 % of calls, and
//     10 trunks carry 4.46 erlangs at 1 % blocking.
//   - The widely reproduced call-centre worked example of the Erlang C formula
//     (360 calls per half hour, 240 s handle time, so a = 48 erlangs, and 55
//     agents): probability of waiting 23.87 %, average speed of answer 8.18 s.
func TestPublishedValues(t *testing.T) {
	tests := []struct {
		name string
		got  float64
		want float64
		tol  float64
	}{
		{"ErlangC(3, 2)", ErlangC(3, 2), 4.0 / 9, 1e-15},
		{"ErlangB(3, 2)", ErlangB(3, 2), 4.0 / 19, 1e-15},
		{"ErlangB(10, 5)", ErlangB(10, 5), 0.0184, 5e-5},
		{"ErlangB(10, 4.46)", ErlangB(10, 4.46), 0.0100, 5e-5},
		{"ErlangC(55, 48)", ErlangC(55, 48), 0.2387, 5e-5},
		{"ASA seconds, 55 agents, 48 erlangs", WaitMMC(360.0/1800, 240, 55), 8.18, 5e-3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if math.Abs(tt.got-tt.want) > tt.tol {
				t.Errorf("got %.6f, want %.6f ± %g", tt.got, tt.want, tt.tol)
			}
		})
	}
}

func TestErlangCMatchesDirectFormula(t *testing.T) {
	for c := 1; c <= 60; c++ {
		for _, rho := range []float64{0.01, 0.2, 0.5, 0.8, 0.95, 0.999} {
			a := rho * float64(c)
			got, want := ErlangC(c, a), erlangCDirect(c, a)
			if relDiff(got, want) > 1e-12 {
				t.Errorf("ErlangC(%d, %g): got %.17g, want %.17g", c, a, got, want)
			}
		}
	}
}

// The fast start must not change the answer for large loads.
func TestErlangBFastStartMatchesFullRecurrence(t *testing.T) {
	for _, a := range []float64{100, 150.5, 999.5, 2e4, 1e5, 1e6} {
		s := math.Sqrt(a)
		for _, dc := range []float64{-40, -12, -3, -1, 0, 0.5, 1, 3, 12, 40} {
			c := int(a + dc*s)
			if c < 1 {
				continue
			}
			got, want := ErlangB(c, a), erlangBFull(c, a)
			if relDiff(got, want) > 1e-11 {
				t.Errorf("ErlangB(%d, %g): got %.17g, want %.17g (full recurrence)", c, a, got, want)
			}
		}
	}
}

func TestErlangCFiniteAndMonotone(t *testing.T) {
	maxC := 10000
	step := 1
	if testing.Short() {
		step = 7
	}
	fracs := []float64{0.001, 0.3, 0.7, 0.9, 0.99, 0.999}
	for c := 1; c <= maxC; c += step {
		prev := -1.0
		for _, f := range fracs {
			a := f * float64(c)
			p := ErlangC(c, a)
			if math.IsNaN(p) || p < 0 || p > 1 {
				t.Fatalf("ErlangC(%d, %g): got %v, want a value in [0, 1]", c, a, p)
			}
			if p < prev {
				t.Fatalf("ErlangC(%d, %g) = %v < %v at a smaller load: not increasing in a", c, a, p, prev)
			}
			prev = p
		}
	}
	// Decreasing in c at fixed a.
	for _, a := range []float64{0.5, 7.3, 480, 25000} {
		prev := 2.0
		for c := int(a) + 1; c < int(a)+1+int(10*math.Sqrt(a))+20; c++ {
			p := ErlangC(c, a)
			if p > prev {
				t.Fatalf("ErlangC(%d, %g) = %v > %v with one server less: not decreasing in c", c, a, p, prev)
			}
			prev = p
		}
		if prev > 1e-6 {
			t.Errorf("ErlangC far above the load, a = %g: got %v, want near 0", a, prev)
		}
	}
}

func TestErlangHugeLoad(t *testing.T) {
	for _, a := range []float64{709, 710, 1e4, 1e6} {
		c := int(a)
		for _, cc := range []int{c, c + 1, c + 1000, 2 * c} {
			b, p := ErlangB(cc, a), ErlangC(cc, a)
			if math.IsNaN(b) || math.IsNaN(p) || b < 0 || b > 1 || p < 0 || p > 1 {
				t.Errorf("c = %d, a = %g: got B %v, C %v, want both in [0, 1]", cc, a, b, p)
			}
		}
	}
	// At a = c = 10^6 the blocking is about √(2/(π·a)).
	if got, want := ErlangB(1e6, 1e6), math.Sqrt(2/(math.Pi*1e6)); relDiff(got, want) > 1e-3 {
		t.Errorf("ErlangB(1e6, 1e6): got %v, want about %v", got, want)
	}
}

func TestErlangDomain(t *testing.T) {
	tests := []struct {
		c      int
		a      float64
		wantB  float64
		wantC  float64
		wantOK bool
	}{
		{0, 1, 1, 1, false},
		{-3, 1, 1, 1, false},
		{3, math.NaN(), 1, 1, false},
		{3, math.Inf(1), 1, 1, false},
		{3, -1, 0, 0, false},
		{3, 0, 0, 0, true},
		{3, 3, ErlangB(3, 3), 1, true},
		{3, 5, ErlangB(3, 5), 1, true},
		{1, 0.5, 1.0 / 3, 0.5, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("c=%d,a=%v", tt.c, tt.a), func(t *testing.T) {
			if got := ErlangB(tt.c, tt.a); got != tt.wantB && relDiff(got, tt.wantB) > 1e-15 {
				t.Errorf("ErlangB: got %v, want %v", got, tt.wantB)
			}
			if got := ErlangC(tt.c, tt.a); relDiff(got, tt.wantC) > 1e-15 {
				t.Errorf("ErlangC: got %v, want %v", got, tt.wantC)
			}
			err := CheckLoad(tt.c, tt.a)
			if got := err == nil; got != tt.wantOK {
				t.Errorf("CheckLoad: got error %v, want ok = %v", err, tt.wantOK)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("CheckLoad: got %v, want an error matching ErrInvalid", err)
			}
		})
	}
}

func TestWait(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		// M/M/1: W_q = ρ·E[S]/(1-ρ).
		{"M/M/1 rho=0.5", WaitMMC(0.5, 1, 1), 1},
		{"M/M/1 rho=0.9", WaitMMC(0.9, 1, 1), 9},
		// M/M/2, a = 1: P_W = 1/3, W_q = (1/3)·1/(2-1).
		{"M/M/2 a=1", WaitMMC(1, 1, 2), 1.0 / 3},
		{"ca2=cs2=1 is M/M/c", WaitGGC(1, 1, 2, 1, 1), 1.0 / 3},
		// M/D/1 (cs2 = 0): Pollaczek–Khinchine gives ρ·E[S]/(2(1-ρ)), which
		// Allen–Cunneen reproduces exactly for one server.
		{"M/D/1 rho=0.5", WaitGGC(0.5, 1, 1, 1, 0), 0.5},
		{"D/D/1", WaitGGC(0.5, 1, 1, 0, 0), 0},
		{"D/D/1 full", WaitGGC(1, 1, 1, 0, 0), 0},
		{"unstable", WaitMMC(2, 1, 1), inf},
		{"unstable GGC", WaitGGC(2, 1, 1, 1, 0), inf},
		{"no arrivals", WaitMMC(0, 1, 4), 0},
		{"negative lambda", WaitMMC(-1, 1, 1), nan},
		{"zero servers", WaitMMC(1, 1, 0), nan},
		{"NaN cs2", WaitGGC(0.5, 1, 1, 1, nan), nan},
		{"negative ca2", WaitGGC(0.5, 1, 1, -1, 1), nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			switch {
			case math.IsNaN(tt.want):
				if !math.IsNaN(tt.got) {
					t.Errorf("got %v, want NaN", tt.got)
				}
			case math.IsInf(tt.want, 1):
				if !math.IsInf(tt.got, 1) {
					t.Errorf("got %v, want +Inf", tt.got)
				}
			case relDiff(tt.got, tt.want) > 1e-12:
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}
