// Quickstart starts three HTTP services on loopback, monitors them with
// CPRA, breaks one, lets a remediator repair it, and prints every alert
// code as it happens: yellow (first failure), cyan (repair done, verifying),
// green (healthy again). It needs no outside network and exits by itself.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

// service is a tiny HTTP server whose /health answers 200 or 503.
type service struct {
	name    string
	url     string
	healthy atomic.Bool
	srv     *http.Server
}

func startService(name string) (*service, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &service{name: name, url: "http://" + ln.Addr().String() + "/health"}
	s.healthy.Store(true)
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.healthy.Load() {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})}
	go s.srv.Serve(ln)
	return s, nil
}

// httpCheck is a pulse.Checker written as a plain function: GET the URL,
// want a 200.
func httpCheck(url string) pulse.CheckerFunc {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d, want 200", resp.StatusCode)
		}
		return nil
	}
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	start := time.Now()
	green := make(chan struct{}, 1)

	// Print every alert; signal when the broken service is green again.
	printer := alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error {
		msg := ""
		if a.Err != nil {
			msg = a.Err.Error()
		}
		if a.Attempt > 0 {
			msg += fmt.Sprintf(" (remediation attempt %d)", a.Attempt)
		}
		fmt.Printf("%6.2fs  %-9s %-6s %s\n", time.Since(start).Seconds(), a.Monitor, a.Code, msg)
		if a.Code == alert.Green {
			select {
			case green <- struct{}{}:
			default:
			}
		}
		return nil
	})

	engine, err := cpra.New(cpra.WithNotifier(printer))
	if err != nil {
		return err
	}

	var services []*service
	for _, name := range []string{"checkout", "payments", "search"} {
		s, err := startService(name)
		if err != nil {
			return err
		}
		defer s.srv.Close()
		services = append(services, s)
		_, err = engine.Add(cpra.Monitor{
			Name:             name,
			Check:            httpCheck(s.url),
			Interval:         200 * time.Millisecond,
			Timeout:          time.Second,
			FailureThreshold: 2, // two failures in a row: down
			SuccessThreshold: 2, // two passes in a row: up again
			Remediate: intervene.RemediatorFunc(func(ctx context.Context, inc intervene.Incident) error {
				fmt.Printf("%6.2fs  %-9s restarting after %d failures: %v\n",
					time.Since(start).Seconds(), inc.Monitor, inc.Failures, inc.Err)
				s.healthy.Store(true) // the "restart" brings it back
				return nil
			}),
		})
		if err != nil {
			return err
		}
	}

	if err := engine.Start(context.Background()); err != nil {
		return err
	}
	fmt.Printf("monitoring %d services every 200ms\n", len(services))

	time.Sleep(time.Second)
	fmt.Printf("%6.2fs  payments  breaks (answers 503 from now on)\n", time.Since(start).Seconds())
	services[1].healthy.Store(false)

	select {
	case <-green:
	case <-time.After(10 * time.Second):
		return errors.New("payments did not recover within 10s")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := engine.Shutdown(ctx); err != nil {
		return err
	}
	st := engine.Stats()
	fmt.Printf("done: %d checks (%d failed), %d remediation, %d alerts sent\n",
		st.ChecksRun, st.ChecksFailed, st.Remediations, st.AlertsSent)
	if st.AlertsFailed > 0 {
		return fmt.Errorf("%d alerts were not delivered", st.AlertsFailed)
	}
	return nil
}
