// Customnotifier writes its own alert.Notifier: a digest that groups alerts
// by code and prints a summary at the end, instead of one message per alert.
// It also shows how notifiers compose:
//
//   - alert.Route sends each code to its own notifier (cyan goes nowhere);
//   - alert.Multi sends red alerts both to the digest and to a pager;
//   - the pager always fails, so the engine retries it a few times and then
//     hands the alert to the dead-letter hook set by cpra.WithUndelivered.
//
// Six in-memory targets are monitored; three break and recover. The program
// needs no outside network and exits by itself.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/pulse"
)

// digest is a Notifier that collects alerts and groups them by code.
//
// It is safe for concurrent use, as a notifier shared between monitors must
// be. It is idempotent: an alert delivered twice (the engine retries a Multi
// when any part of it failed) is counted once.
type digest struct {
	mu     sync.Mutex
	seen   map[string]bool
	byCode map[alert.Code][]string
	greens chan string // receives each monitor that recovered
}

var _ alert.Notifier = (*digest)(nil)

func newDigest() *digest {
	return &digest{
		seen:   map[string]bool{},
		byCode: map[alert.Code][]string{},
		greens: make(chan string, 100),
	}
}

// Notify records a. It never blocks and never fails.
func (d *digest) Notify(ctx context.Context, a alert.Alert) error {
	key := fmt.Sprintf("%s/%s/%d", a.Monitor, a.Code, a.At.UnixNano())
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen[key] {
		return nil
	}
	d.seen[key] = true
	d.byCode[a.Code] = append(d.byCode[a.Code], a.Monitor)
	if a.Code == alert.Green {
		d.greens <- a.Monitor
	}
	return nil
}

// Summary returns one line per code: how many alerts and for which monitors.
func (d *digest) Summary() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	for _, c := range []alert.Code{alert.Yellow, alert.Red, alert.Cyan, alert.Green, alert.Gray} {
		names := slices.Clone(d.byCode[c])
		if len(names) == 0 {
			continue
		}
		slices.Sort(names)
		fmt.Fprintf(&b, "  %-6s %d: %s\n", c, len(names), strings.Join(names, ", "))
	}
	return b.String()
}

// pager stands for a paging service that is down: every delivery fails with
// a retryable error, as a 503 would.
type pager struct{ calls atomic.Int64 }

func (p *pager) Notify(ctx context.Context, a alert.Alert) error {
	p.calls.Add(1)
	return &alert.DeliveryError{Notifier: "pager", Endpoint: "pager.invalid", Status: 503, Retryable: true}
}

var errDown = errors.New("connection refused")

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	d := newDigest()
	p := &pager{}
	var (
		deadMu sync.Mutex
		dead   []string
	)
	notify := alert.Route{
		alert.Yellow: d,
		alert.Red:    alert.Multi(d, p),
		alert.Green:  d,
		// No entry for cyan: Route drops those alerts.
	}
	e, err := cpra.New(
		cpra.WithNotifier(notify),
		cpra.WithNotifyRetries(2, 10*time.Millisecond),
		cpra.WithUndelivered(func(a alert.Alert, err error) {
			deadMu.Lock()
			dead = append(dead, fmt.Sprintf("%s %s: %v", a.Monitor, a.Code, err))
			deadMu.Unlock()
		}),
	)
	if err != nil {
		return err
	}

	names := []string{"auth", "cart", "catalog", "orders", "profile", "search"}
	broken := map[string]bool{"cart": true, "orders": true, "search": true}
	down := make(map[string]*atomic.Bool)
	for _, name := range names {
		flag := new(atomic.Bool)
		down[name] = flag
		if _, err := e.Add(cpra.Monitor{
			Name: name,
			Check: pulse.CheckerFunc(func(ctx context.Context) error {
				if flag.Load() {
					return errDown
				}
				return nil
			}),
			Interval:         50 * time.Millisecond,
			FailureThreshold: 3, // yellow at the first failure, red at the third
			SuccessThreshold: 2,
		}); err != nil {
			return err
		}
	}
	if err := e.Start(context.Background()); err != nil {
		return err
	}

	fmt.Println("breaking cart, orders and search")
	for name := range broken {
		down[name].Store(true)
	}
	time.Sleep(500 * time.Millisecond) // long enough to go red
	fmt.Println("repairing them")
	for name := range broken {
		down[name].Store(false)
	}
	timeout := time.After(10 * time.Second)
	for recovered := 0; recovered < len(broken); recovered++ {
		select {
		case name := <-d.greens:
			fmt.Println("  green:", name)
		case <-timeout:
			return errors.New("the broken targets did not recover within 10s")
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		return err
	}
	fmt.Print("digest by code:\n", d.Summary())
	fmt.Printf("pager: %d delivery attempts, all failed\n", p.calls.Load())
	slices.Sort(dead)
	fmt.Println("dead letters:")
	for _, l := range dead {
		fmt.Println("  " + l)
	}
	s := e.Stats()
	fmt.Printf("alerts sent %d, given up %d\n", s.AlertsSent, s.AlertsFailed)
	return nil
}
