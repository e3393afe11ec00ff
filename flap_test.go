package cpra_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
)

// events lists a monitor's alerts as code, or code/flap for flap alerts.
func (r *recorder) events(monitor string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, a := range r.alerts {
		if a.Monitor != monitor {
			continue
		}
		ev := a.Code.String()
		if a.Flap != 0 {
			ev += "/" + a.Flap.String()
		}
		s = append(s, ev)
	}
	return strings.Join(s, " ")
}

func TestFlapping(t *testing.T) {
	flaps := "PPPPP" + strings.Repeat("FP", 20)
	tests := []struct {
		name   string
		checks string
		mon    cpra.Monitor
		want   string
		steady bool // never flaps
	}{
		// Up/down on every check with the default thresholds: only the
		// two flap alerts (a lone failure sends no yellow with flap
		// detection on); the end tells the state then.
		{name: "ends up", checks: flaps + strings.Repeat("P", 40), want: "yellow/flap-start green/flap-end"},
		{name: "ends down", checks: flaps + strings.Repeat("F", 40), want: "yellow/flap-start red/flap-end"},
		// A real outage of a monitor with flap detection: yellow on the
		// second failure in a row, then red, then green.
		{name: "steady outage", checks: "PPPPP" + strings.Repeat("F", 10) + strings.Repeat("P", 80), want: "yellow red green", steady: true},
		{name: "lone failure", checks: "PPPPPF" + strings.Repeat("P", 80), want: "", steady: true},
		// With thresholds of 1, each change would be a red or a green:
		// the ping-pong stops once the changes reach High, and nothing
		// else is sent until the end.
		{name: "ping-pong stops", checks: flaps + strings.Repeat("P", 40),
			mon:  cpra.Monitor{FailureThreshold: 1, SuccessThreshold: 1, Flap: cpra.FlapThresholds{High: 30, Low: 10}},
			want: "red green red green red yellow/flap-start green/flap-end"},
		{name: "ends down and remediation runs", checks: flaps + strings.Repeat("F", 40),
			mon:  cpra.Monitor{Remediate: &fixes{out: "E"}},
			want: "yellow/flap-start yellow/flap-end red"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				e, _ := cpra.New(cpra.WithNotifier(rec))
				m := tc.mon
				m.Name, m.Interval, m.Check = "api", time.Second, &script{out: tc.checks}
				if m.Flap.High == 0 {
					m.Flap.High = 50
				}
				id, err := e.Add(m)
				if err != nil {
					t.Fatal(err)
				}
				e.Start(context.Background())
				time.Sleep(time.Duration(5+len(flaps)-2) * time.Second)
				synctest.Wait()
				if st, _ := e.Status(id); !tc.steady && (!st.Flapping || st.FlapPercent < 50) {
					t.Errorf("while flapping: Flapping %v, FlapPercent %.1f; want true, at least 50", st.Flapping, st.FlapPercent)
				}
				time.Sleep(time.Duration(len(tc.checks)-len(flaps)+5) * time.Second)
				synctest.Wait()
				st, _ := e.Status(id)
				stats := e.Stats()
				shutdown(t, e)
				if got := rec.events("api"); got != tc.want {
					t.Errorf("alerts %q, want %q", got, tc.want)
				}
				if want := map[bool]uint64{false: 1, true: 0}[tc.steady]; st.Flapping || stats.FlapStarts != want {
					t.Errorf("after: Flapping %v, FlapStarts %d; want false, %d", st.Flapping, stats.FlapStarts, want)
				}
			})
		})
	}
}

func TestFlapThresholdsRefused(t *testing.T) {
	e, _ := cpra.New()
	for _, f := range []cpra.FlapThresholds{{High: 101}, {High: -1}, {High: 40, Low: 40}, {Low: 10}} {
		_, err := e.Add(cpra.Monitor{Name: "x", Check: &counter{}, Flap: f})
		if err == nil || !strings.Contains(err.Error(), "Flap.") {
			t.Errorf("Flap %+v: error %v, want one naming the Flap field", f, err)
		}
	}
}
