package pulsepipe

import (
	"context"
	"sync"
	"time"
)

// checkCtx is the context a Check receives. It is built for the case that
// dominates at scale, a check that never asks for Done: then it allocates
// nothing and needs no timer, and the worker reuses it for the next check.
// The first call to Done makes a channel and has the worker's clock watch
// the context; such a context is never reused, so a goroutine that kept it
// sees it closed for good.
type checkCtx struct {
	parent   context.Context
	deadline time.Time
	clock    *ctxClock // the worker's

	mu      sync.Mutex
	done    chan struct{}
	err     error
	escaped bool
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (c *checkCtx) reset(parent context.Context, deadline time.Time, clock *ctxClock) {
	c.parent = parent
	c.deadline = deadline
	c.clock = clock
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
	c.clock.watch(c)
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
		c.clock.release(c)
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

// ctxClock closes a worker's escaped contexts: one timer for the deadline
// and one hook on the parent, both kept for the worker's life and acting
// on the context of the check running. (A timer and a hook of each
// context's own cost a check that asks for Done, as net/http does, about
// 200 bytes.)
type ctxClock struct {
	mu     sync.Mutex
	cur    *checkCtx // watched: its Done was asked for, and its check runs
	timer  *time.Timer
	unhook func() bool
}

// watch closes c at its deadline, or when its parent ends. It is called
// with c.mu held.
func (k *ctxClock) watch(c *checkCtx) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cur = c
	if k.unhook == nil {
		k.unhook = context.AfterFunc(c.parent, k.parentDone)
	}
	d := time.Until(c.deadline)
	if k.timer == nil {
		k.timer = time.AfterFunc(d, k.expire)
	} else {
		k.timer.Reset(d)
	}
}

// release stops watching c, whose check returned. It is called with c.mu
// held.
func (k *ctxClock) release(c *checkCtx) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur == c {
		k.cur = nil
		k.timer.Stop()
	}
}

// expire closes the watched context if its deadline has passed: the timer
// may fire late for one released since.
func (k *ctxClock) expire() {
	k.mu.Lock()
	c := k.cur
	k.mu.Unlock()
	if c != nil && !time.Now().Before(c.deadline) {
		c.cancel(context.DeadlineExceeded)
	}
}

func (k *ctxClock) parentDone() {
	k.mu.Lock()
	c := k.cur
	k.mu.Unlock()
	if c != nil {
		c.cancel(c.parent.Err())
	}
}

// stop ends the clock as its worker leaves.
func (k *ctxClock) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.timer != nil {
		k.timer.Stop()
	}
	if k.unhook != nil {
		k.unhook()
	}
	k.cur = nil
}
