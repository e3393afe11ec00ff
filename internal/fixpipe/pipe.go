// Package fixpipe is the engine's intervention pipeline: remediation
// attempts handed over by the loop run on a pool of workers sized from live
// measurements, each call on a goroutine of its own with the attempt's
// deadline, and their outcomes go back to the loop.
package fixpipe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/crew"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/queue"
	"github.com/ziad/cpra/sizing"
)

// Call is one remediation attempt.
type Call struct {
	E       ecs.Entity
	Start   int64 // the episode the attempt belongs to
	At      int64 // Unix ms it was started at, as the limits' windows count it
	Attempt int
	Timeout time.Duration
	Rem     intervene.Remediator
	Inc     intervene.Incident
	Shard   int // the monitor's shard, in a cluster

	Err error // the outcome

	// fate decides once, in a cluster, whether the attempt runs: the
	// worker that takes it, or the loop recalling it as its shard is
	// handed over, whichever comes first.
	fate atomic.Uint32
}

// A call's fates.
const (
	fateOpen     uint32 = iota // not decided yet
	fateRun                    // the fence allowed it and a worker runs it
	fateRecalled               // the loop took it back before it ran
	fateFenced                 // the fence refused it
)

// Begun reports whether the cluster allowed the call and a worker ran it:
// the loop then ends the fence's allowance. It is read once the outcome is
// back.
func (c *Call) Begun() bool { return c.fate.Load() == fateRun }

// Recall takes back a call that has not run, as its monitor's shard is
// handed over, and reports whether it was stopped in time: false when it
// runs (or ran). A call recalled, or refused by the fence, never runs:
// its outcome is ErrFenced.
func (c *Call) Recall() bool {
	return c.fate.CompareAndSwap(fateOpen, fateRecalled) || c.fate.Load() != fateRun
}

// Fence is the cluster's say on whether the engine may act for a shard.
type Fence interface {
	Begin(shard int) bool
	End(shard int)
}

// ErrFenced is the outcome of an attempt not started because the engine
// may not act for the monitor's shard.
var ErrFenced = errors.New("cpra: fenced off: this engine does not hold the monitor's shard")

// Config is what the pipeline needs from the engine.
type Config struct {
	Epoch      time.Time
	Base       context.Context // parent of every call's context
	MinWorkers int
	MaxWorkers int
	TimeoutErr func(op string, d time.Duration) error
	PanicErr   func(op string, v any, stack []byte) error
	Abandoned  *atomic.Uint64 // counts calls left behind
	Log        *slog.Logger
	Dead       <-chan struct{} // closed once the loop takes no outcomes
	Fence      Fence           // nil outside a cluster
}

// Pipe is the intervention pipeline.
type Pipe struct {
	cfg    Config
	in     *queue.Queue[*Call] // a nil call is a quit token
	Done   chan *Call          // outcomes, for the loop
	Queued atomic.Int64
	crew.Crew

	Running atomic.Int64 // remediation goroutines still running, abandoned ones included
	backlog []*Call      // owned by the loop: calls waiting for room in "in"
}

// New returns a pipeline with no worker yet.
func New(cfg Config) *Pipe {
	p := &Pipe{
		cfg:  cfg,
		in:   queue.New[*Call](4096),
		Done: make(chan *Call, 4096),
		Crew: crew.New(cfg.Epoch, cfg.MinWorkers, cfg.MaxWorkers),
	}
	p.Quit = func() bool { return p.in.TryPut(nil) == nil }
	return p
}

// Submit queues c, keeping it in the backlog when the queue is full. It
// runs on the loop.
func (p *Pipe) Submit(c *Call) {
	p.Sz.Arrive.Arrival(time.Now())
	if len(p.backlog) == 0 && p.in.TryPut(c) == nil {
		p.Queued.Add(1)
		p.grow()
		return
	}
	p.backlog = append(p.backlog, c)
}

// Backlogged reports whether calls wait for room in the queue.
func (p *Pipe) Backlogged() bool { return len(p.backlog) > 0 }

// FlushBacklog moves what fits from the backlog to the queue.
func (p *Pipe) FlushBacklog() {
	n := 0
	for _, c := range p.backlog {
		if p.in.TryPut(c) != nil {
			break
		}
		p.Queued.Add(1)
		n++
	}
	if n > 0 {
		clear(p.backlog[:n])
		p.backlog = append(p.backlog[:0], p.backlog[n:]...)
		p.grow()
	}
}

// Close closes the queue: the workers leave once it is drained.
func (p *Pipe) Close() { p.in.Close() }

// grow adds a worker when calls wait and nobody is idle.
func (p *Pipe) grow() {
	if p.Idle.Load() > 0 || int(p.Live.Load()) >= p.cfg.MaxWorkers {
		return
	}
	if p.Live.Load() > 0 && p.Queued.Load() == 0 {
		return
	}
	p.Spawn()
}

// Spawn starts one more worker.
func (p *Pipe) Spawn() {
	p.Live.Add(1)
	p.WG.Add(1)
	go p.work(p.Sz.Recorder())
}

func (p *Pipe) work(rec *sizing.Recorder) {
	defer p.WG.Done()
	defer p.Sz.Release(rec)
	for {
		c, ok := p.next(rec)
		if !ok {
			return
		}
		p.Queued.Add(-1)
		start := time.Now()
		c.Err = p.invoke(c)
		rec.Service(time.Now(), time.Since(start))
		select {
		case p.Done <- c:
		case <-p.cfg.Dead:
		}
	}
}

// next returns the next call, or false when the worker should stop: the
// queue was closed, or it was asked to leave.
func (p *Pipe) next(rec *sizing.Recorder) (*Call, bool) {
	c, err := p.in.TryGet()
	for {
		if err == queue.ErrEmpty {
			rec.Flush()
			p.Idle.Add(1)
			c, err = p.in.Get(context.Background())
			p.Idle.Add(-1)
		}
		if err != nil {
			p.Live.Add(-1) // closed and drained
			return nil, false
		}
		if c != nil {
			return c, true
		}
		if p.TookQuit() { // a quit token
			return nil, false
		}
		c, err = p.in.TryGet()
	}
}

// invoke runs the remediator with the attempt's deadline on a goroutine of
// its own. The call's own result wins: one that returns by its deadline,
// or within a short grace after it, gives the outcome; one still running
// then is left behind and reported as a timeout.
func (p *Pipe) invoke(c *Call) error {
	if f := p.cfg.Fence; f != nil {
		if !f.Begin(c.Shard) {
			c.fate.CompareAndSwap(fateOpen, fateFenced)
			return ErrFenced
		}
		if !c.fate.CompareAndSwap(fateOpen, fateRun) {
			f.End(c.Shard) // recalled meanwhile
			return ErrFenced
		}
	}
	ctx, cancel := context.WithTimeout(p.cfg.Base, c.Timeout)
	defer cancel()
	out := make(chan error, 1)
	p.Running.Add(1)
	go func() {
		defer p.Running.Add(-1)
		var err error
		func() {
			defer func() {
				if v := recover(); v != nil {
					stack := debug.Stack()
					p.cfg.Log.Debug("remediator panicked", "monitor", c.Inc.Monitor, "panic", fmt.Sprint(v), "stack", string(stack))
					err = p.cfg.PanicErr("remediation", v, stack)
				}
			}()
			err = c.Rem.Remediate(ctx, c.Inc)
		}()
		out <- err
	}()
	select {
	case err := <-out:
		return err
	case <-ctx.Done():
	}
	// Give a call that honours its context a moment to return on its own.
	t := time.NewTimer(time.Duration(grace(c.Timeout)))
	defer t.Stop()
	select {
	case err := <-out:
		return err // it finished: its own result wins
	case <-t.C:
	}
	select {
	case err := <-out:
		return err
	default:
	}
	p.cfg.Abandoned.Add(1)
	p.cfg.Log.Warn("remediation abandoned after its deadline", "monitor", c.Inc.Monitor, "timeout", c.Timeout)
	return p.cfg.TimeoutErr("remediation", c.Timeout)
}

// grace is how long past its deadline a call may run before it is left
// behind: a tenth of its timeout, from 5ms to 500ms.
func grace(timeout time.Duration) int64 {
	return int64(min(max(timeout/10, 5*time.Millisecond), 500*time.Millisecond))
}

// SetFence makes every attempt ask f before it starts.
func (p *Pipe) SetFence(f Fence) { p.cfg.Fence = f }
