package loop

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/crew"
	"github.com/ziad/cpra/internal/pulsepipe"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/sizing"
)

// The intervention and alert pipelines carry far fewer calls than the pulse
// pipeline, and their plug-ins are slow (a restart, an HTTP post), so each
// call runs on its own goroutine, which the worker abandons at the deadline.

type callKind uint8

const (
	callRemediate callKind = iota
	callNotify
)

type call struct {
	kind    callKind
	e       ecs.Entity
	start   int64 // episode the call belongs to (its start)
	attempt int
	timeout time.Duration

	rem intervene.Remediator
	inc intervene.Incident

	notifier alert.Notifier
	alert    alert.Alert
	group    *group       // for a grouped alert while its group is being formed
	members  []ecs.Entity // the monitors of a grouped alert

	err   error // outcome
	tries int   // Notify calls made
}

type callPipe struct {
	e    *Engine
	op   string
	in   chan *call
	done chan *call // outcomes, back to the loop
	dead chan struct{}

	queued atomic.Int64
	crew.Crew

	plugRunning atomic.Int64 // plug-in goroutines still running, abandoned ones included
	backlog     []*call      // owned by the loop: calls waiting for room in "in"
}

func newCallPipe(e *Engine, op string, dead chan struct{}) *callPipe {
	return &callPipe{
		e:    e,
		op:   op,
		in:   make(chan *call, 4096),
		done: make(chan *call, 4096),
		dead: dead,
		Crew: crew.New(e.epoch, e.cfg.MinWorkers, e.cfg.MaxWorkers),
	}
}

// submit queues c, keeping it in the backlog when the queue is full. It runs
// on the loop.
func (p *callPipe) submit(c *call) {
	p.Sz.Arrive.Arrival(time.Now())
	if len(p.backlog) == 0 {
		select {
		case p.in <- c:
			p.queued.Add(1)
			p.grow()
			return
		default:
		}
	}
	p.backlog = append(p.backlog, c)
}

// flushBacklog moves what fits from the backlog to the queue.
func (p *callPipe) flushBacklog() {
	n := 0
	for _, c := range p.backlog {
		select {
		case p.in <- c:
			p.queued.Add(1)
			n++
			continue
		default:
		}
		break
	}
	if n > 0 {
		p.backlog = append(p.backlog[:0], p.backlog[n:]...)
		p.grow()
	}
}

// grow adds a worker when calls wait and nobody is idle.
func (p *callPipe) grow() {
	if p.Idle.Load() > 0 || int(p.Live.Load()) >= p.e.cfg.MaxWorkers {
		return
	}
	if p.Live.Load() > 0 && p.queued.Load() == 0 {
		return
	}
	p.spawn()
}

func (p *callPipe) spawn() {
	p.Live.Add(1)
	p.WG.Add(1)
	go p.work(p.Sz.Recorder())
}

func (p *callPipe) work(rec *sizing.Recorder) {
	defer p.WG.Done()
	defer p.Sz.Release(rec)
	for {
		c, ok := p.next(rec)
		if !ok {
			return
		}
		p.queued.Add(-1)
		start := time.Now()
		p.run(c)
		rec.Service(time.Now(), time.Since(start))
		select {
		case p.done <- c:
		case <-p.dead:
		}
	}
}

// next returns the next call, or false when the worker should stop: the
// queue was closed, or it was asked to leave.
func (p *callPipe) next(rec *sizing.Recorder) (*call, bool) {
	select {
	case c, ok := <-p.in:
		if !ok {
			p.Live.Add(-1)
		}
		return c, ok
	default:
	}
	rec.Flush()
	p.Idle.Add(1)
	defer p.Idle.Add(-1)
	for {
		select {
		case c, ok := <-p.in:
			if !ok {
				p.Live.Add(-1)
			}
			return c, ok
		case <-p.Quit:
			if p.TookQuit() {
				return nil, false
			}
		}
	}
}

func (p *callPipe) run(c *call) {
	switch c.kind {
	case callRemediate:
		c.err = p.invoke(c, c.timeout, func(ctx context.Context) error { return c.rem.Remediate(ctx, c.inc) })
	case callNotify:
		cfg := &p.e.cfg
		wait := cfg.NotifyBackoff
		first := time.Now()
		for {
			c.tries++
			c.err = p.invoke(c, cfg.NotifyTimeout, func(ctx context.Context) error { return c.notifier.Notify(ctx, c.alert) })
			if c.err == nil {
				return
			}
			if c.tries > cfg.NotifyRetries || !alert.Retryable(c.err) {
				p.e.undelivered(c.alert, c.err)
				return
			}
			// Wait, with jitter, or as long as the receiver asked, unless
			// the engine is being torn down.
			d := wait + time.Duration(rand.Int64N(int64(wait)/5+1))
			var de *alert.DeliveryError
			if errors.As(c.err, &de) && de.RetryAfter > d {
				d = min(de.RetryAfter, maxRetryAfter)
			}
			if time.Since(first)+d > cfg.NotifyMaxElapsed {
				p.e.undelivered(c.alert, c.err)
				return
			}
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-p.e.base.Done():
				t.Stop()
				p.e.undelivered(c.alert, c.err)
				return
			}
			wait = min(wait*2, maxNotifyBackoff)
		}
	}
}

// Bounds of the wait between delivery tries.
const (
	maxNotifyBackoff = time.Minute
	maxRetryAfter    = 5 * time.Minute
)

// undelivered hands an alert the engine gave up on to the WithUndelivered
// hook, if any. A panic in the hook is logged, not spread.
func (e *Engine) undelivered(a alert.Alert, err error) {
	h := e.cfg.Undelivered
	if h == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			e.log.Error("undelivered-alert hook panicked", "monitor", a.Monitor, "panic", fmt.Sprint(v))
		}
	}()
	h(a, err)
}

// invoke calls fn with a deadline on a goroutine of its own and gives up on
// it when the deadline passes.
func (p *callPipe) invoke(c *call, timeout time.Duration, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(p.e.base, timeout)
	defer cancel()
	out := make(chan error, 1)
	p.plugRunning.Add(1)
	go func() {
		defer p.plugRunning.Add(-1)
		var err error
		func() {
			defer func() {
				if v := recover(); v != nil {
					err = p.e.errs.Panic(p.op, v, debug.Stack())
				}
			}()
			err = fn(ctx)
		}()
		out <- err
	}()
	select {
	case err := <-out:
		return err
	case <-ctx.Done():
	}
	// Give a call that honours its context a moment to return on its own.
	t := time.NewTimer(time.Duration(pulsepipe.Grace(timeout) / 2))
	defer t.Stop()
	select {
	case err := <-out:
		if err == nil {
			err = p.e.errs.Timeout(p.op, timeout)
		}
		return err
	case <-t.C:
	}
	p.e.stats.callsAbandoned.Add(1)
	p.e.log.Warn(p.op+" abandoned after its deadline", "timeout", timeout)
	return p.e.errs.Timeout(p.op, timeout)
}
