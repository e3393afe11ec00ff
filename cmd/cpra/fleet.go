package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Health of a simulated service.
const (
	healthy = iota
	broken  // fails checks; a restart heals it
	wedged  // fails checks and restarts; heals by itself in time
)

// fleet is a set of simulated HTTP services served from one handler under
// the paths config.Generate uses: GET /svc/<i> answers 200 when the service
// is healthy and 503 otherwise, POST /svc/<i>/restart heals a broken service
// (and fails with 500 for a wedged one).
type fleet struct {
	mu    sync.Mutex
	state []uint8
	rng   *rand.Rand

	failRate float64 // chance per tick that a healthy service fails
	recover  float64 // chance per tick that a failed service heals by itself
}

func newFleet(n int, failRate float64, seed uint64) *fleet {
	return &fleet{
		state:    make([]uint8, n),
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		failRate: failRate,
		recover:  0.25,
	}
}

// step advances the simulation by one tick: some healthy services fail
// (one in four of them wedged), some failed ones recover.
func (f *fleet) step() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.state {
		switch {
		case s == healthy && f.rng.Float64() < f.failRate:
			if f.rng.IntN(4) == 0 {
				f.state[i] = wedged
			} else {
				f.state[i] = broken
			}
		case s != healthy && f.rng.Float64() < f.recover:
			f.state[i] = healthy
		}
	}
}

// run steps the fleet every tick until ctx ends.
func (f *fleet) run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.step()
		}
	}
}

func (f *fleet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/svc/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	num, action, _ := strings.Cut(rest, "/")
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 || i >= len(f.state) || (action != "" && action != "restart") {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	s := f.state[i]
	if action == "restart" && s == broken {
		f.state[i] = healthy
	}
	f.mu.Unlock()
	switch {
	case action == "restart" && r.Method != http.MethodPost:
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case action == "restart" && s == wedged:
		http.Error(w, "restart failed", http.StatusInternalServerError)
	case action == "restart":
		w.Write([]byte("restarted\n"))
	case s != healthy:
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	default:
		w.Write([]byte("ok\n"))
	}
}
