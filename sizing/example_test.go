package sizing_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/ziad/cpra/sizing"
)

func ExampleErlangC() {
	// Two erlangs of load on three servers: 4 arrivals in 9 wait.
	fmt.Printf("%.4f\n", sizing.ErlangC(3, 2))
	// A load far beyond the range of a^c/c! is no problem: one standard
	// deviation (√a servers) above the load, about 22 % wait.
	fmt.Printf("%.4f\n", sizing.ErlangC(1_001_000, 1_000_000))
	// Output:
	// 0.4444
	// 0.2235
}

func ExampleWaitGGC() {
	// λ = 80/s, E[S] = 10 ms on one server (ρ = 0.8): exponential service
	// waits 40 ms on average, fixed service times half as long.
	fmt.Printf("M/M/1 %.0f ms\n", 1e3*sizing.WaitGGC(80, 0.010, 1, 1, 1))
	fmt.Printf("M/D/1 %.0f ms\n", 1e3*sizing.WaitGGC(80, 0.010, 1, 1, 0))
	// Output:
	// M/M/1 40 ms
	// M/D/1 20 ms
}

func ExampleWorkers() {
	d, err := sizing.Workers(sizing.Params{
		Lambda:      1e6, // per second
		MeanService: 20 * time.Millisecond,
		CA2:         1,
		CS2:         1,
		SLO:         25 * time.Millisecond,
		Headroom:    0.1,
		Max:         50000,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("needed", d.Needed, "workers", d.Workers, "meets", d.Meets)
	fmt.Printf("utilisation %.3f\n", d.Utilization)
	// Output:
	// needed 20004 workers 22005 meets true
	// utilisation 0.909
}

func ExampleWorkers_unreachable() {
	d, err := sizing.Workers(sizing.Params{
		Lambda: 100, MeanService: 30 * time.Millisecond, CA2: 1, CS2: 1,
		SLO: 20 * time.Millisecond,
	})
	fmt.Println(errors.Is(err, sizing.ErrUnreachable), d.Workers, d.Meets)
	// Output:
	// true 6 false
}

func ExampleEstimator() {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	est := sizing.NewEstimator(10*time.Second, 10, start)
	rec := est.Recorder() // one per goroutine
	at := start
	for i := range 5000 {
		at = at.Add(2 * time.Millisecond) // 500 arrivals per second
		rec.Arrival(at)
		rec.Service(at, time.Duration(4+i%3*3)*time.Millisecond) // 4, 7, 10 ms
	}
	rec.Flush()
	s := est.Snapshot(at)
	fmt.Printf("λ %.0f/s E[S] %v cs² %.3f ca² %.0f\n", s.Lambda, s.MeanService.Round(time.Millisecond), s.CS2, s.CA2)
	d, _ := sizing.Workers(s.Params(10*time.Millisecond, 0, 1, 64))
	fmt.Println("workers", d.Workers)
	// Output:
	// λ 500/s E[S] 7ms cs² 0.122 ca² 0
	// workers 4
}

func ExampleDamper() {
	d := sizing.Damper{MaxStep: 0.5, Deadband: 0.1, DownAfter: 2}
	for _, target := range []int{10, 30, 30, 30, 9, 10, 10, 10, 10} {
		fmt.Print(d.Next(target), " ")
	}
	fmt.Println()
	// Output:
	// 10 15 22 30 30 15 10 10 10
}
