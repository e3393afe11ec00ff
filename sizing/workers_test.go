package sizing

import (
	"errors"
	"math"
	"testing"
	"time"
)

// bruteNeeded finds the least c > a meeting the target by evaluating ErlangC
// from scratch for every candidate.
func bruteNeeded(p Params) int {
	es, slo := p.MeanService.Seconds(), p.SLO.Seconds()
	a := p.Lambda * es
	v := (p.CA2 + p.CS2) / 2
	for c := int(math.Floor(a)) + 1; ; c++ {
		if v*ErlangC(c, a)*es/(float64(c)-a)+es <= slo {
			return c
		}
	}
}

func TestWorkersIsLeast(t *testing.T) {
	for _, lambda := range []float64{0.5, 10, 333, 5000, 1e5} {
		for _, es := range []time.Duration{100 * time.Microsecond, 3 * time.Millisecond, 40 * time.Millisecond} {
			for _, v := range [][2]float64{{1, 1}, {0, 1}, {1, 0}, {0.2, 4}, {1, 25}} {
				for _, slack := range []float64{1.01, 1.2, 2, 10} {
					p := Params{Lambda: lambda, MeanService: es, CA2: v[0], CS2: v[1],
						SLO: time.Duration(float64(es) * slack)}
					d, err := Workers(p)
					if err != nil {
						t.Fatalf("%+v: got error %v, want nil", p, err)
					}
					if want := bruteNeeded(p); d.Needed != want || d.Workers != want {
						t.Errorf("%+v: got Needed %d Workers %d, want %d", p, d.Needed, d.Workers, want)
					}
					if !d.Meets || d.Response > p.SLO {
						t.Errorf("%+v: got Meets %v Response %v, want a response within the SLO", p, d.Meets, d.Response)
					}
				}
			}
		}
	}
}

func TestWorkersCases(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name        string
		p           Params
		wantWorkers int
		wantNeeded  int
		wantMeets   bool
		wantErr     error
	}{
		{"no arrivals", Params{Lambda: 0, MeanService: 20 * ms, CA2: 1, CS2: 1, SLO: 50 * ms}, 1, 1, true, nil},
		{"no arrivals, min 4", Params{Lambda: 0, MeanService: 20 * ms, SLO: 50 * ms, Min: 4}, 4, 1, true, nil},
		{"zero service time", Params{Lambda: 1e6, SLO: ms, CA2: 1, CS2: 1}, 1, 1, true, nil},
		{"deterministic", Params{Lambda: 1000, MeanService: 10 * ms, SLO: 11 * ms}, 11, 11, true, nil},
		// M/M/1 at a = 0.5 waits E[S] on average: SLO 2·E[S] is just met by 1.
		{"M/M/1 boundary", Params{Lambda: 50, MeanService: 10 * ms, CA2: 1, CS2: 1, SLO: 20 * ms}, 1, 1, true, nil},
		{"headroom", Params{Lambda: 50, MeanService: 10 * ms, CA2: 1, CS2: 1, SLO: 20 * ms, Headroom: 0.5}, 2, 1, true, nil},
		{"max cuts", Params{Lambda: 1e4, MeanService: 10 * ms, CA2: 1, CS2: 1, SLO: 12 * ms, Max: 50}, 50, 104, false, nil},
		{"min lifts", Params{Lambda: 100, MeanService: 10 * ms, CA2: 1, CS2: 1, SLO: 100 * ms, Min: 8}, 8, 2, true, nil},
		{"service equals SLO", Params{Lambda: 100, MeanService: 20 * ms, CA2: 1, CS2: 1, SLO: 20 * ms}, 4, 0, false, ErrUnreachable},
		{"service above SLO, max", Params{Lambda: 1e4, MeanService: 30 * ms, CA2: 1, CS2: 1, SLO: 20 * ms, Max: 64}, 64, 0, false, ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Workers(tt.p)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if d.Workers != tt.wantWorkers || d.Needed != tt.wantNeeded || d.Meets != tt.wantMeets {
				t.Errorf("got Workers %d Needed %d Meets %v, want %d %d %v",
					d.Workers, d.Needed, d.Meets, tt.wantWorkers, tt.wantNeeded, tt.wantMeets)
			}
			if math.IsNaN(d.Utilization) || math.IsNaN(d.WaitProb) || d.Wait < 0 || d.Response < 0 {
				t.Errorf("got %+v, want no NaN and no negative time", d)
			}
		})
	}
}

func TestWorkersInvalid(t *testing.T) {
	ok := Params{Lambda: 100, MeanService: time.Millisecond, CA2: 1, CS2: 1, SLO: time.Second}
	tests := []struct {
		field string
		edit  func(*Params)
	}{
		{"Lambda", func(p *Params) { p.Lambda = -1 }},
		{"Lambda", func(p *Params) { p.Lambda = math.NaN() }},
		{"Lambda", func(p *Params) { p.Lambda = math.Inf(1) }},
		{"Lambda", func(p *Params) { p.Lambda = 1e13 }}, // load beyond MaxLoad
		{"MeanService", func(p *Params) { p.MeanService = -1 }},
		{"CA2", func(p *Params) { p.CA2 = math.NaN() }},
		{"CS2", func(p *Params) { p.CS2 = 2 * MaxVariability }},
		{"SLO", func(p *Params) { p.SLO = 0 }},
		{"Headroom", func(p *Params) { p.Headroom = math.Inf(1) }},
		{"Min", func(p *Params) { p.Min = -1 }},
		{"Max", func(p *Params) { p.Min, p.Max = 5, 4 }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			d, err := Workers(p)
			var pe *ParamError
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got error %v, want a *ParamError matching ErrInvalid", err)
			}
			if pe.Field != tt.field {
				t.Errorf("got field %q, want %q", pe.Field, tt.field)
			}
			if d != (Decision{}) {
				t.Errorf("got %+v, want a zero Decision", d)
			}
		})
	}
}

// The search stays short even at the extremes of the accepted domain.
func TestWorkersExtremes(t *testing.T) {
	tests := []Params{
		{Lambda: 1e6, MeanService: time.Second, CA2: MaxVariability, CS2: MaxVariability, SLO: time.Second + 1},
		{Lambda: 1e-3, MeanService: time.Second, CA2: MaxVariability, CS2: MaxVariability, SLO: time.Second + 1},
		{Lambda: MaxLoad, MeanService: time.Second, CA2: 1, CS2: 1, SLO: 2 * time.Second},
		{Lambda: 1e6, MeanService: 20 * time.Millisecond, CA2: 1, CS2: 1, SLO: 20*time.Millisecond + 1, Headroom: 1e300},
	}
	for _, p := range tests {
		start := time.Now()
		d, err := Workers(p)
		el := time.Since(start)
		if err != nil || !d.Meets || d.Needed < 1 || d.Workers < d.Needed {
			t.Errorf("%+v: got %+v, %v; want a pool that meets the SLO", p, d, err)
		}
		if el > 2*time.Second {
			t.Errorf("%+v: took %v, want well under a second", p, el)
		}
	}
}

// Acceptance: λ = 10^6/s, E[S] = 20 ms is solved in under a millisecond.
func TestWorkersFast(t *testing.T) {
	p := Params{Lambda: 1e6, MeanService: 20 * time.Millisecond, CA2: 1, CS2: 1, SLO: 25 * time.Millisecond}
	best := time.Hour
	for range 20 {
		start := time.Now()
		if _, err := Workers(p); err != nil {
			t.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	if best > time.Millisecond {
		t.Errorf("got %v for the best of 20 solves, want under 1ms", best)
	}
}
