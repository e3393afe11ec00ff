package etcd

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/pulse"
)

// TestLocationQuorum runs three members in three locations on one etcd,
// with monitors that need two locations to see them fail. The targets
// answer each location as the test says: one location seeing them down
// raises nothing; two raise one red per monitor, whose error names both;
// all seeing them up again sends one green each.
func TestLocationQuorum(t *testing.T) {
	ep := startEtcd(t)
	var mu sync.Mutex
	downFor := map[string]bool{} // location -> the targets are down for it
	checked := map[string]int{}  // location -> checks
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loc := r.Header.Get("X-Location")
		mu.Lock()
		checked[loc]++
		d := downFor[loc]
		mu.Unlock()
		if d {
			http.Error(w, "unreachable from "+loc, http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	setDown := func(locs ...string) {
		mu.Lock()
		clear(downFor)
		for _, l := range locs {
			downFor[l] = true
		}
		clear(checked)
		mu.Unlock()
	}

	rcv := newReceiver()
	var errMu sync.Mutex
	redErrs := map[string]error{}
	note := alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error {
		if a.Code == alert.Red {
			errMu.Lock()
			redErrs[a.Monitor] = a.Err
			errMu.Unlock()
		}
		return rcv.Notify(ctx, a)
	})
	const n = 20
	mons := fleetMonitors(n, func(m *cpra.Monitor) { m.Quorum, m.Timeout = 2, time.Second })
	var engines []*cpra.Engine
	for _, loc := range []string{"east", "west", "north"} {
		m := start(t, spec{endpoint: ep, name: loc + "-1", location: loc, notify: note, monitors: mons,
			each: func(_ string, i int, m *cpra.Monitor) {
				m.Check = pulse.MustHTTP(srv.URL+"/q/"+strconv.Itoa(i), pulse.WithHeader("X-Location", loc))
			}})
		engines = append(engines, m.eng)
	}
	waitFor(t, "every location checks the monitors", 60*time.Second, func() bool {
		sum := 0
		for _, e := range engines {
			sum += e.Stats().ShardsOwned
		}
		if sum != testShards {
			return false
		}
		setDown()
		time.Sleep(300 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		return checked["east"] > 0 && checked["west"] > 0 && checked["north"] > 0
	})

	// One location sees the targets down: nothing is raised.
	setDown("east")
	time.Sleep(2 * time.Second)
	for i := range n {
		if codes := rcv.codes["svc-"+strconv.Itoa(i)]; len(codes) != 0 {
			t.Fatalf("svc-%d: one location of three saw it down, yet %v", i, codes)
		}
	}
	// Two do: one red each, naming both.
	setDown("east", "west")
	waitCode(t, rcv, "svc-", n, alert.Red)
	errMu.Lock()
	for i := range n {
		name := "svc-" + strconv.Itoa(i)
		var qe *cpra.QuorumError
		if !errors.As(redErrs[name], &qe) {
			t.Errorf("%s: red error %v, want a *cpra.QuorumError", name, redErrs[name])
			continue
		}
		if !slices.Equal(qe.Locations, []string{"east", "west"}) || qe.Quorum != 2 {
			t.Errorf("%s: quorum error names %v (quorum %d), want [east west] (quorum 2)", name, qe.Locations, qe.Quorum)
		}
		if !strings.Contains(qe.Error(), "east, west") {
			t.Errorf("%s: error text %q does not name the locations", name, qe.Error())
		}
	}
	errMu.Unlock()
	// Everyone sees them up: one green each, and one red in all.
	setDown()
	waitCode(t, rcv, "svc-", n, alert.Green)
	time.Sleep(300 * time.Millisecond)
	oneEach(t, rcv, "svc-", n)
}
