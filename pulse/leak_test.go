package pulse

import (
	"context"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// openFDs counts this process's open file descriptors (Linux only).
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(entries)
}

// runChecks runs n checks of c on `workers` goroutines, each with timeout,
// and returns how many failed.
func runChecks(c Checker, n, workers int, timeout time.Duration) int {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				if c.Check(ctx) != nil {
					failed.Add(1)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	return int(failed.Load())
}

// TestNoLeakAfterManyFailedChecks runs 10k checks against a target that
// resets connections, one that accepts and never answers, and a closed
// port, for the HTTP and TCP checkers; afterwards no goroutine and no file
// descriptor may remain.
func TestNoLeakAfterManyFailedChecks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors in /proc/self/fd")
	}
	n := 10_000
	if testing.Short() {
		n = 1_000
	}
	// Warm up anything lazily opened (the shared transport, DNS config).
	_ = MustHTTP("http://" + closedAddr(t) + "/").Check(t.Context())
	before := openFDs(t)
	baseline := goleak.IgnoreCurrent()

	func() {
		// Each target lives in its own test scope so that Cleanup-like
		// shutdown happens before counting.
		var targets []func()
		addTarget := func(handle func(net.Conn)) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					wg.Go(func() {
						defer c.Close()
						handle(c)
					})
				}
			})
			targets = append(targets, func() { ln.Close(); wg.Wait() })
			return ln.Addr().String()
		}
		resetter := addTarget(reset)
		hanger := addTarget(hang) // reads until the client gives up and closes
		closed := closedAddr(t)

		cases := []struct {
			name    string
			c       Checker
			timeout time.Duration
		}{
			{"http reset", MustHTTP("http://" + resetter + "/"), time.Second},
			{"http hang", MustHTTP("http://" + hanger + "/"), 5 * time.Millisecond},
			{"http closed", MustHTTP("http://" + closed + "/"), time.Second},
			{"tcp reset", MustTCP(resetter, WithReplyPrefix("+OK")), time.Second},
			{"tcp hang", MustTCP(hanger, WithReplyPrefix("+OK")), 5 * time.Millisecond},
			{"tcp closed", MustTCP(closed), time.Second},
		}
		for _, tc := range cases {
			if failed := runChecks(tc.c, n, 64, tc.timeout); failed != n {
				t.Errorf("%s: %d of %d checks failed, want all", tc.name, failed, n)
			}
		}
		CloseIdleConnections()
		for _, stop := range targets {
			stop()
		}
	}()

	// net/http closes a cancelled connection from its own goroutines;
	// goleak retries until they are gone (or its deadline passes).
	if err := goleak.Find(baseline); err != nil {
		t.Errorf("goroutines leaked: %v", err)
	}
	if after := openFDs(t); after > before {
		t.Errorf("open file descriptors: %d before, %d after %d checks per case", before, after, n)
	}
}
