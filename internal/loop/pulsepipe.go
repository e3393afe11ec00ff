package loop

import (
	"context"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/crew"
	"github.com/ziad/cpra/pulse"
	"github.com/ziad/cpra/sizing"
)

// The pulse pipeline: the loop packs due checks into batches, workers (long
// lived goroutines) run them and hand results back in buffers.

const (
	batchMax     = 256
	resultBufLen = 256
)

type job struct {
	e       ecs.Entity
	check   pulse.Checker
	due     int64 // tick the check was due
	timeout time.Duration
}

// jobBatch is shared by the workers that run its jobs: each claims the next
// job with an atomic add. refs counts the workers (and queue entries) that
// may still touch it; the last one returns it to the free list.
type jobBatch struct {
	jobs  []job
	claim atomic.Int32
	refs  atomic.Int32
}

type result struct {
	e       ecs.Entity
	err     error
	due     int64 // tick the check was due
	start   int64 // ns since the engine epoch
	latency int64 // ns
}

type resultBuf struct {
	r    []result
	next *resultBuf // in the results stack
}

// resultDelay is how long a result may wait for the loop when the loop is
// going to wake soon anyway: within it, workers do not wake the loop.
const resultDelay = int64(2 * time.Millisecond)

const (
	// A worker's state word holds a job sequence number above two status
	// bits, so the watchdog can never abandon a job other than the one it
	// judged (no ABA between a worker's consecutive jobs).
	wIdle uint64 = iota
	wRunning
	wAbandoned
	wStatus = 3
)

type pulseWorker struct {
	p        *pulsePipe
	state    atomic.Uint64
	giveUp   atomic.Int64 // ns since epoch: deadline plus grace
	cur      job          // the job running; read by the watchdog after it abandons
	curStart int64
	batch    *jobBatch
	out      *resultBuf
	ctx      *checkCtx
	rec      *sizing.Recorder
}

type pulsePipe struct {
	e       *Engine
	jobs    chan *jobBatch
	results atomic.Pointer[resultBuf] // a stack of buffers for the loop
	kick    chan struct{}             // wakes the loop for results
	wakeAt  atomic.Int64              // ns: when the sleeping loop plans to wake; 0 while it runs
	dead    chan struct{}             // closed when the loop is gone
	free    sync.Pool                 // *jobBatch
	bufs    sync.Pool                 // *resultBuf

	queued   atomic.Int64 // jobs posted, not yet claimed
	capacity int64
	crew.Crew

	mu      sync.Mutex
	workers map[*pulseWorker]struct{}

	abandonedRunning atomic.Int64
	orphans          []*jobBatch // owned by the loop: batches to queue again
}

func newPulsePipe(e *Engine) *pulsePipe {
	p := &pulsePipe{
		e:        e,
		capacity: int64(e.cfg.QueueCapacity),
		jobs:     make(chan *jobBatch, min(e.cfg.QueueCapacity, 1<<16)),
		kick:     make(chan struct{}, 1),
		dead:     make(chan struct{}),
		workers:  make(map[*pulseWorker]struct{}),
		Crew:     crew.New(e.epoch, e.cfg.MinWorkers, e.cfg.MaxWorkers),
	}
	p.free.New = func() any { return &jobBatch{jobs: make([]job, 0, batchMax)} }
	p.bufs.New = func() any { return &resultBuf{r: make([]result, 0, resultBufLen)} }
	return p
}

func (p *pulsePipe) getBatch() *jobBatch {
	b := p.free.Get().(*jobBatch)
	b.jobs = b.jobs[:0]
	b.claim.Store(0)
	b.refs.Store(0)
	return b
}

// post queues b. It returns false, queueing nothing, when the queue is full.
func (p *pulsePipe) post(b *jobBatch) bool {
	n := int64(len(b.jobs))
	if q := p.queued.Load(); q > 0 && q+n > p.capacity {
		return false
	}
	b.refs.Add(1)
	select {
	case p.jobs <- b:
		p.queued.Add(n)
		return true
	default:
		b.refs.Add(-1)
		return false
	}
}

func (p *pulsePipe) unref(b *jobBatch) {
	if b.refs.Add(-1) == 0 {
		clear(b.jobs) // drop references to checkers
		p.free.Put(b)
	}
}

// spawn starts one more worker.
func (p *pulsePipe) spawn() {
	w := &pulseWorker{p: p, ctx: new(checkCtx), rec: p.Sz.Recorder()}
	w.out = p.bufs.Get().(*resultBuf)
	p.mu.Lock()
	p.workers[w] = struct{}{}
	p.mu.Unlock()
	p.Live.Add(1)
	p.WG.Add(1)
	go w.run()
}

func (p *pulsePipe) retire(w *pulseWorker) {
	p.mu.Lock()
	delete(p.workers, w)
	p.mu.Unlock()
}

func (w *pulseWorker) run() {
	for {
		b, ok := w.next()
		if !ok {
			return
		}
		if !w.runBatch(b) {
			return // abandoned: the watchdog owns our batch and results
		}
		if len(w.out.r) >= resultBufLen-batchMax/4 {
			w.flush()
		}
	}
}

// next returns the next batch, or false when the worker should stop: the
// queue was closed, or it was asked to leave.
func (w *pulseWorker) next() (*jobBatch, bool) {
	p := w.p
	select {
	case b, ok := <-p.jobs:
		if !ok {
			w.exit(true)
		}
		return b, ok
	default:
	}
	// Nothing queued: hand back what we have, then wait.
	w.flush()
	w.rec.Flush()
	p.Idle.Add(1)
	defer p.Idle.Add(-1)
	for {
		select {
		case b, ok := <-p.jobs:
			if !ok {
				w.exit(true)
			}
			return b, ok
		case <-p.Quit:
			if p.TookQuit() {
				w.exit(false)
				return nil, false
			}
		}
	}
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
				if at := p.wakeAt.Load(); at != 0 && at > p.e.nanotime()+resultDelay {
					select {
					case p.kick <- struct{}{}:
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

// takeResults applies every result buffer the workers handed back. It runs
// on the loop.
func (e *Engine) takeResults() {
	p := e.pulse
	for b := p.results.Swap(nil); b != nil; {
		next := b.next
		e.apply(b.r)
		clear(b.r)
		b.r, b.next = b.r[:0], nil
		p.bufs.Put(b)
		b = next
	}
}

// runBatch claims and runs jobs of b until none is left. It returns false
// when the worker was abandoned.
func (w *pulseWorker) runBatch(b *jobBatch) bool {
	p := w.p
	w.batch = b
	n := int32(len(b.jobs))
	invited := false
	for {
		i := b.claim.Add(1) - 1
		if i >= n {
			break
		}
		p.queued.Add(-1)
		if !invited && i+1 < n && p.Idle.Load() > 0 {
			// Let an idle worker share the rest of the batch.
			invited = true
			b.refs.Add(1)
			select {
			case p.jobs <- b:
			default:
				b.refs.Add(-1)
			}
		}
		if !w.exec(&b.jobs[i]) {
			return false
		}
	}
	w.batch = nil
	p.unref(b)
	return true
}

func (w *pulseWorker) exec(jp *job) bool {
	e := w.p.e
	// Work from a copy: once abandoned, the batch is no longer ours.
	j := *jp
	w.cur = j
	start := e.nanotime()
	deadline := start + int64(j.timeout)
	w.curStart = start
	// Store before the state: the watchdog reads it once it sees running.
	w.giveUp.Store(deadline + grace(j.timeout))
	seq := w.state.Load()&^wStatus + 4
	w.state.Store(seq | wRunning)

	c := w.ctx
	c.reset(e.base, e.epoch.Add(time.Duration(deadline)))
	err := callCheck(c, j.check, &e.errs)
	if !c.finish() {
		w.ctx = new(checkCtx)
	}
	end := e.nanotime()
	if !w.state.CompareAndSwap(seq|wRunning, seq|wIdle) {
		// The watchdog gave up on us and reported a timeout.
		w.p.Sz.Release(w.rec)
		w.p.abandonedRunning.Add(-1)
		return false
	}
	if err == nil && end >= deadline {
		err = e.errs.Timeout("check", j.timeout)
	}
	w.rec.Service(e.epoch.Add(time.Duration(end)), time.Duration(end-start))
	w.out.r = append(w.out.r, result{e: j.e, err: err, due: j.due, start: start, latency: end - start})
	return true
}

func callCheck(ctx context.Context, c pulse.Checker, errs *Errors) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = errs.Panic("check", v, debug.Stack())
		}
	}()
	return c.Check(ctx)
}

// repostOrphans queues again the batches the watchdog could not. It runs on
// the loop.
func (p *pulsePipe) repostOrphans() {
	for len(p.orphans) > 0 {
		b := p.orphans[len(p.orphans)-1]
		select {
		case p.jobs <- b:
			p.orphans = p.orphans[:len(p.orphans)-1]
		default:
			return
		}
	}
}

// grace is how long past its deadline a check may run before the watchdog
// reports it as timed out and moves on without it.
func grace(timeout time.Duration) int64 {
	return int64(min(max(timeout/10, 5*time.Millisecond), 500*time.Millisecond))
}

// watchdog abandons workers stuck past their deadline. It runs on the loop
// and returns the timeout results it made, plus the results the abandoned
// workers had not handed back yet, and the earliest time a running check
// will be due for abandoning (MaxInt64 if none runs).
func (p *pulsePipe) watchdog(now int64, out []result) ([]result, int64) {
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
		// We own the worker's job, results and batch reference now.
		p.abandonedRunning.Add(1)
		p.e.stats.checksAbandoned.Add(1)
		p.Sz.Loop.Service(p.e.epoch.Add(time.Duration(now)), time.Duration(now-w.curStart))
		out = append(out, w.out.r...)
		out = append(out, result{
			e: w.cur.e, due: w.cur.due, start: w.curStart, latency: now - w.curStart,
			err: p.e.errs.Timeout("check", w.cur.timeout),
		})
		w.out.r = w.out.r[:0]
		p.bufs.Put(w.out)
		w.out = nil
		b := w.batch
		if b.claim.Load() < int32(len(b.jobs)) {
			// Unclaimed jobs remain: queue the batch again for others.
			b.refs.Add(1)
			select {
			case p.jobs <- b:
			default:
				p.orphans = append(p.orphans, b) // the loop posts it later
			}
		}
		p.unref(b)
		delete(p.workers, w)
		p.Live.Add(-1)
		p.WG.Done()
		p.e.log.Warn("check abandoned after its deadline", "timeout", w.cur.timeout)
	}
	return out, earliest
}

// unrefNew returns a batch that was never queued to the free list.
func (p *pulsePipe) unrefNew(b *jobBatch) {
	clear(b.jobs)
	b.jobs = b.jobs[:0]
	p.free.Put(b)
}
