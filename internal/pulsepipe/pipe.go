// Package pulsepipe is the engine's pulse pipeline: the loop packs due
// checks into batches, long-lived workers claim them one check at a time
// with an atomic add, run them with a context that allocates nothing
// unless asked for Done, and hand the results back in buffers. A
// watchdog abandons checks that ignore their deadline.
package pulsepipe

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/crew"
	"github.com/ziad/cpra/pulse"
	"github.com/ziad/cpra/queue"
	"github.com/ziad/cpra/sizing"
)

// The pulse pipeline: the loop packs due checks into batches, workers (long
// lived goroutines) run them and hand results back in buffers.

const (
	BatchMax     = 256
	resultBufLen = 256
)

type Job struct {
	E       ecs.Entity
	Check   pulse.Checker
	Due     int64 // tick the check was due
	Timeout time.Duration
}

// Batch is shared by the workers that run its jobs: each claims the next
// Job with an atomic add. refs counts the workers (and queue entries) that
// may still touch it; the last one returns it to the free list.
type Batch struct {
	Jobs  []Job
	claim atomic.Int32
	refs  atomic.Int32
}

type Result struct {
	E       ecs.Entity
	Err     error
	Due     int64 // tick the check was due
	Start   int64 // ns since the engine epoch
	Latency int64 // ns
}

type resultBuf struct {
	r    []Result
	next *resultBuf // in the results stack
}

// resultDelay is how long a Result may wait for the loop when the loop is
// going to wake soon anyway: within it, workers do not wake the loop.
const resultDelay = int64(2 * time.Millisecond)

// resultHold is how long a worker keeps the results of its batch before it
// hands them over while it goes on with the batch: when checks are slow a
// batch takes long, and the results it has (a failure, an alert) must not
// wait for its end.
const resultHold = int64(10 * time.Millisecond)

const (
	// A worker's state word holds a Job sequence number above two status
	// bits, so the watchdog can never abandon a Job other than the one it
	// judged (no ABA between a worker's consecutive jobs).
	wIdle uint64 = iota
	wRunning
	wAbandoned
	wStatus = 3
)

type pulseWorker struct {
	p        *Pipe
	state    atomic.Uint64
	giveUp   atomic.Int64 // ns since epoch: deadline plus grace
	cur      Job          // the Job running; read by the watchdog after it abandons
	curStart int64
	batch    *Batch
	out      *resultBuf
	ctx      *checkCtx
	clock    ctxClock // closes ctx once it escaped
	rec      *sizing.Recorder
}

// Config is what the pipeline needs from the engine.
type Config struct {
	Epoch         time.Time       // origin of the engine's clock
	Base          context.Context // parent of every check's context
	QueueCapacity int             // checks that may wait for a worker
	MinWorkers    int
	MaxWorkers    int
	Timeout       func(op string, d time.Duration) error     // the error of a check past its deadline
	Panic         func(op string, v any, stack []byte) error // the error of a check that panicked
	Abandoned     *atomic.Uint64                             // counts checks left behind
	Log           *slog.Logger
}

// Pipe is the pulse pipeline.
type Pipe struct {
	cfg     Config
	jobs    *queue.Queue[*Batch]      // batches for the workers; a nil one is a quit token
	results atomic.Pointer[resultBuf] // a stack of buffers for the loop
	Kick    chan struct{}             // wakes the loop for results
	WakeAt  atomic.Int64              // ns: when the sleeping loop plans to wake; 0 while it runs
	dead    chan struct{}             // closed when the loop is gone
	free    sync.Pool                 // *Batch
	bufs    sync.Pool                 // *resultBuf

	Queued atomic.Int64 // jobs posted, not yet claimed
	// HeadDue is the due tick of the first job of the batch a worker took
	// from the queue last: the queued jobs not started are due at or
	// after it, and about then (a batch is filled from one tick's due
	// checks, or a few).
	HeadDue  atomic.Int64
	capacity int64
	crew.Crew

	mu      sync.Mutex
	workers map[*pulseWorker]struct{}

	abandonedRunning atomic.Int64
	orphans          []*Batch // owned by the loop: batches to queue again
}

// New returns a pipeline with no worker yet.
func New(cfg Config) *Pipe {
	p := &Pipe{
		cfg:      cfg,
		capacity: int64(cfg.QueueCapacity),
		jobs:     queue.New[*Batch](min(cfg.QueueCapacity, 1<<16)),
		Kick:     make(chan struct{}, 1),
		dead:     make(chan struct{}),
		workers:  make(map[*pulseWorker]struct{}),
		Crew:     crew.New(cfg.Epoch, cfg.MinWorkers, cfg.MaxWorkers),
	}
	p.Quit = func() bool { return p.jobs.TryPut(nil) == nil }
	p.free.New = func() any { return &Batch{Jobs: make([]Job, 0, BatchMax)} }
	p.bufs.New = func() any { return &resultBuf{r: make([]Result, 0, resultBufLen)} }
	return p
}

func (p *Pipe) GetBatch() *Batch {
	b := p.free.Get().(*Batch)
	b.Jobs = b.Jobs[:0]
	b.claim.Store(0)
	b.refs.Store(0)
	return b
}

// post queues b. It returns false, queueing nothing, when the queue is full.
func (p *Pipe) Post(b *Batch) bool {
	n := int64(len(b.Jobs))
	if q := p.Queued.Load(); q > 0 && q+n > p.capacity {
		return false
	}
	b.refs.Add(1)
	if p.jobs.TryPut(b) != nil {
		b.refs.Add(-1)
		return false
	}
	p.Queued.Add(n)
	return true
}

// Room returns how many more jobs the queue takes.
func (p *Pipe) Room() int { return int(p.capacity - p.Queued.Load()) }

func (p *Pipe) unref(b *Batch) {
	if b.refs.Add(-1) == 0 {
		clear(b.Jobs) // drop references to checkers
		p.free.Put(b)
	}
}

// spawn starts one more worker.
func (p *Pipe) Spawn() {
	w := &pulseWorker{p: p, ctx: new(checkCtx), rec: p.Sz.Recorder()}
	w.out = p.bufs.Get().(*resultBuf)
	p.mu.Lock()
	p.workers[w] = struct{}{}
	p.mu.Unlock()
	p.Live.Add(1)
	p.WG.Add(1)
	go w.run()
}

func (p *Pipe) retire(w *pulseWorker) {
	p.mu.Lock()
	delete(p.workers, w)
	p.mu.Unlock()
}

func (w *pulseWorker) run() {
	defer w.clock.stop()
	for {
		b, ok := w.next()
		if !ok {
			return
		}
		if !w.runBatch(b) {
			return // abandoned: the watchdog owns our batch and results
		}
		if p := w.p; p.Cap.Load() > 0 && p.Live.Load() > p.Cap.Load() && p.Shed() {
			w.exit(false)
			return
		}
		if len(w.out.r) >= resultBufLen-BatchMax/4 {
			w.flush()
		}
	}
}

// next returns the next batch, or false when the worker should stop: the
// queue was closed, or it was asked to leave.
func (w *pulseWorker) next() (*Batch, bool) {
	p := w.p
	b, err := p.jobs.TryGet()
	for {
		if err == queue.ErrEmpty {
			// Nothing queued: hand back what we have, then wait.
			w.flush()
			w.rec.Flush()
			p.Idle.Add(1)
			b, err = p.jobs.Get(context.Background())
			p.Idle.Add(-1)
		}
		if err != nil || b != nil {
			break
		}
		// A quit token.
		if p.TookQuit() {
			w.exit(false)
			return nil, false
		}
		b, err = p.jobs.TryGet()
	}
	if err != nil {
		w.exit(true) // closed and drained
		return nil, false
	}
	if len(b.Jobs) > 0 {
		p.HeadDue.Store(b.Jobs[0].Due)
	}
	return b, true
}

// exit retires the worker; live says whether it still counts as live.
func (w *pulseWorker) exit(live bool) {
	p := w.p
	w.flush()
	if live {
		p.Live.Add(-1)
	}
	p.Sz.Release(w.rec)
	p.retire(w)
	p.WG.Done()
}

// flush hands the worker's results to the loop. It wakes the loop only
// when the results would otherwise wait more than resultDelay.
func (w *pulseWorker) flush() {
	if len(w.out.r) == 0 {
		return
	}
	p := w.p
	b := w.out
	for {
		old := p.results.Load()
		b.next = old
		if p.results.CompareAndSwap(old, b) {
			if old == nil {
				if at := p.WakeAt.Load(); at != 0 && at > p.nanotime()+resultDelay {
					select {
					case p.Kick <- struct{}{}:
					default:
					}
				}
			}
			break
		}
	}
	w.out = p.bufs.Get().(*resultBuf)
	w.out.r = w.out.r[:0]
}

// nanotime is the time since the epoch.
func (p *Pipe) nanotime() int64 { return int64(time.Since(p.cfg.Epoch)) }

// HasResults reports whether results wait for the loop.
func (p *Pipe) HasResults() bool { return p.results.Load() != nil }

// TakeResults hands every result buffer the workers handed back to apply.
// It runs on the loop.
func (p *Pipe) TakeResults(apply func([]Result)) {
	for b := p.results.Swap(nil); b != nil; {
		next := b.next
		apply(b.r)
		clear(b.r)
		b.r, b.next = b.r[:0], nil
		p.bufs.Put(b)
		b = next
	}
}

// runBatch claims and runs jobs of b until none is left. It returns false
// when the worker was abandoned.
func (w *pulseWorker) runBatch(b *Batch) bool {
	p := w.p
	w.batch = b
	n := int32(len(b.Jobs))
	invited := false
	// A check starts when the one before it in the batch ended: the
	// worker reads the clock once per check, not twice.
	now := p.nanotime()
	for {
		i := b.claim.Add(1) - 1
		if i >= n {
			break
		}
		p.Queued.Add(-1)
		if !invited && i+1 < n && p.Idle.Load() > 0 {
			// Let an idle worker share the rest of the batch.
			invited = true
			b.refs.Add(1)
			if p.jobs.TryPut(b) != nil {
				b.refs.Add(-1)
			}
		}
		var ok bool
		if now, ok = w.exec(&b.Jobs[i], now); !ok {
			return false
		}
		if r := w.out.r; now-(r[0].Start+r[0].Latency) > resultHold {
			w.flush()
		}
	}
	w.batch = nil
	p.unref(b)
	return true
}

// exec runs the check of jp, started at start (on the pipe's clock), and
// returns the time it ended, or false when the watchdog gave up on it.
func (w *pulseWorker) exec(jp *Job, start int64) (int64, bool) {
	p := w.p
	// Work from a copy: once abandoned, the batch is no longer ours.
	j := *jp
	w.cur = j
	deadline := start + int64(j.Timeout)
	w.curStart = start
	// Store before the state: the watchdog reads it once it sees running.
	w.giveUp.Store(deadline + Grace(j.Timeout))
	seq := w.state.Load()&^wStatus + 4
	w.state.Store(seq | wRunning)

	c := w.ctx
	c.reset(p.cfg.Base, p.cfg.Epoch.Add(time.Duration(deadline)), &w.clock)
	err := p.callCheck(c, j.Check)
	if !c.finish() {
		w.ctx = new(checkCtx)
	}
	end := p.nanotime()
	if !w.state.CompareAndSwap(seq|wRunning, seq|wIdle) {
		// The watchdog gave up on us and reported a timeout.
		w.p.Sz.Release(w.rec)
		w.p.abandonedRunning.Add(-1)
		return end, false
	}
	if err == nil && end >= deadline {
		err = p.cfg.Timeout("check", j.Timeout)
	}
	w.rec.Service(p.cfg.Epoch.Add(time.Duration(end)), time.Duration(end-start))
	w.out.r = append(w.out.r, Result{E: j.E, Err: err, Due: j.Due, Start: start, Latency: end - start})
	return end, true
}

func (p *Pipe) callCheck(ctx context.Context, c pulse.Checker) (err error) {
	defer func() {
		if v := recover(); v != nil {
			stack := debug.Stack()
			p.cfg.Log.Debug("checker panicked", "panic", fmt.Sprint(v), "stack", string(stack))
			err = p.cfg.Panic("check", v, stack)
		}
	}()
	return c.Check(ctx)
}

// repostOrphans queues again the batches the watchdog could not. It runs on
// the loop.
func (p *Pipe) RepostOrphans() {
	for len(p.orphans) > 0 {
		b := p.orphans[len(p.orphans)-1]
		if p.jobs.TryPut(b) != nil {
			return
		}
		p.orphans[len(p.orphans)-1] = nil
		p.orphans = p.orphans[:len(p.orphans)-1]
	}
}

// Grace is how long past its deadline a check may run before the watchdog
// reports it as timed out and moves on without it.
func Grace(timeout time.Duration) int64 {
	return int64(min(max(timeout/10, 5*time.Millisecond), 500*time.Millisecond))
}

// watchdog abandons workers stuck past their deadline. It runs on the loop
// and returns the timeout results it made, plus the results the abandoned
// workers had not handed back yet, and the earliest time a running check
// will be due for abandoning (MaxInt64 if none runs).
func (p *Pipe) Watchdog(now int64, out []Result) ([]Result, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	earliest := int64(math.MaxInt64)
	for w := range p.workers {
		st := w.state.Load()
		if st&wStatus != wRunning {
			continue
		}
		if g := w.giveUp.Load(); now < g {
			earliest = min(earliest, g)
			continue
		}
		if !w.state.CompareAndSwap(st, st&^wStatus|wAbandoned) {
			continue
		}
		// We own the worker's Job, results and batch reference now.
		p.abandonedRunning.Add(1)
		p.cfg.Abandoned.Add(1)
		p.Sz.Loop.Service(p.cfg.Epoch.Add(time.Duration(now)), time.Duration(now-w.curStart))
		out = append(out, w.out.r...)
		out = append(out, Result{
			E: w.cur.E, Due: w.cur.Due, Start: w.curStart, Latency: now - w.curStart,
			Err: p.cfg.Timeout("check", w.cur.Timeout),
		})
		w.out.r = w.out.r[:0]
		p.bufs.Put(w.out)
		w.out = nil
		b := w.batch
		if b.claim.Load() < int32(len(b.Jobs)) {
			// Unclaimed jobs remain: queue the batch again for others.
			b.refs.Add(1)
			if p.jobs.TryPut(b) != nil {
				p.orphans = append(p.orphans, b) // the loop posts it later
			}
		}
		p.unref(b)
		delete(p.workers, w)
		p.Live.Add(-1)
		p.WG.Done()
		p.cfg.Log.Warn("check abandoned after its deadline", "timeout", w.cur.Timeout)
	}
	return out, earliest
}

// unrefNew returns a batch that was never Queued to the free list.
func (p *Pipe) UnrefNew(b *Batch) {
	clear(b.Jobs)
	b.Jobs = b.Jobs[:0]
	p.free.Put(b)
}

// Orphaned reports whether batches the watchdog took back wait to be
// queued again (see RepostOrphans).
func (p *Pipe) Orphaned() bool { return len(p.orphans) > 0 }

// Close closes the queue: the workers leave once it is drained.
func (p *Pipe) Close() { p.jobs.Close() }
