package pulsepipe

import (
	"context"
	"sync"
	"time"
)

// checkCtx is the context a Check receives. It is built for the case that
// dominates at scale, a check that never asks for Done: then it allocates
// nothing and needs no timer, and the worker reuses it for the next check.
// The first call to Done makes a channel and arms a timer, and such a
// context is never reused, so a goroutine that kept it sees it closed for
// good.
type checkCtx struct {
	parent   context.Context
	deadline time.Time

	mu      sync.Mutex
	done    chan struct{}
	err     error
	escaped bool
	timer   *time.Timer
	unhook  func() bool
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (c *checkCtx) reset(parent context.Context, deadline time.Time) {
	c.parent = parent
	c.deadline = deadline
}

func (c *checkCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *checkCtx) Value(key any) any { return c.parent.Value(key) }

func (c *checkCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	c.escaped = true
	if c.err == nil {
		if err := c.parent.Err(); err != nil {
			c.err = err
		} else if time.Until(c.deadline) <= 0 {
			c.err = context.DeadlineExceeded
		}
	}
	if c.err != nil {
		c.done = closedChan
		return c.done
	}
	c.done = make(chan struct{})
	c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.cancel(context.DeadlineExceeded) })
	c.unhook = context.AfterFunc(c.parent, func() { c.cancel(c.parent.Err()) })
	return c.done
}

func (c *checkCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || c.done != nil {
		return c.err
	}
	// No channel was handed out, so nobody waits for a close: answer from
	// the clock and the parent.
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *checkCtx) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil && c.done != closedChan {
		close(c.done)
	}
}

// finish ends the context once Check has returned and reports whether the
// context may be reused.
func (c *checkCtx) finish() bool {
	c.mu.Lock()
	escaped := c.escaped
	if escaped {
		if c.timer != nil {
			c.timer.Stop()
		}
		if c.unhook != nil {
			c.unhook()
		}
		if c.err == nil {
			c.err = context.Canceled
			if c.done != closedChan {
				close(c.done)
			}
		}
	}
	c.mu.Unlock()
	return !escaped
}

func (c *checkCtx) String() string { return "cpra.checkContext" }
