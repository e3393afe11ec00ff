package pulsepipe

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// closedWithin reports whether ch is closed within d.
func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	default:
	}
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// TestCheckContextCloses: a context whose Done was asked for closes at its
// deadline, when its parent ends, or when its check returns, and the
// worker's clock, shared by the contexts of its checks, closes only the
// context of the check running.
func TestCheckContextCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var k ctxClock
		defer k.stop()
		parent, cancel := context.WithCancel(context.Background())
		defer cancel()

		// At the deadline.
		c := new(checkCtx)
		c.reset(parent, time.Now().Add(time.Second), &k)
		if !closedWithin(c.Done(), 2*time.Second) || !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("not closed at the deadline: %v", c.Err())
		}
		if c.finish() {
			t.Fatal("an escaped context offered for reuse")
		}

		// When its check returns, before the deadline: a goroutine that
		// kept Done sees it closed, and a timer that fires later closes
		// nothing of the next check's.
		c = new(checkCtx)
		c.reset(parent, time.Now().Add(time.Second), &k)
		kept := c.Done()
		if closedWithin(kept, 500*time.Millisecond) {
			t.Fatal("closed before its deadline")
		}
		c.finish()
		if !closedWithin(kept, 0) || !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("not closed when its check returned: %v", c.Err())
		}
		next := new(checkCtx)
		next.reset(parent, time.Now().Add(time.Hour), &k)
		done := next.Done()
		if closedWithin(done, 2*time.Second) || next.Err() != nil {
			t.Fatalf("the next check's context closed at the previous one's deadline: %v", next.Err())
		}

		next.finish()

		// At the deadline again, on the clock's timer set anew.
		c = new(checkCtx)
		c.reset(parent, time.Now().Add(time.Second), &k)
		if !closedWithin(c.Done(), 2*time.Second) || !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("not closed at the deadline: %v", c.Err())
		}
		c.finish()

		// When the parent ends.
		next = new(checkCtx)
		next.reset(parent, time.Now().Add(time.Hour), &k)
		done = next.Done()
		cancel()
		if !closedWithin(done, time.Second) || !errors.Is(next.Err(), context.Canceled) {
			t.Fatalf("not closed with its parent: %v", next.Err())
		}
		next.finish()
	})
}

// TestCheckContextNotAskedIsReused: a check that never asks for Done
// costs no channel, and its context serves the next check.
func TestCheckContextNotAskedIsReused(t *testing.T) {
	var k ctxClock
	defer k.stop()
	c := new(checkCtx)
	c.reset(context.Background(), time.Now().Add(time.Hour), &k)
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	if !c.finish() {
		t.Fatal("a context nobody waited on was not offered for reuse")
	}
	c.reset(context.Background(), time.Now().Add(-time.Second), &k)
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("past its deadline: %v", c.Err())
	}
	if allocs := testing.AllocsPerRun(100, func() {
		c.reset(context.Background(), time.Now().Add(time.Hour), &k)
		_ = c.Err()
		c.finish()
	}); allocs != 0 {
		t.Fatalf("%v allocations per check", allocs)
	}
}
