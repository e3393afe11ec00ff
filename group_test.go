package cpra_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
)

// slow delays each delivery, so later alerts wait for earlier ones.
type slow struct {
	next  alert.Notifier
	delay time.Duration
}

func (s slow) Notify(ctx context.Context, a alert.Alert) error {
	time.Sleep(s.delay)
	return s.next.Notify(ctx, a)
}

func TestGrouping(t *testing.T) {
	for _, delay := range []time.Duration{0, 7 * time.Second} {
		t.Run(fmt.Sprintf("delivery takes %v", delay), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				e, err := cpra.New(cpra.WithNotifier(slow{rec, delay}), cpra.WithGrouping("zone", 5*time.Second),
					cpra.WithNotifyTimeout(time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				var eu, us, solo atomic.Bool
				add := func(name string, labels map[string]string, down *atomic.Bool) {
					if _, err := e.Add(cpra.Monitor{Name: name, Interval: time.Second, Labels: labels, Check: outage{down}}); err != nil {
						t.Fatal(err)
					}
				}
				for i := range 500 {
					add(fmt.Sprintf("eu-%d", i), map[string]string{"zone": "eu"}, &eu)
				}
				add("us-0", map[string]string{"zone": "us"}, &us)
				add("plain", nil, &solo)
				e.Start(context.Background())
				time.Sleep(10 * time.Second)
				eu.Store(true)
				us.Store(true)
				solo.Store(true)
				time.Sleep(20 * time.Second)
				eu.Store(false)
				us.Store(false)
				solo.Store(false)
				time.Sleep(30 * time.Second)
				stats := e.Stats()
				shutdown(t, e)

				rec.mu.Lock()
				defer rec.mu.Unlock()
				var calls []string
				per := map[string][]string{} // each monitor's codes, in delivery order
				for _, a := range rec.alerts {
					if a.Group == nil {
						calls = append(calls, a.Monitor+" "+a.Code.String())
						per[a.Monitor] = append(per[a.Monitor], a.Code.String())
						continue
					}
					calls = append(calls, fmt.Sprintf("%s %s x%d", a.Monitor, a.Code, len(a.Group)))
					if a.Labels["zone"] != "eu" {
						t.Errorf("group %s has labels %v", a.Monitor, a.Labels)
					}
					for _, m := range a.Group {
						if m.Code != a.Code || m.Group != nil {
							t.Errorf("member %s of a %s group: code %s", m.Monitor, a.Code, m.Code)
						}
						per[m.Monitor] = append(per[m.Monitor], m.Code.String())
					}
				}
				want := []string{"zone=eu yellow x500", "zone=eu red x500", "zone=eu green x500"}
				got := slicesWithout(calls, "us-0", "plain")
				if strings.Join(got, ", ") != strings.Join(want, ", ") {
					t.Errorf("grouped deliveries %q, want %q", got, want)
				}
				for name, codes := range per {
					if c := strings.Join(codes, " "); c != "yellow red green" {
						t.Errorf("%s got %q in that order, want yellow red green", name, c)
					}
				}
				if len(per) != 502 {
					t.Errorf("%d monitors alerted, want 502", len(per))
				}
				if stats.AlertsGrouped != 1500 {
					t.Errorf("AlertsGrouped %d, want 1500", stats.AlertsGrouped)
				}
			})
		})
	}
}

// slicesWithout drops the entries about the named monitors.
func slicesWithout(calls []string, names ...string) []string {
	var out []string
next:
	for _, c := range calls {
		for _, n := range names {
			if strings.HasPrefix(c, n+" ") {
				continue next
			}
		}
		out = append(out, c)
	}
	return out
}

func TestGroupingRefused(t *testing.T) {
	for _, o := range []cpra.Option{cpra.WithGrouping("", time.Second), cpra.WithGrouping("zone", 0)} {
		if _, err := cpra.New(o); err == nil {
			t.Error("a bad WithGrouping was accepted")
		}
	}
}

// A Route (a map) as the engine's notifier: grouping must not compare it.
func TestGroupingWithRoute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(alert.Route{alert.Red: rec}), cpra.WithGrouping("zone", time.Second))
		var down atomic.Bool
		for i := range 3 {
			e.Add(cpra.Monitor{Name: fmt.Sprintf("m%d", i), Interval: time.Second, FailureThreshold: 1,
				Labels: map[string]string{"zone": "a"}, Check: outage{&down}})
		}
		e.Start(context.Background())
		down.Store(true)
		time.Sleep(5 * time.Second)
		shutdown(t, e)
		if got := rec.codes(""); got != "red" || len(rec.alerts[0].Group) != 3 {
			t.Errorf("alerts %q, want one red group of 3", got)
		}
	})
}

// Monitors sharing their own notifier share groups; a monitor with another
// notifier of its own is not grouped with them.
func TestGroupingOwnNotifiers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shared, other := &recorder{}, &recorder{}
		route := alert.Route{alert.Red: shared} // one value for many monitors, as a config file shares it
		e, _ := cpra.New(cpra.WithGrouping("zone", time.Second))
		var down atomic.Bool
		zone := map[string]string{"zone": "a"}
		for i := range 4 {
			e.Add(cpra.Monitor{Name: fmt.Sprintf("m%d", i), Interval: time.Second, FailureThreshold: 1,
				Labels: zone, Notify: route, Check: outage{&down}})
		}
		e.Add(cpra.Monitor{Name: "x", Interval: time.Second, FailureThreshold: 1, Labels: zone,
			Notify: alert.Route{alert.Red: other}, Check: outage{&down}})
		e.Start(context.Background())
		down.Store(true)
		time.Sleep(5 * time.Second)
		shutdown(t, e)
		if got := shared.codes(""); got != "red" || len(shared.alerts[0].Group) != 4 {
			t.Errorf("shared route got %q, want one red group of 4", got)
		}
		if got := other.codes(""); got != "red" || other.alerts[0].Group != nil || other.alerts[0].Monitor != "x" {
			t.Errorf("own route got %q, want x's plain red", got)
		}
	})
}
