package loop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/alerts"
	"github.com/ziad/cpra/internal/budget"
	"github.com/ziad/cpra/internal/crew"
	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/internal/fixpipe"
	"github.com/ziad/cpra/internal/lag"
	"github.com/ziad/cpra/internal/maint"
	"github.com/ziad/cpra/internal/persist"
	"github.com/ziad/cpra/internal/pulsepipe"
	"github.com/ziad/cpra/internal/shared"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

// Spec is a monitor as the engine stores it: checked, with the defaults
// filled in, by package cpra.
type Spec struct {
	Name        string
	Check       pulse.Checker
	Interval    time.Duration
	Timeout     time.Duration
	Rules       episode.Settings // the engine fills in Interval, Remediates, Parents and Routes
	Remediate   intervene.Remediator
	FixTimeout  time.Duration
	Limit       int
	Window      time.Duration
	Notify      alert.Notifier
	Labels      map[string]string
	DependsOn   []Ref
	Maintenance []maint.Window
}

// Ref names a monitor by entity or by name.
type Ref struct {
	ID   ecs.Entity
	Name string
}

// Status is a snapshot of one monitor.
type Status struct {
	Name                 string
	Phase                episode.Phase
	Code                 alert.Code
	Fails, Succs         int
	LastCheck            time.Time
	LastLatency          time.Duration
	LastError            error
	Since                time.Time
	Attempts             int
	Remediating          bool
	Paused, Maintenance  bool
	Flapping             bool
	FlapPercent          float64
	Suppressed, Away     bool
	LastRemediation      time.Time
	LastRemediationError error
	Interval, Timeout    time.Duration
	Labels               map[string]string
	NextCheck            time.Time // zero while paused or in maintenance
	SuppressedBy         string    // the parent holding a suppressed monitor
}

// PipelineStats describes one pipeline's workers and queue.
type PipelineStats struct {
	Workers, Idle, Queued int
	Sizing                crew.Stats
}

// Stats are the engine's counters and gauges; package cpra documents them.
type Stats struct {
	Monitors, Up, Down                                      int
	Failing                                                 int // of Up: an episode is open, not yet down
	ChecksRun, ChecksFailed, ChecksAbandoned, ChecksSkipped uint64
	FlapStarts, QueueFull                                   uint64
	Remediations, RemediationsFailed                        uint64
	RemediationsDenied, RemediationsDryRun                  uint64
	AlertsRaised, AlertsSent, AlertsFailed, AlertsGrouped   uint64
	AlertsCollapsed, CallsAbandoned                         uint64
	AlertsQueued                                            int
	AlertsKept, StoreFailures, StatesDropped                uint64
	PlugInsRunning                                          int
	ShardsOwned                                             int
	ShardsAcquired, ShardsReleased                          uint64
	AlertsFenced, RemediationsFenced                        uint64
	Pulse, Intervention, Alert                              PipelineStats
	Lag                                                     lag.Summary
	CheckLatency                                            lag.LatencySummary
	LagHistogram                                            lag.LatencySummary
	Behind                                                  Behind
}

// Behind says how far the checks are behind their schedule: how many due
// checks have not started, and how long ago the oldest of them was due.
type Behind struct {
	Checks int
	Oldest time.Duration
}

type counters struct {
	checksRun, checksFailed, checksAbandoned, checksSkipped, queueFull atomic.Uint64
	remediations, remediationsFailed                                   atomic.Uint64
	remediationsDenied, remediationsDryRun                             atomic.Uint64
	callsAbandoned, flapStarts                                         atomic.Uint64
	remediationsFenced                                                 atomic.Uint64
}

type lifecycle uint8

const (
	stateNew lifecycle = iota
	stateRunning
	stateStopping
	stateClosed
)

// Engine is the engine's machinery: the store of monitors, the loop that
// owns it, and the pipelines.
type Engine struct {
	cfg       Config
	errs      Errors
	log       *slog.Logger
	epoch     time.Time // monotonic origin of ticks
	epochWall time.Time
	epochMs   int64 // Unix milliseconds of the epoch

	mu    sync.Mutex // guards state, and the store before Start
	state lifecycle
	store *ecs.Store
	rules rules // owned with the store

	base  context.Context // parent of every plug-in context
	abort context.CancelFunc

	cmds     chan command
	stop     chan struct{} // closed by Shutdown
	loopDone chan struct{}
	dead     chan struct{} // closed once the loop no longer takes results

	pulse    *pulsepipe.Pipe
	fix      *fixpipe.Pipe
	alerts   *alerts.Path
	alertCtr alerts.Counters

	stats      counters
	monitors   atomic.Int64
	nUp, nDown atomic.Int64
	nFailing   atomic.Int64 // of nUp: phase Failing

	snapMu  sync.Mutex
	lag     lag.Summary
	latency lag.Latency
	delays  lag.Delays
	behind  Behind
	parked  atomic.Int64 // checks in batches waiting for room in the pulse queue

	l          loopState      // owned by the loop
	maints     maints         // owned with the store
	parentRefs map[string]int // parent sets naming each monitor, by name
	budget     *budget.Budget // owned with the store
	keep       *keeper        // owned with the store; nil without a Store
	carry      *carried       // the state an update hands to the monitor it adds
	early      []early        // alerts raised before Start

	// The values monitors share, owned with the store, which their
	// components name by index: the parent sets of Deps, the notifiers and
	// label maps of Meta (a tie names its notifier in notifiers).
	parentSets shared.Table[string, *ecs.ParentSet]
	notifiers  shared.Table[shared.Key, alert.Notifier]
	ties       shared.Table[tieKey, tie]

	owned       []bool // in a cluster: the shards the engine runs; owned with the store
	shardsOwned atomic.Int64
	shardMoves  struct{ in, out atomic.Uint64 }
	clCancel    context.CancelFunc
	clDone      chan struct{}
	listKeys    []ecs.Keyed // owned with the store: a listing step's scratch
}

// New returns an engine, with the state its store keeps, if any. It starts
// nothing: no goroutine runs until [Engine.Start].
func New(cfg Config) (*Engine, error) {
	now := time.Now()
	e := &Engine{
		cfg:       cfg,
		errs:      cfg.Errors,
		log:       cfg.Logger,
		epoch:     now,
		epochWall: now.Round(0),
		epochMs:   now.UnixMilli(),
		cmds:      make(chan command),
		stop:      make(chan struct{}),
		loopDone:  make(chan struct{}),
		dead:      make(chan struct{}),
	}
	e.parentSets = shared.New(func(ps *ecs.ParentSet) string { return ps.Key }, 0)
	e.notifiers = shared.New(func(n alert.Notifier) shared.Key { return shared.KeyOf(n) }, sharedIndex)
	e.ties = shared.New(tie.key, sharedIndex)
	e.store = ecs.NewStore(0, cfg.Capacity)
	e.budget = budget.New(budget.Config{
		Concurrent: cfg.FixConcurrent, Share: cfg.FixShare, Window: cfg.FixWindow.Milliseconds(),
		GroupLabel: cfg.GroupFixLabel, GroupShare: cfg.GroupFixShare, GroupWindow: cfg.GroupFixWindow.Milliseconds(),
		Err: cfg.Errors.Budget,
	})
	e.base = context.Background()
	if cl := cfg.Cluster; cl != nil {
		e.owned = make([]bool, cl.Shards())
		e.keep = &keeper{st: clusterStore{cl}, grace: cfg.StoreGrace, states: map[string][]byte{}, outbox: map[string][]persist.Alert{}}
	}
	if cfg.Store != nil {
		if err := e.load(cfg.Store, cfg.StoreGrace); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *Engine) nanotime() int64 { return int64(time.Since(e.epoch)) }

func (e *Engine) tickTime(tick int64) time.Time {
	return e.epochWall.Add(time.Duration(tick) * time.Millisecond)
}

// unix returns the Unix milliseconds of a tick.
func (e *Engine) unix(tick int64) int64 { return e.epochMs + tick }

// Add adds a monitor, before or while the engine runs.
func (e *Engine) Add(sp *Spec) (ecs.Entity, error) {
	r := e.do(command{kind: cmdAdd, spec: sp})
	return r.en, r.err
}

// Remove stops and forgets a monitor.
func (e *Engine) Remove(en ecs.Entity) error {
	return e.do(command{kind: cmdRemove, en: en}).err
}

// Update replaces a monitor's settings, keeping its state: its episode, its
// attempts, what it told. The name must stay the same.
func (e *Engine) Update(en ecs.Entity, sp *Spec) (ecs.Entity, error) {
	r := e.do(command{kind: cmdUpdate, en: en, spec: sp})
	return r.en, r.err
}

// Pause pauses (on) or resumes a monitor.
func (e *Engine) Pause(en ecs.Entity, on bool) error {
	k := cmdResume
	if on {
		k = cmdPause
	}
	return e.do(command{kind: k, en: en}).err
}

// Status returns a snapshot of one monitor.
func (e *Engine) Status(en ecs.Entity) (Status, error) {
	r := e.do(command{kind: cmdStatus, en: en})
	return r.status, r.err
}

// AddMaintenance adds windows over the monitors whose labels include
// every pair of sel.
func (e *Engine) AddMaintenance(sel map[string]string, wins []maint.Window) (uint64, error) {
	r := e.do(command{kind: cmdAddMaint, sel: sel, wins: wins})
	return r.mid, r.err
}

// RemoveMaintenance removes windows added by AddMaintenance.
func (e *Engine) RemoveMaintenance(id uint64) error {
	return e.do(command{kind: cmdRemoveMaint, mid: id}).err
}

type cmdKind uint8

const (
	cmdAdd cmdKind = iota
	cmdRemove
	cmdStatus
	cmdPause
	cmdResume
	cmdAddMaint
	cmdRemoveMaint
	cmdUpdate
	cmdOwn
	cmdDisown
	cmdFlush
	cmdWatch
	cmdRead // runs read where the store's owner runs; it only reads
)

type command struct {
	kind  cmdKind
	spec  *Spec
	sel   map[string]string
	wins  []maint.Window
	en    ecs.Entity
	mid   uint64
	read  func()
	reply chan reply

	grants []Grant       // cmdOwn
	shards []int         // cmdDisown
	wait   chan struct{} // cmdFlush
	on     bool          // cmdWatch
}

type reply struct {
	en     ecs.Entity
	mid    uint64
	err    error
	status Status
}

// do runs a command on the store: directly when the loop is not running,
// through the loop when it is.
func (e *Engine) do(c command) reply {
	e.mu.Lock()
	switch e.state {
	case stateRunning, stateStopping:
		e.mu.Unlock()
		c.reply = make(chan reply, 1)
		select {
		case e.cmds <- c:
			return <-c.reply
		case <-e.loopDone:
			// The loop is gone; the store is quiet once Shutdown is done
			// with it, so take the lock and read it.
			e.mu.Lock()
			defer e.mu.Unlock()
			if c.kind != cmdStatus && c.kind != cmdRead {
				return reply{err: e.errs.Closed}
			}
			return e.exec(c)
		}
	case stateClosed:
		defer e.mu.Unlock()
		if c.kind != cmdStatus && c.kind != cmdRead {
			return reply{err: e.errs.Closed}
		}
		return e.exec(c)
	default:
		defer e.mu.Unlock()
		return e.exec(c)
	}
}

func (e *Engine) exec(c command) reply {
	switch c.kind {
	case cmdAdd:
		en, err := e.addMonitor(c.spec)
		return reply{en: en, err: err}
	case cmdRemove:
		return reply{err: e.removeMonitor(c.en)}
	case cmdUpdate:
		en, err := e.updateMonitor(c.en, c.spec)
		return reply{en: en, err: err}
	case cmdPause, cmdResume:
		return reply{err: e.pause(c.en, c.kind == cmdPause)}
	case cmdAddMaint:
		return reply{mid: e.addMaint(c.sel, c.wins)}
	case cmdRemoveMaint:
		return reply{err: e.removeMaint(c.mid)}
	case cmdOwn:
		return reply{err: e.own(c.grants)}
	case cmdDisown:
		return reply{err: e.disown(c.shards)}
	case cmdFlush:
		e.flushWait(c.wait)
		return reply{}
	case cmdWatch:
		return reply{err: e.watch(c.shards, c.on)}
	case cmdRead:
		c.read()
		return reply{}
	default:
		st, err := e.statusOf(c.en)
		return reply{status: st, err: err}
	}
}

func (e *Engine) addMonitor(sp *Spec) (ecs.Entity, error) {
	s := e.store
	rules := sp.Rules
	rules.Interval = sp.Interval.Milliseconds()
	rules.Remediates = sp.Remediate != nil
	rules.DryRun = rules.Remediates && (rules.DryRun || e.cfg.DryRun)
	n := sp.Notify
	if n == nil {
		n = e.cfg.Notifier
	}
	rules.Routes = routes(n)
	var pbuf [4]string
	parents, err := e.parents(sp, pbuf[:])
	if err != nil {
		return ecs.Entity{}, err
	}
	rules.Parents = len(parents) > 0
	if rules.Quorum > 1 && e.cfg.Cluster == nil {
		return ecs.Entity{}, e.errs.Monitor(sp.Name, "Quorum", fmt.Errorf("%d locations: a quorum above 1 needs a cluster of engines in several locations (WithCluster)", rules.Quorum))
	}
	toMs := max(1, (sp.Timeout + time.Millisecond - 1).Milliseconds())
	idx, ok := e.rules.intern(rules, uint32(min(toMs, math.MaxUint32)), ecs.KindOf(sp.Check))
	if !ok {
		return ecs.Entity{}, e.errs.Monitor(sp.Name, "Name", fmt.Errorf("the engine holds %d distinct rule sets, its maximum", ecs.MaxRules))
	}
	ivMs := sp.Interval.Milliseconds()
	now := s.Wheel.Now()
	sched := ecs.Schedule{Due: e.phaseDue(sp.Name, ivMs, now)}
	h := ecs.Health{Rules: idx, Core: episode.New().Core}
	var opt ecs.Optional
	// Each optional part is a component of its own, so a monitor pays
	// only for what it uses.
	if sp.Remediate != nil {
		opt.Plugins = &ecs.Plugins{Remediate: sp.Remediate,
			FixTimeout: uint32(max(1, (sp.FixTimeout + time.Millisecond - 1).Milliseconds())),
			Limit:      uint32(sp.Limit), Window: sp.Window.Milliseconds()}
	}
	if t, ok := e.tieOf(sp); ok {
		opt.Meta, opt.Labelled = &ecs.Meta{Set: e.holdTie(t)}, t.labelled
	}
	if rules.FailureWindow > 0 || rules.FlapHigh > 0 {
		opt.Ring = &ecs.Ring{}
	}
	if len(parents) > 0 {
		opt.Deps = &ecs.Deps{Set: e.parentSet(parents)}
	}
	if e.away(sp.Name) {
		h.Rules |= ecs.Away
	}
	en, ok := s.Create(sp.Name, sp.Check, sched, h, opt)
	if !ok {
		e.unshare(opt)
		e.rules.unref(idx)
		if en.IsZero() {
			return ecs.Entity{}, e.errs.Monitor(sp.Name, "Name", fmt.Errorf("the engine holds %d monitors, its maximum", ecs.MaxMonitors))
		}
		return ecs.Entity{}, e.errs.Monitor(sp.Name, "Name", e.errs.Duplicate)
	}
	e.monitors.Add(1)
	e.budget.Count(sp.Labels, 1)
	e.maintAdded(en, sp.Maintenance)
	e.restore(en, sp.Name)
	return en, nil
}

// routes returns the codes n takes: none without a notifier, those with
// an entry in a Route, every code otherwise.
func routes(n alert.Notifier) uint8 {
	switch r := n.(type) {
	case nil:
		return 0
	case alert.Route:
		var bits uint8
		for code, to := range r {
			if to != nil && code > 0 && code < 8 {
				bits |= 1 << code
			}
		}
		return bits
	}
	return episode.RouteAll
}

// sharedIndex bounds the notifiers and the label maps the engine finds
// again to share: a fleet holds few of either, unless its monitors each
// have their own, and then an index of them would find nothing to share.
const sharedIndex = 1 << 16

// tie is what a monitor has of its own among its notifier and its labels,
// shared by the monitors with the same: their Meta names it. A fleet's
// monitors mostly share one, where an index of each would cost them 4
// bytes more.
type tie struct {
	labels   map[string]string
	notify   uint32 // the notifier's slot in notifiers, plus one; 0: the engine's
	labelled bool   // labels or maintenance windows of its own: the monitor has a Maint
}

// tieKey finds a tie again: label maps are the same when they are the
// same map (see [shared.MapKey]).
type tieKey struct {
	labels   unsafe.Pointer
	notify   uint32
	labelled bool
}

func (t tie) key() tieKey { return tieKey{shared.MapKey(t.labels), t.notify, t.labelled} }

// tieOf returns the tie of a monitor of spec sp, holding its notifier
// for it; false when it has neither a notifier nor labels of its own.
func (e *Engine) tieOf(sp *Spec) (tie, bool) {
	var t tie
	if sp.Notify != nil {
		i, _ := e.notifiers.Ref(sp.Notify)
		t.notify = i + 1
	}
	if len(sp.Labels) > 0 || len(sp.Maintenance) > 0 {
		t.labels, t.labelled = sp.Labels, true
	}
	return t, t.notify != 0 || t.labelled
}

// holdTie counts a holder of t, which holds its notifier, and returns its
// slot. A tie found in the table holds its notifier already: the hold
// tieOf took goes back.
func (e *Engine) holdTie(t tie) uint32 {
	i, added := e.ties.Ref(t)
	if !added && t.notify != 0 {
		e.notifiers.Unref(t.notify - 1)
	}
	return i
}

// tieOfMonitor returns the tie of a monitor, the zero tie when it has none.
func (e *Engine) tieOfMonitor(en ecs.Entity) tie {
	if s := e.store; s.Metas.Has(en) {
		return e.ties.Get(s.Metas.Get(en).Set)
	}
	return tie{}
}

// parentsOf returns the parent set of a monitor that has one.
func (e *Engine) parentsOf(en ecs.Entity) *ecs.ParentSet {
	return e.parentSets.Get(e.store.Deps.Get(en).Set)
}

// parentSet holds the shared set of these parent names and returns its
// index.
func (e *Engine) parentSet(names []string) uint32 {
	key := strings.Join(names, "\x00")
	t := &e.parentSets
	if i, ok := t.Find(key); ok {
		t.Hold(i)
		return i
	}
	i, _ := t.Ref(&ecs.ParentSet{Names: slices.Clone(names), Key: key})
	if e.parentRefs == nil {
		e.parentRefs = make(map[string]int)
	}
	for _, n := range names {
		e.parentRefs[n]++
	}
	return i
}

func (e *Engine) unrefParents(i uint32) {
	if ps, last := e.parentSets.Unref(i); last {
		for _, n := range ps.Names {
			if e.parentRefs[n]--; e.parentRefs[n] == 0 {
				delete(e.parentRefs, n)
			}
		}
	}
}

// unshare lets go of the shared values a monitor's optional components
// name: its notifier, labels and parent set.
func (e *Engine) unshare(opt ecs.Optional) {
	if opt.Meta != nil {
		if t, last := e.ties.Unref(opt.Meta.Set); last && t.notify != 0 {
			e.notifiers.Unref(t.notify - 1)
		}
	}
	if opt.Deps != nil {
		e.unrefParents(opt.Deps.Set)
	}
}

// unshareOf lets go of the shared values of a monitor in the store.
func (e *Engine) unshareOf(en ecs.Entity) {
	s := e.store
	var opt ecs.Optional
	if s.Metas.Has(en) {
		opt.Meta = s.Metas.Get(en)
	}
	if s.Deps.Has(en) {
		opt.Deps = s.Deps.Get(en)
	}
	e.unshare(opt)
}

// cycle returns the path from one of parents back to name along the
// parents of monitors in the engine, or nil when there is none. Monitors
// whose parents have no parents, the usual case, cost a lookup each.
func (e *Engine) cycle(name string, parents []string) []string {
	if e.parentRefs[name] == 0 {
		return nil // no monitor names this one as a parent: nothing leads back
	}
	s := e.store
	var seen map[*ecs.ParentSet]bool
	var walk func(n string) []string
	walk = func(n string) []string {
		if n == name {
			return []string{n}
		}
		en, ok := s.Lookup(n)
		if !ok || !s.Deps.Has(en) {
			return nil
		}
		set := e.parentsOf(en)
		if seen == nil {
			seen = make(map[*ecs.ParentSet]bool)
		}
		if seen[set] {
			return nil // its parents are known to lead nowhere
		}
		seen[set] = true
		for _, p := range set.Names {
			if path := walk(p); path != nil {
				return append([]string{n}, path...)
			}
		}
		return nil
	}
	for _, p := range parents {
		if path := walk(p); path != nil {
			return path
		}
	}
	return nil
}

// parents resolves sp.DependsOn to names, refusing dead references and
// cycles. The names are in a small buffer the caller owns; parentSet keeps
// a copy.
func (e *Engine) parents(sp *Spec, buf []string) ([]string, error) {
	if len(sp.DependsOn) == 0 {
		return nil, nil
	}
	s := e.store
	names := buf[:0]
	for i, r := range sp.DependsOn {
		name := r.Name
		if name == "" {
			if !s.Alive(r.ID) {
				return nil, e.errs.Monitor(sp.Name, fmt.Sprintf("DependsOn[%d]", i),
					fmt.Errorf("monitor m%d.%d: %w", r.ID.ID(), r.ID.Gen(), e.errs.NotFound))
			}
			name = s.Name(r.ID)
		}
		if name == sp.Name {
			return nil, e.errs.Monitor(sp.Name, fmt.Sprintf("DependsOn[%d]", i), errors.New("a monitor cannot depend on itself"))
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if path := e.cycle(sp.Name, names); path != nil {
		return nil, e.errs.Monitor(sp.Name, "DependsOn",
			fmt.Errorf("dependency cycle: %s -> %s", sp.Name, strings.Join(path, " -> ")))
	}
	return names, nil
}

// phaseDue returns the first tick at or after now at which a monitor with
// this name and interval is due: the tick whose wall-clock time, modulo the
// interval, equals the name's hash modulo the interval.
func (e *Engine) phaseDue(name string, iv, now int64) int64 {
	phase := int64(ecs.HashName(name) % uint64(iv))
	wall := (e.epochMs + now) % iv
	return now + (phase-wall+iv)%iv
}

func (e *Engine) removeMonitor(en ecs.Entity) error {
	s := e.store
	if en.IsZero() || !s.Alive(en) {
		return e.errs.NotFound
	}
	h := s.Healths.Get(en)
	if h.Rules&ecs.InFlight != 0 {
		e.l.removedInFlight++
	}
	e.step(en, episode.Event{Kind: episode.Remove, At: e.unix(e.tickNow())}, nil)
	h = s.Healths.Get(en)
	e.count(h.Phase, -1)
	e.rules.unref(h.RulesIndex())
	name := s.Name(en)
	if k := e.keep; k != nil {
		// Alerts waiting for their batch go to the alert path now, while
		// the monitor's name and labels can still be read.
		for i := 0; i < len(k.held); i++ {
			if h := k.held[i]; h.en == en {
				e.alerts.Raise(h.en, h.n, h.own, h.p, h.labels)
				k.held = append(k.held[:i], k.held[i+1:]...)
				i--
			}
		}
		// So do its attempts waiting for their batch, as if they had
		// started just before the removal.
		for i := 0; i < len(k.heldFixes); i++ {
			if h := k.heldFixes[i]; h.c.E == en {
				e.fix.Submit(h.c)
				k.heldFixes = append(k.heldFixes[:i], k.heldFixes[i+1:]...)
				i--
			}
		}
		e.forget(name)
	}
	if e.l.started {
		e.alerts.Removed(en, name, e.labels(en))
	}
	e.maintRemoved(en)
	e.budget.Count(e.labels(en), -1)
	e.unshareOf(en)
	s.Delete(en)
	e.monitors.Add(-1)
	return nil
}

// updateMonitor replaces a monitor by one with new settings and the same
// name, which takes over its state and its alerts on the way.
func (e *Engine) updateMonitor(en ecs.Entity, sp *Spec) (ecs.Entity, error) {
	s := e.store
	if en.IsZero() || !s.Alive(en) {
		return ecs.Entity{}, e.errs.NotFound
	}
	name := s.Name(en)
	if sp.Name != name {
		return ecs.Entity{}, e.errs.Monitor(sp.Name, "Name", fmt.Errorf("an update keeps the name %q: remove the monitor and add the new one", name))
	}
	h := s.Healths.Get(en)
	c := &carried{m: e.kept(en, h), lastCheck: h.LastCheck(), latency: h.LastLatency}
	c.m.State.Fails, c.m.State.Succs = h.Fails, h.Succs
	if h.Phase.Open() {
		_, lastErr := s.Episode(en)
		c.lastErr = *lastErr
	}
	if s.Rings.Has(en) {
		rg := s.Rings.Get(en)
		c.history, c.windowN, c.hadHistory = rg.History, s.Windows.Get(en).N, true
	}
	if s.Plugins.Has(en) {
		pl := s.Plugins.Get(en)
		c.fixEnd, c.fixErr = pl.LastFixEnd, pl.LastFixErr
	}
	// Check the new settings before the old monitor goes: a refused update
	// changes nothing. Its name is its own, so it is free for the moment.
	if _, err := e.parents(sp, make([]string, 0, 4)); err != nil {
		return ecs.Entity{}, err
	}
	if h.Rules&ecs.InFlight != 0 {
		e.l.removedInFlight++ // its result is ignored; the new monitor checks afresh
	}
	e.count(h.Phase, -1)
	e.rules.unref(h.RulesIndex())
	e.maintRemoved(en)
	e.budget.Count(e.labels(en), -1)
	e.unshareOf(en)
	s.Delete(en)
	e.monitors.Add(-1)
	e.carry = c
	nen, err := e.addMonitor(sp)
	e.carry = nil
	if err != nil {
		return ecs.Entity{}, err
	}
	if e.l.started {
		e.alerts.Rekey(en, nen)
	}
	if k := e.keep; k != nil {
		for i := range k.held {
			if k.held[i].en == en {
				k.held[i].en = nen
			}
		}
		for i := range k.heldFixes {
			if k.heldFixes[i].c.E == en {
				k.heldFixes[i].c.E = nen
			}
		}
	}
	return nen, nil
}

// tickNow is the current tick.
func (e *Engine) tickNow() int64 { return e.nanotime() / int64(time.Millisecond) }

// pause pauses or resumes a monitor; it runs where the store's owner runs.
func (e *Engine) pause(en ecs.Entity, on bool) error {
	s := e.store
	if en.IsZero() || !s.Alive(en) {
		return e.errs.NotFound
	}
	k := episode.Resume
	if on {
		k = episode.Pause
	}
	e.step(en, episode.Event{Kind: k, At: e.unix(e.tickNow())}, nil)
	return nil
}

func (e *Engine) statusOf(en ecs.Entity) (Status, error) {
	s := e.store
	if en.IsZero() || !s.Alive(en) {
		return Status{}, e.errs.NotFound
	}
	_, sc, h := s.Row(en)
	st := Status{
		Name:        s.Name(en),
		Phase:       h.Phase,
		Code:        h.Code,
		Fails:       int(h.Fails),
		Succs:       int(h.Succs),
		LastLatency: time.Duration(h.LastLatency) * time.Microsecond,
		Interval:    time.Duration(e.rules.interval(h)) * time.Millisecond,
		Timeout:     time.Duration(e.rules.timeout(h)) * time.Millisecond,
		Paused:      h.Flags&episode.Paused != 0,
		Maintenance: h.Flags&episode.Maint != 0,
		Flapping:    h.Hold == episode.HoldFlap,
		Suppressed:  h.Hold == episode.HoldParent,
		Away:        h.Rules&ecs.Away != 0,
	}
	if h.Phase != episode.Unknown {
		st.LastCheck = e.tickTime(h.LastCheck())
	}
	st.Labels = e.labels(en)
	if e.rules.list[h.RulesIndex()].FlapHigh > 0 {
		st.FlapPercent = float64(episode.FlapSum(s.Rings.Get(en).History)) / 19
	}
	if s.Plugins.Has(en) {
		pl := s.Plugins.Get(en)
		if pl.LastFix != 0 {
			st.LastRemediation = time.UnixMilli(pl.LastFix)
			st.LastRemediationError = pl.LastFixErr
		}
	}
	if h.Phase.Open() {
		ep, lastErr := s.Episode(en)
		st.Since = time.UnixMilli(ep.Start)
		st.Attempts = int(ep.Attempts)
		st.Remediating = h.Phase == episode.Remediating || h.Phase == episode.Verifying
		if h.Fails > 0 {
			st.LastError = *lastErr
		}
	}
	e.statusExtra(en, h, sc, &st)
	return st, nil
}

// Stats returns the engine's counters and gauges.
func (e *Engine) Stats() Stats {
	st := Stats{
		Monitors:           int(e.monitors.Load()),
		Up:                 int(e.nUp.Load()),
		Down:               int(e.nDown.Load()),
		Failing:            int(e.nFailing.Load()),
		ChecksRun:          e.stats.checksRun.Load(),
		ChecksFailed:       e.stats.checksFailed.Load(),
		ChecksAbandoned:    e.stats.checksAbandoned.Load(),
		ChecksSkipped:      e.stats.checksSkipped.Load(),
		FlapStarts:         e.stats.flapStarts.Load(),
		QueueFull:          e.stats.queueFull.Load(),
		Remediations:       e.stats.remediations.Load(),
		RemediationsFailed: e.stats.remediationsFailed.Load(),
		RemediationsDenied: e.stats.remediationsDenied.Load(),
		RemediationsDryRun: e.stats.remediationsDryRun.Load(),
		AlertsRaised:       e.alertCtr.Raised.Load(),
		AlertsSent:         e.alertCtr.Sent.Load(),
		AlertsFailed:       e.alertCtr.Failed.Load(),
		AlertsGrouped:      e.alertCtr.Grouped.Load(),
		AlertsCollapsed:    e.alertCtr.Collapsed.Load(),
		AlertsQueued:       int(e.alertCtr.Queued.Load()),
		AlertsKept:         e.alertCtr.Kept.Load(),
		CallsAbandoned:     e.stats.callsAbandoned.Load() + e.alertCtr.Abandoned.Load(),
		ShardsOwned:        int(e.shardsOwned.Load()),
		ShardsAcquired:     e.shardMoves.in.Load(),
		ShardsReleased:     e.shardMoves.out.Load(),
		AlertsFenced:       e.alertCtr.Fenced.Load(),
		RemediationsFenced: e.stats.remediationsFenced.Load(),
	}
	e.mu.Lock()
	p, fix := e.pulse, e.fix
	e.mu.Unlock()
	if k := e.keep; k != nil {
		st.StoreFailures, st.StatesDropped = k.failures.Load(), k.dropped.Load()
	}
	e.snapMu.Lock()
	st.Lag = e.lag
	st.Behind = e.behind
	st.CheckLatency = e.latency.Stats()
	st.LagHistogram = e.delays.Stats()
	if p != nil {
		st.Pulse = pipeStats(&p.Crew, p.Queued.Load()+e.parked.Load())
		st.Intervention = pipeStats(&fix.Crew, fix.Queued.Load())
		st.Alert = PipelineStats{Workers: int(e.alertCtr.InFlight.Load()), Queued: st.AlertsQueued}
		st.Pulse.Sizing, st.Intervention.Sizing = p.Sz.Last, fix.Sz.Last
		st.PlugInsRunning = int(fix.Running.Load() + e.alertCtr.Running.Load())
	}
	e.snapMu.Unlock()
	return st
}

// Start starts the engine's loop and worker pools and returns.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.state {
	case stateRunning, stateStopping:
		return e.errs.Running
	case stateClosed:
		return e.errs.Closed
	}
	if ctx == nil {
		ctx = context.Background()
	}
	e.base, e.abort = context.WithCancel(context.WithoutCancel(ctx))
	e.pulse = pulsepipe.New(pulsepipe.Config{
		Epoch: e.epoch, Base: e.base, QueueCapacity: e.cfg.QueueCapacity,
		MinWorkers: e.cfg.MinWorkers, MaxWorkers: e.cfg.MaxWorkers,
		Timeout: e.errs.Timeout, Panic: e.errs.Panic, Abandoned: &e.stats.checksAbandoned, Log: e.log,
	})
	e.fix = fixpipe.New(fixpipe.Config{
		Epoch: e.epoch, Base: e.base, MinWorkers: e.cfg.MinWorkers, MaxWorkers: e.cfg.MaxWorkers,
		TimeoutErr: e.errs.Timeout, PanicErr: e.errs.Panic, Abandoned: &e.stats.callsAbandoned, Log: e.log, Dead: e.dead,
	})
	var fence alerts.Fence
	if cl := e.cfg.Cluster; cl != nil {
		e.fix.SetFence(cl)
		fence = cl
	}
	e.alerts = alerts.New(alerts.Config{
		Default: e.cfg.Notifier, GroupBy: e.cfg.GroupBy, GroupWait: e.cfg.GroupWait,
		Timeout: e.cfg.NotifyTimeout, Retries: e.cfg.NotifyRetries, Backoff: e.cfg.NotifyBackoff, MaxElapsed: e.cfg.NotifyMaxElapsed,
		PerNotifier: e.cfg.NotifyConcurrency, MaxInFlight: e.cfg.NotifyMaxInFlight,
		PerMonitor: e.cfg.BacklogPerMonitor, Memory: e.cfg.BacklogMemory,
		Undelivered: e.cfg.Undelivered, Raised: e.cfg.Raised, Log: e.log, Epoch: e.epoch,
		TimeoutErr: e.errs.Timeout, PanicErr: e.errs.Panic, Info: e.info,
		Keep: e.keep != nil, Fence: fence, ShardOf: e.shardOfFn(),
	}, e.base, &e.alertCtr)
	if k := e.keep; k != nil {
		e.alerts.SetHooks(e.settled, e.folded)
		k.writes = make(chan keepBatch, 1)
		k.acks = make(chan uint64, 1)
		k.done = make(chan struct{})
		k.dropAt = e.nanotime() + int64(k.grace)
		go k.writer(e.log.Warn, e.dead)
	}
	e.l.init(e)
	if k := e.keep; k != nil {
		for name := range k.outbox {
			if en, ok := e.store.Lookup(name); ok {
				e.resend(en, name)
			}
		}
	}
	e.raiseEarly()
	e.rephase(e.nanotime() / int64(time.Millisecond))
	for range e.cfg.MinWorkers {
		e.pulse.Spawn()
	}
	e.state = stateRunning
	go e.loop()
	if e.cfg.Cluster != nil {
		e.runCluster()
	}
	return nil
}

// rephase moves monitors whose due time passed before Start to their next
// phase, so a slow start does not look like schedule lag.
func (e *Engine) rephase(tick int64) {
	s := e.store
	if tick <= s.Wheel.Now() {
		return
	}
	s.Wheel.Advance(tick-1, 0, func(en ecs.Entity, _ int64) {
		if !s.Alive(en) {
			return
		}
		sc := s.Scheds.Get(en)
		if sc.Due < tick {
			iv := e.rules.interval(s.Healths.Get(en))
			sc.Due += (tick - sc.Due + iv - 1) / iv * iv
		}
		s.Wheel.Insert(en, sc.Due)
	})
}

// Started reports whether Start has been called.
func (e *Engine) Started() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state != stateNew
}

// Shutdown stops scheduling checks, waits for checks and remediations in
// flight and delivers the alerts they raise and those already queued.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	switch e.state {
	case stateNew:
		e.state = stateClosed
		e.mu.Unlock()
		return nil
	case stateStopping, stateClosed:
		e.mu.Unlock()
		return e.errs.Closed
	}
	e.state = stateStopping
	e.mu.Unlock()

	close(e.stop)
	var err error
	select {
	case <-e.loopDone:
	case <-ctx.Done():
		err = ctx.Err()
		e.abort()
		<-e.loopDone
	}
	close(e.dead)
	e.pulse.Close()
	e.fix.Close()
	e.alerts.Close()
	if e.keep != nil {
		close(e.keep.writes)
	}
	workers := make(chan struct{})
	go func() {
		e.pulse.WG.Wait()
		e.fix.WG.Wait()
		e.alerts.Wait()
		if e.keep != nil {
			<-e.keep.done
		}
		close(workers)
	}()
	select {
	case <-workers:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
		e.abort()
		// Cancelled plug-ins return promptly; one that ignores its context
		// keeps its worker until it returns, and is not waited for.
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-workers:
		case <-t.C:
		}
		t.Stop()
	}
	e.abort()
	if e.clCancel != nil {
		// The engine's state is written: the cluster may hand its shards
		// over now.
		e.clCancel()
		<-e.clDone
	}
	e.mu.Lock()
	e.state = stateClosed
	e.mu.Unlock()
	return err
}

// info returns a monitor's name and labels, for its alerts.
func (e *Engine) info(en ecs.Entity) (string, map[string]string) {
	return e.store.Name(en), e.labels(en)
}
