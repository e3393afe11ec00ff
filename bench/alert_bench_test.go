package bench

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/pulse"
	"github.com/ziad/cpra/store"
)

// stormInterval is the interval of the monitors that fail in the storm:
// short, so that their next checks, spread over it by phase, all come soon
// after the failure begins.
const stormInterval = 2 * time.Second

// redReceiver is a loopback webhook receiver that counts red alerts per
// monitor and notes when the expected number of monitors have gone red.
type redReceiver struct {
	mu       sync.Mutex
	reds     map[string]int
	want     int
	dups     int
	unwanted []string // red monitors that should not have failed, or other codes
	isFailer func(name string) bool
	delay    lagRecorder // from the alert's time to its arrival
	all      chan time.Time
}

func (r *redReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var p alert.Payload
	if err := json.NewDecoder(req.Body).Decode(&p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.Code != "red" || !r.isFailer(p.Monitor) {
		r.unwanted = append(r.unwanted, p.Code+" "+p.Monitor)
		return
	}
	r.reds[p.Monitor]++
	if r.reds[p.Monitor] > 1 {
		r.dups++
		return
	}
	r.delay.add(time.Since(p.Time))
	if len(r.reds) == r.want {
		r.all <- time.Now()
	}
}

// BenchmarkAlertStorm runs n monitors, all healthy, with a webhook notifier
// posting to a loopback receiver. Nine in ten check every 60s; the tenth
// that will fail checks every 2s (stormInterval) with FailureThreshold 1.
// Then all of those start failing at once, and the benchmark reports the
// time from that moment until the receiver has one red alert for each of
// them (s-to-all-reds, which includes up to 2s of waiting for their next
// checks), the reds delivered per second over that time, how long each red
// took from the failed check to the receiver (red-delay p50/p99/max), and
// the alerts the engine gave up on (alerts-failed, which must be 0). The
// engine runs with its default worker bounds.
func BenchmarkAlertStorm(b *testing.B) { alertStorm(b, false) }

// BenchmarkAlertStormDurable is BenchmarkAlertStorm with the engine keeping
// its state in a file (package store): every red is written to the outbox
// before it is sent, and each failing monitor's episode is written once. It
// adds the changes written per second (store-changes/s).
func BenchmarkAlertStormDurable(b *testing.B) { alertStorm(b, true) }

// countingStore counts the changes written to a store.
type countingStore struct {
	cpra.Store
	n atomic.Int64
}

func (c *countingStore) Write(cs []cpra.Change) error {
	c.n.Add(int64(len(cs)))
	return c.Store.Write(cs)
}

func alertStorm(b *testing.B, durable bool) {
	for _, sz := range sizes(b) {
		b.Run(sz.name, func(b *testing.B) {
			ns := names(sz.n)
			failers := make(map[string]bool, sz.n/10)
			for i := 0; i < sz.n; i += 10 {
				failers[ns[i]] = true
			}
			var failing atomic.Bool
			errDown := errors.New("service unavailable")
			failer := pulse.CheckerFunc(func(context.Context) error {
				if failing.Load() {
					return errDown
				}
				return nil
			})
			// A transport that keeps a connection per alert worker, as a
			// user expecting bursts would configure; the default keeps two
			// per host and would spend the storm opening connections.
			tr := &http.Transport{MaxIdleConnsPerHost: 1024}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}

			var elapsed time.Duration
			var st cpra.Stats
			var rcv *redReceiver
			var written int64
			for b.Loop() {
				b.StopTimer()
				failing.Store(false)
				rcv = &redReceiver{reds: make(map[string]int, len(failers)), want: len(failers),
					isFailer: func(name string) bool { return failers[name] }, all: make(chan time.Time, 1)}
				srv := httptest.NewServer(rcv)
				hook, err := alert.Webhook(srv.URL+"/alerts", alert.WithHTTPClient(client))
				if err != nil {
					b.Fatal(err)
				}
				opts := []cpra.Option{cpra.WithCapacity(sz.n), cpra.WithNotifier(hook)}
				var cs *countingStore
				var file *store.File
				if durable {
					if file, err = store.Open(filepath.Join(b.TempDir(), "state")); err != nil {
						b.Fatal(err)
					}
					cs = &countingStore{Store: file}
					opts = append(opts, cpra.WithStore(cs, 0))
				}
				e, err := cpra.New(opts...)
				if err != nil {
					b.Fatal(err)
				}
				for i, name := range ns {
					m := cpra.Monitor{Name: name, Check: noop, Interval: time.Minute, Timeout: time.Second}
					if i%10 == 0 {
						m.Check, m.Interval, m.FailureThreshold = failer, stormInterval, 1
					}
					if _, err := e.Add(m); err != nil {
						b.Fatal(err)
					}
				}
				if err := e.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				// Every failer passes at least once before the storm.
				time.Sleep(stormInterval + time.Second)
				b.StartTimer()

				var before int64
				if cs != nil {
					before = cs.n.Load()
				}
				t0 := time.Now()
				failing.Store(true)
				select {
				case done := <-rcv.all:
					elapsed = done.Sub(t0)
				case <-time.After(2 * time.Minute):
					rcv.mu.Lock()
					got := len(rcv.reds)
					rcv.mu.Unlock()
					b.Fatalf("%d of %d reds after 2m; stats %+v", got, rcv.want, e.Stats())
				}

				b.StopTimer()
				if cs != nil {
					written = cs.n.Load() - before
				}
				st = e.Stats()
				stop(b, e)
				if file != nil {
					file.Close()
				}
				tr.CloseIdleConnections()
				pulse.CloseIdleConnections()
				srv.Close()
				b.StartTimer()
			}
			if st.AlertsFailed > 0 || len(rcv.unwanted) > 0 {
				b.Fatalf("%d alerts failed; %d unexpected alerts, e.g. %q", st.AlertsFailed, len(rcv.unwanted), rcv.unwanted[:min(3, len(rcv.unwanted))])
			}
			b.ReportMetric(elapsed.Seconds(), "s-to-all-reds")
			b.ReportMetric(float64(rcv.want)/elapsed.Seconds(), "reds/s")
			p50, p99, mx := rcv.delay.percentiles()
			b.ReportMetric(float64(p50)/1e6, "red-delay-p50-ms")
			b.ReportMetric(float64(p99)/1e6, "red-delay-p99-ms")
			b.ReportMetric(float64(mx)/1e6, "red-delay-max-ms")
			b.ReportMetric(float64(st.AlertsFailed), "alerts-failed")
			b.ReportMetric(float64(rcv.dups), "dup-reds")
			b.ReportMetric(float64(st.Alert.Workers), "alert-workers")
			if durable {
				b.ReportMetric(float64(written)/elapsed.Seconds(), "store-changes/s")
			}
		})
	}
}
