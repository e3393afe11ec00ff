package cpra_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

func ExampleNew() {
	e, err := cpra.New(
		cpra.WithWorkers(2, 64),
		cpra.WithQueueCapacity(10_000),
		cpra.WithShutdownTimeout(10*time.Second),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	id, err := e.Add(cpra.Monitor{
		Name:     "api",
		Interval: time.Minute,
		Check:    pulse.CheckerFunc(func(ctx context.Context) error { return nil }),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	st, _ := e.Status(id)
	fmt.Println(st.Name, st.State, st.Interval, st.Timeout)
	_, err = e.Add(cpra.Monitor{Name: "api", Check: pulse.CheckerFunc(func(context.Context) error { return nil })})
	fmt.Println(err)
	// Output:
	// api unknown 1m0s 10s
	// cpra: monitor "api": Name: name already in use
}

// A custom notifier receives every code of every monitor that has no
// notifier of its own; here it prints them. The monitor's target fails
// twice, then a remediation repairs it.
func Example_customNotifier() {
	var broken atomic.Bool
	broken.Store(true)
	done := make(chan struct{})
	print := alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error {
		fmt.Println(a.Monitor, a.Code, a.Attempt)
		if a.Code == alert.Green {
			close(done)
		}
		return nil
	})
	e, _ := cpra.New(cpra.WithNotifier(print))
	e.Add(cpra.Monitor{
		Name:             "cache",
		Interval:         20 * time.Millisecond,
		FailureThreshold: 2,
		Check: pulse.CheckerFunc(func(ctx context.Context) error {
			if broken.Load() {
				return errors.New("connection refused")
			}
			return nil
		}),
		Remediate: intervene.RemediatorFunc(func(ctx context.Context, inc intervene.Incident) error {
			broken.Store(false)
			return nil
		}),
	})
	e.Start(context.Background())
	<-done
	e.Shutdown(context.Background())
	// Output:
	// cache yellow 0
	// cache cyan 1
	// cache green 1
}

func ExampleEngine_Stats() {
	e, _ := cpra.New()
	for i := range 3 {
		e.Add(cpra.Monitor{Name: fmt.Sprint("svc-", i), Interval: 10 * time.Millisecond,
			Check: pulse.CheckerFunc(func(context.Context) error { return nil })})
	}
	e.Start(context.Background())
	for e.Stats().ChecksRun < 30 {
		time.Sleep(10 * time.Millisecond)
	}
	e.Shutdown(context.Background())
	st := e.Stats()
	fmt.Println(st.Monitors, st.ChecksFailed, st.ChecksRun >= 30)
	// Output: 3 0 true
}

// Five monitors of one zone fail together; the notifier receives one
// grouped red instead of five.
func ExampleWithGrouping() {
	done := make(chan struct{})
	print := alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error {
		fmt.Println(a.Monitor, a.Code, len(a.Group))
		close(done)
		return nil
	})
	e, _ := cpra.New(cpra.WithNotifier(print), cpra.WithGrouping("zone", 200*time.Millisecond))
	eu := map[string]string{"zone": "eu"}
	for i := range 5 {
		e.Add(cpra.Monitor{Name: fmt.Sprint("eu-", i), Interval: 20 * time.Millisecond, FailureThreshold: 1, Labels: eu,
			Check: pulse.CheckerFunc(func(context.Context) error { return errors.New("timeout") })})
	}
	e.Start(context.Background())
	<-done
	e.Shutdown(context.Background())
	// Output: zone=eu red 5
}

// The gateway and the service behind it fail together: only the gateway's
// red is sent, and the service is reported as suppressed.
func ExampleMonitor_dependsOn() {
	down := pulse.CheckerFunc(func(context.Context) error { return errors.New("unreachable") })
	red := make(chan string, 2)
	e, _ := cpra.New(cpra.WithNotifier(alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error {
		red <- a.Monitor + " " + a.Code.String()
		return nil
	})))
	api, _ := e.Add(cpra.Monitor{Name: "api", Interval: 20 * time.Millisecond, FailureThreshold: 1, Check: down,
		DependsOn: []cpra.Ref{{Name: "gateway"}}})
	e.Add(cpra.Monitor{Name: "gateway", Interval: 20 * time.Millisecond, FailureThreshold: 1, Check: down})
	e.Start(context.Background())
	fmt.Println(<-red)
	time.Sleep(100 * time.Millisecond)
	st, _ := e.Status(api)
	e.Shutdown(context.Background())
	fmt.Println(len(red), st.State, st.Suppressed)
	// Output:
	// gateway red
	// 0 down true
}
