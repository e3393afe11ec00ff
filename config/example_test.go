package config_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/config"
)

func ExampleLoad() {
	const file = `
monitors:
  - name: checkout-api
    labels: {team: payments}
    pulse_check:
      type: http
      interval: 15s
      timeout: 2s
      max_failures: 2
      config:
        url: https://checkout.example.com/health
        expected_status: [200, 204]
    codes:
      red: {dispatch: true, notify: log}
      green: {dispatch: true, notify: log}
  - name: postgres
    pulse_check:
      type: tcp
      config: {host: db.example.com, port: 5432}
`
	f, err := config.Load(strings.NewReader(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	for _, m := range f.Monitors {
		_, routed := m.Notify.(alert.Route)
		fmt.Printf("%s: every %v, down after %d failures, routed alerts: %v\n", m.Name, m.Interval, m.FailureThreshold, routed)
	}
	// Output:
	// checkout-api: every 15s, down after 2 failures, routed alerts: true
	// postgres: every 0s, down after 0 failures, routed alerts: false
}

func ExampleErrors() {
	const file = `monitors:
  - name: api
    pulse_check:
      type: http
      interval: 3x
      config: {url: http://api.internal/health, statuss: 200}
  - name: api
    pulse_check: {type: tcp, config: {address: "db:5432"}}
`
	_, err := config.Load(strings.NewReader(file))
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Println(e)
		}
	}
	// Output:
	// monitors[0] "api": pulse_check.interval: "3x" is not a duration (line 5)
	// monitors[0] "api": pulse_check.config.statuss: unknown field (did you mean "status"?) (line 6)
	// monitors[1] "api": name: already used by monitors[0] at line 2 (line 7)
}

func ExampleSyncer() {
	file := func(interval string) string {
		return `
defaults:
  pulse_check: {interval: ` + interval + `, timeout: 2s}
monitors:
  - name: api
    pulse_check:
      type: tcp
      config: {address: "api.internal:443"}
  - name: db
    pulse_check:
      type: tcp
      interval: 1m
      config: {address: "db.internal:5432"}
`
	}
	e, err := cpra.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Shutdown(context.Background())
	s := config.NewSyncer(e)
	defer s.Close() // after the engine has shut down: deferred first, runs last
	for _, interval := range []string{"30s", "15s"} {
		f, err := config.Load(strings.NewReader(file(interval)))
		if err != nil {
			fmt.Println(err)
			return
		}
		changes, err := s.Sync(f)
		fmt.Printf("%+v %v\n", changes, err)
	}
	// The defaults changed api's interval, not db's.

	// Output:
	// {Added:2 Replaced:0 Removed:0 Unchanged:0 Failed:0 Maintenance:0} <nil>
	// {Added:0 Replaced:1 Removed:0 Unchanged:1 Failed:0 Maintenance:0} <nil>
}

// A large file is read straight into an engine not started yet: each
// monitor goes in as it is read, and a file refused at its end leaves
// nothing behind.
func ExampleSyncer_SyncReader() {
	const file = `monitors:
  - name: db-1
    pulse_check: {type: tcp, interval: 1m, config: {address: "db-1.internal:5432"}}
  - name: db-2
    pulse_check: {type: tcp, interval: 1m, config: {address: "db-2.internal:5432"}}
`
	e, err := cpra.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Shutdown(context.Background())
	s := config.NewSyncer(e)
	defer s.Close() // after the engine has shut down

	// Refused: a duplicate name at the end.
	bad := file + "  - name: db-1\n    pulse_check: {type: tcp, config: {address: \"db-3.internal:5432\"}}\n"
	f, _, err := s.SyncReader(strings.NewReader(bad))
	fmt.Println(f == nil, err)
	fmt.Println("monitors:", e.Stats().Monitors)

	f, ch, err := s.SyncReader(strings.NewReader(file))
	if f == nil || err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("added %d, monitors: %d\n", ch.Added, e.Stats().Monitors)
	// Output:
	// true monitors[2] "db-1": name: already used by monitors[0] at line 2 (line 6)
	// monitors: 0
	// added 2, monitors: 2
}
