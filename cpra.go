package cpra

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

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

// Monitor describes one monitor: what to check, how often, what to do when
// it fails and whom to tell.
type Monitor struct {
	// Name identifies the monitor in alerts and must be unique in the engine.
	Name string
	// Check is the health check. Required.
	Check pulse.Checker
	// Interval between checks (0: 30s). At least 10ms, at most 31 days.
	// Intervals and timeouts have a resolution of one millisecond.
	Interval time.Duration
	// Timeout of each check and remediation attempt (0: 10s, or Interval
	// when that is shorter).
	Timeout time.Duration
	// FailureThreshold is the number of consecutive failures before the
	// monitor is down (0: 3).
	FailureThreshold int
	// SuccessThreshold is the number of consecutive successes before a
	// failing monitor is up again (0: 2).
	SuccessThreshold int
	// Remediate repairs the target when the monitor is down; nil for none.
	Remediate intervene.Remediator
	// MaxRemediations is the number of attempts per incident before the
	// monitor is reported red (0: 1). Policy.MaxAttempts, when set, wins.
	MaxRemediations int
	// Policy bounds the remediation of this monitor: backoff, verification,
	// cooldown, rate limit, dry run. The zero value is safe.
	Policy intervene.Policy
	// Notify receives the monitor's alerts; nil means the engine's default
	// (see [WithNotifier]), and no alerts when there is none.
	Notify alert.Notifier
	// Labels are passed on in alerts and incidents. The engine keeps the map
	// it is given: do not change it afterwards.
	Labels map[string]string
	// RetryInterval, when set, is the interval between checks while the
	// monitor fails but is not yet down, to confirm a failure sooner (0:
	// Interval). At least 10ms, at most Interval. Once the monitor is down
	// or up again it returns to Interval at its phase.
	RetryInterval time.Duration
	// RepeatInterval, when set, re-sends the red of a monitor that stays
	// down every RepeatInterval (with Alert.Repeat counting), until green.
	RepeatInterval time.Duration
	// FailureWindow, when set, makes the monitor go down on
	// FailureThreshold failures within its last FailureWindow checks, not
	// only in a row: a target that fails every other check goes down too.
	// At most 64, and at least FailureThreshold.
	FailureWindow int
	// Flap, when its High is set, turns on flap detection: see
	// [FlapThresholds].
	Flap FlapThresholds
	// DependsOn names the monitors this one depends on, by ID or by name. A
	// name may be of a monitor added later. While a parent is failing or
	// down, or in a maintenance window, this monitor's failures raise no
	// alert and start no remediation; Status reports them as suppressed.
	// A paused parent holds nothing. When a failure of
	// this monitor is seen before any parent has a result since, that
	// parent is checked at once and this monitor waits for its verdict.
	// Once the parents are fine again, the next check of this monitor
	// decides afresh: a failure is then told as usual. A dependency that
	// closes a cycle is refused.
	DependsOn []Ref
	// Maintenance lists windows in which the monitor is silenced as if
	// paused: entering one raises gray once (ending any open episode), no
	// checks run and nothing is sent inside, and leaving starts afresh, so
	// a target still down is told by fresh checks. See also
	// [Engine.AddMaintenance] for windows over a label selector.
	Maintenance []MaintenanceWindow
}

// Ref names a monitor, by ID or by name: set exactly one.
type Ref struct {
	ID   ID
	Name string
}

// FlapThresholds configure flap detection. The engine keeps the monitor's
// last 21 results and weighs the state changes among them, newer ones more
// (from 0.8 for the oldest to 1.2 for the newest), into a percentage: 0 for
// a steady monitor, 100 for one that changes on every check. When it
// reaches High the monitor is flapping: one alert with Flap FlapStart is
// sent, and then no other alert and no remediation until it falls below
// Low, when one alert with Flap FlapEnd tells the monitor's state.
//
// With flap detection on, yellow waits for a second failure in a row (as a
// soft state waits for confirmation): a single failed check between passes
// sends nothing, so a target that goes up and down on every check is told
// only by the flap-start and flap-end alerts.
type FlapThresholds struct {
	High float64 // percent at which flapping starts, up to 100; 0: no flap detection
	Low  float64 // percent below which it ends, below High (0: High/2)
}

// Defaults and limits of [Monitor] fields.
const (
	DefaultInterval         = 30 * time.Second
	DefaultTimeout          = 10 * time.Second
	DefaultFailureThreshold = 3
	DefaultSuccessThreshold = 2
	MinInterval             = 10 * time.Millisecond
	MaxInterval             = 31 * 24 * time.Hour
	maxCount                = 1<<16 - 1
)

// ID identifies a monitor in an engine. The zero ID names no monitor.
type ID struct{ e ecs.Entity }

// String returns a short form such as "m42.0".
func (id ID) String() string { return fmt.Sprintf("m%d.%d", id.e.ID(), id.e.Gen()) }

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id.e.IsZero() }

// State is a monitor's health as the engine judges it.
type State uint8

// Monitor states.
const (
	StateUnknown State = State(ecs.StateUnknown) // no check has finished yet
	StateUp      State = State(ecs.StateUp)
	StateDown    State = State(ecs.StateDown)
)

func (s State) String() string {
	switch s {
	case StateUp:
		return "up"
	case StateDown:
		return "down"
	default:
		return "unknown"
	}
}

// Status is a snapshot of one monitor.
type Status struct {
	ID    ID
	Name  string
	State State
	// Code is the last code raised for the monitor (0 if none yet).
	Code                 alert.Code
	ConsecutiveFailures  int
	ConsecutiveSuccesses int
	LastCheck            time.Time     // when the last check finished
	LastLatency          time.Duration // how long it took
	LastError            error         // its error; nil when it passed
	// Since is when the open episode began; zero when the monitor is not
	// failing.
	Since time.Time
	// Attempts counts remediation attempts in the open episode.
	Attempts int
	// Remediating is true while an attempt runs or is being verified.
	Remediating bool
	// Paused is true between Pause and Resume.
	Paused bool
	// Maintenance is true inside a maintenance window.
	Maintenance bool
	// Flapping is true between the flap-start and flap-end alerts, and
	// FlapPercent is the current weighted state change percentage (with
	// flap detection on).
	Flapping    bool
	FlapPercent float64
	// Suppressed is true while a parent (see Monitor.DependsOn) holds the
	// alerts and repairs of this failing monitor.
	Suppressed bool
	// LastRemediation is when the monitor's last attempt started (zero if
	// none), and LastRemediationError its outcome (nil: it succeeded, or it
	// is still running).
	LastRemediation      time.Time
	LastRemediationError error
	Interval             time.Duration
	Timeout              time.Duration
	Labels               map[string]string
}

// PipelineStats describes one pipeline's workers and queue.
type PipelineStats struct {
	Workers int // live workers
	Idle    int // workers waiting for work
	Queued  int // jobs waiting for a worker
	Sizing  SizingStats
}

// Stats are engine-wide counters and gauges. Counters count since Start.
type Stats struct {
	Monitors        int
	Up, Down        int // monitors up and down (the rest have no result yet)
	ChecksRun       uint64
	ChecksFailed    uint64
	ChecksAbandoned uint64 // checks that ran past their deadline and were left behind
	ChecksSkipped   uint64 // due checks not run because the previous one was still running
	FlapStarts      uint64 // times a monitor began to flap
	QueueFull       uint64 // times due checks had to wait for room in the pulse queue

	Remediations       uint64 // attempts finished
	RemediationsFailed uint64
	RemediationsDenied uint64 // attempts held back by a monitor's limit or the fleet budget
	RemediationsDryRun uint64 // attempts not run because of dry run
	AlertsSent         uint64 // alerts delivered
	AlertsFailed       uint64 // alerts given up on (see WithUndelivered)
	AlertsGrouped      uint64 // monitors' alerts sent inside grouped alerts (see WithGrouping)
	CallsAbandoned     uint64 // remediations and notifications left behind at their deadline
	PlugInsRunning     int    // remediation and notify calls still running, abandoned ones included

	Pulse        PipelineStats
	Intervention PipelineStats
	Alert        PipelineStats
	Lag          LagStats     // how late checks started, over the last few seconds
	CheckLatency LatencyStats // how long checks took, since Start
}

type counters struct {
	checksRun, checksFailed, checksAbandoned, checksSkipped, queueFull atomic.Uint64
	remediations, remediationsFailed                                   atomic.Uint64
	remediationsDenied, remediationsDryRun                             atomic.Uint64
	alertsSent, alertsFailed, callsAbandoned                           atomic.Uint64
	flapStarts, alertsGrouped                                          atomic.Uint64
}

type lifecycle uint8

const (
	stateNew lifecycle = iota
	stateRunning
	stateStopping
	stateClosed
)

// Engine runs monitors. Create one with [New], add monitors with
// [Engine.Add], then [Engine.Start] or [Engine.Run] it. All methods are safe
// for concurrent use.
type Engine struct {
	cfg       config
	log       *slog.Logger
	epoch     time.Time // monotonic origin of ticks
	epochWall time.Time
	epochMs   int64 // Unix milliseconds of the epoch

	mu    sync.Mutex // guards state, and the store before Start
	state lifecycle
	store *ecs.Store

	base  context.Context // parent of every plug-in context
	abort context.CancelFunc

	cmds     chan command
	stop     chan struct{} // closed by Shutdown
	loopDone chan struct{}
	dead     chan struct{} // closed once the loop no longer takes results

	pulse  *pulsePipe
	fix    *callPipe
	notify *callPipe

	stats      counters
	monitors   atomic.Int64
	nUp, nDown atomic.Int64

	snapMu  sync.Mutex
	lag     LagStats
	latency latencyHist

	l          loopState                 // owned by the loop
	maints     maints                    // owned with the store
	parentSets map[string]*ecs.ParentSet // owned with the store
	parentRefs map[string]int            // parent sets naming each monitor, by name
	groupSizes map[string]int            // monitors per value of the group budget's label
}

// New returns an engine configured by opts. It starts nothing: no goroutine
// runs until [Engine.Start].
func New(opts ...Option) (*Engine, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		o.apply(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	now := time.Now()
	e := &Engine{
		cfg:       cfg,
		log:       cfg.logger,
		epoch:     now,
		epochWall: now.Round(0),
		epochMs:   now.UnixMilli(),
		cmds:      make(chan command),
		stop:      make(chan struct{}),
		loopDone:  make(chan struct{}),
		dead:      make(chan struct{}),
	}
	e.store = ecs.NewStore(0, cfg.capacity)
	e.base = context.Background()
	return e, nil
}

func (e *Engine) nanotime() int64 { return int64(time.Since(e.epoch)) }

func (e *Engine) tickTime(tick int64) time.Time {
	return e.epochWall.Add(time.Duration(tick) * time.Millisecond)
}

// Add validates m and adds it to the engine, before or while it runs. The
// first check runs at the monitor's phase: a point within its interval fixed
// by its name, so a fleet spreads out evenly and keeps its spread across
// restarts. A monitor that is refused is reported by a [*MonitorError].
func (e *Engine) Add(m Monitor) (ID, error) {
	r := e.do(command{kind: cmdAdd, mon: &m})
	return r.id, r.err
}

// Remove stops and forgets a monitor. A check of it still running is
// ignored when it ends, and no alert for it is sent afterwards (one already
// being delivered completes).
func (e *Engine) Remove(id ID) error {
	return e.do(command{kind: cmdRemove, id: id}).err
}

// Pause stops checking a monitor and silences it: it raises gray once,
// which also ends any open episode (without a green), and nothing else is
// sent until [Engine.Resume]. A check already running is ignored when it
// ends. Pausing a paused monitor does nothing.
func (e *Engine) Pause(id ID) error {
	return e.do(command{kind: cmdPause, id: id}).err
}

// Resume checks a paused monitor again from a clean slate: its state is
// unknown until fresh checks decide it, as for a new monitor. Resuming a
// monitor that is not paused does nothing.
func (e *Engine) Resume(id ID) error {
	return e.do(command{kind: cmdResume, id: id}).err
}

// Status returns a snapshot of one monitor. It also works after Shutdown,
// showing the final state.
func (e *Engine) Status(id ID) (Status, error) {
	r := e.do(command{kind: cmdStatus, id: id})
	return r.status, r.err
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
)

type command struct {
	kind  cmdKind
	mon   *Monitor
	maint *Maintenance
	id    ID
	mid   uint64
	reply chan reply
}

type reply struct {
	id     ID
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
			if c.kind != cmdStatus {
				return reply{err: ErrClosed}
			}
			return e.exec(c)
		}
	case stateClosed:
		defer e.mu.Unlock()
		if c.kind != cmdStatus {
			return reply{err: ErrClosed}
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
		id, err := e.addMonitor(c.mon)
		return reply{id: id, err: err}
	case cmdRemove:
		return reply{err: e.removeMonitor(c.id)}
	case cmdPause, cmdResume:
		return reply{err: e.pause(c.id, c.kind == cmdPause)}
	case cmdAddMaint:
		mid, err := e.addMaint(c.maint)
		return reply{mid: mid, err: err}
	case cmdRemoveMaint:
		return reply{err: e.removeMaint(c.mid)}
	default:
		st, err := e.statusOf(c.id)
		return reply{status: st, err: err}
	}
}

func (e *Engine) addMonitor(m *Monitor) (ID, error) {
	bad := func(field string, err error) (ID, error) {
		return ID{}, &MonitorError{Monitor: m.Name, Field: field, Err: err}
	}
	if m.Name == "" {
		return bad("Name", errors.New("empty"))
	}
	if m.Check == nil {
		return bad("Check", errors.New("nil"))
	}
	iv, to := m.Interval, m.Timeout
	switch {
	case iv < 0:
		return bad("Interval", fmt.Errorf("negative (%v)", iv))
	case iv == 0:
		iv = DefaultInterval
	case iv < MinInterval:
		return bad("Interval", fmt.Errorf("%v is below the minimum %v", iv, MinInterval))
	case iv > MaxInterval:
		return bad("Interval", fmt.Errorf("%v is above the maximum %v", iv, MaxInterval))
	}
	switch {
	case to < 0:
		return bad("Timeout", fmt.Errorf("negative (%v)", to))
	case to == 0:
		to = min(DefaultTimeout, iv)
	case to > MaxInterval:
		return bad("Timeout", fmt.Errorf("%v is above the maximum %v", to, MaxInterval))
	}
	count := func(field string, v, def int) (uint16, error) {
		switch {
		case v < 0:
			return 0, &MonitorError{Monitor: m.Name, Field: field, Err: fmt.Errorf("negative (%d)", v)}
		case v == 0:
			return uint16(def), nil
		case v > maxCount:
			return 0, &MonitorError{Monitor: m.Name, Field: field, Err: fmt.Errorf("%d is above the maximum %d", v, maxCount)}
		}
		return uint16(v), nil
	}
	ft, err := count("FailureThreshold", m.FailureThreshold, DefaultFailureThreshold)
	if err != nil {
		return ID{}, err
	}
	st, err := count("SuccessThreshold", m.SuccessThreshold, DefaultSuccessThreshold)
	if err != nil {
		return ID{}, err
	}
	mr, err := count("MaxRemediations", m.MaxRemediations, 1)
	if err != nil {
		return ID{}, err
	}
	s := e.store
	ivMs := iv.Milliseconds()
	toMs := max(1, (to + time.Millisecond - 1).Milliseconds())
	now := s.Wheel.Now()
	sched := ecs.Schedule{Due: e.phaseDue(m.Name, ivMs, now), Interval: uint32(ivMs), Timeout: uint32(toMs)}
	h := ecs.Health{FailThreshold: ft, SuccThreshold: st}
	var opt ecs.Optional
	if err := checkPolicy(m.Name, &m.Policy); err != nil {
		return ID{}, err
	}
	switch ri := m.RetryInterval; {
	case ri < 0 || (ri > 0 && ri < MinInterval):
		return bad("RetryInterval", fmt.Errorf("%v is below the minimum %v", ri, MinInterval))
	case ri > iv:
		return bad("RetryInterval", fmt.Errorf("%v is longer than the interval %v", ri, iv))
	}
	switch rp := m.RepeatInterval; {
	case rp < 0 || (rp > 0 && rp < MinInterval):
		return bad("RepeatInterval", fmt.Errorf("%v is below the minimum %v", rp, MinInterval))
	case rp > MaxInterval:
		return bad("RepeatInterval", fmt.Errorf("%v is above the maximum %v", rp, MaxInterval))
	}
	if w := m.FailureWindow; w < 0 || w > 64 || (w > 0 && w < int(ft)) {
		return bad("FailureWindow", fmt.Errorf("%d: want 0, or from FailureThreshold (%d) to 64", w, ft))
	}
	if m.FailureWindow > 0 {
		h.Flags |= ecs.FlagWindow
	}
	var flapHigh, flapLow uint16
	if f := m.Flap; f.High != 0 || f.Low != 0 {
		switch {
		case !(f.High > 0 && f.High <= 100):
			return bad("Flap.High", fmt.Errorf("%v: want a percentage above 0, up to 100", f.High))
		case !(f.Low >= 0 && f.Low < f.High):
			return bad("Flap.Low", fmt.Errorf("%v: want a percentage from 0 to below High (%v)", f.Low, f.High))
		}
		low := f.Low
		if low == 0 {
			low = f.High / 2
		}
		// Sums are percentages times 19 (see ecs.FlapSum).
		flapHigh = uint16(math.Ceil(f.High * 19))
		flapLow = uint16(math.Ceil(low * 19))
		h.Flags |= ecs.FlagFlap
	}
	var pbuf [4]string
	parents, err := e.parents(m, pbuf[:])
	if err != nil {
		return ID{}, err
	}
	if len(parents) > 0 {
		h.Flags |= ecs.FlagDeps
	}
	for i := range m.Maintenance {
		if field, err := m.Maintenance[i].check(); err != nil {
			return bad(fmt.Sprintf("Maintenance[%d].%s", i, field), err)
		}
	}
	if m.RetryInterval > 0 {
		h.Flags |= ecs.FlagRetry
	}
	if m.RepeatInterval > 0 {
		h.Flags |= ecs.FlagRepeat
	}
	// Each optional part is a component of its own, so a monitor pays
	// only for what it uses.
	if m.Remediate != nil || m.Notify != nil || mr != 1 || m.RetryInterval > 0 || m.RepeatInterval > 0 {
		opt.Plugins = &ecs.Plugins{Remediate: m.Remediate, Notify: m.Notify, MaxRemediations: mr, Policy: m.Policy,
			RetryInterval: uint32(m.RetryInterval.Milliseconds()), RepeatInterval: uint32(m.RepeatInterval.Milliseconds())}
	}
	if len(m.Labels) > 0 || len(m.Maintenance) > 0 {
		opt.Meta = &ecs.Meta{Labels: m.Labels}
	}
	if m.FailureWindow > 0 || flapHigh > 0 {
		opt.Ring = &ecs.Ring{FailureWindow: uint8(m.FailureWindow), FlapHigh: flapHigh, FlapLow: flapLow}
		h.Flags |= ecs.FlagRingClear
	}
	if len(parents) > 0 {
		opt.Deps = &ecs.Deps{Set: e.parentSet(parents)}
	}
	en, ok := s.Create(ecs.Probe{Name: m.Name, Check: m.Check}, sched, h, opt)
	if !ok {
		if opt.Deps != nil {
			e.unrefParents(opt.Deps.Set)
		}
		return bad("Name", ErrDuplicateName)
	}
	e.monitors.Add(1)
	e.countGroup(m.Labels, 1)
	e.maintAdded(en, m.Maintenance)
	return ID{en}, nil
}

// countGroup keeps the number of monitors per value of the group
// remediation budget's label.
func (e *Engine) countGroup(labels map[string]string, d int) {
	lb := e.cfg.groupFixLabel
	if lb == "" {
		return
	}
	v, ok := labels[lb]
	if !ok {
		return
	}
	if e.groupSizes == nil {
		e.groupSizes = make(map[string]int)
	}
	if e.groupSizes[v] += d; e.groupSizes[v] == 0 {
		delete(e.groupSizes, v)
	}
}

// parentSet returns the shared set of these parent names.
func (e *Engine) parentSet(names []string) *ecs.ParentSet {
	key := strings.Join(names, "\x00")
	if e.parentSets == nil {
		e.parentSets = make(map[string]*ecs.ParentSet)
	}
	ps := e.parentSets[key]
	if ps == nil {
		ps = &ecs.ParentSet{Names: slices.Clone(names), Key: key}
		e.parentSets[key] = ps
		if e.parentRefs == nil {
			e.parentRefs = make(map[string]int)
		}
		for _, n := range names {
			e.parentRefs[n]++
		}
	}
	ps.Refs++
	return ps
}

func (e *Engine) unrefParents(ps *ecs.ParentSet) {
	if ps.Refs--; ps.Refs == 0 {
		delete(e.parentSets, ps.Key)
		for _, n := range ps.Names {
			if e.parentRefs[n]--; e.parentRefs[n] == 0 {
				delete(e.parentRefs, n)
			}
		}
	}
}

// parents resolves m.DependsOn to names, refusing bad references and
// cycles. The names are in a small buffer the caller owns; parentSet keeps
// a copy.
func (e *Engine) parents(m *Monitor, buf []string) ([]string, error) {
	if len(m.DependsOn) == 0 {
		return nil, nil
	}
	s := e.store
	names := buf[:0]
	for i, r := range m.DependsOn {
		bad := func(err error) ([]string, error) {
			return nil, &MonitorError{Monitor: m.Name, Field: fmt.Sprintf("DependsOn[%d]", i), Err: err}
		}
		var name string
		switch {
		case !r.ID.IsZero() && r.Name != "":
			return bad(fmt.Errorf("both ID %v and name %q: set one", r.ID, r.Name))
		case !r.ID.IsZero():
			if !s.Alive(r.ID.e) {
				return bad(fmt.Errorf("monitor %v: %w", r.ID, ErrNotFound))
			}
			name = s.Probes.Get(r.ID.e).Name
		case r.Name != "":
			name = r.Name
		default:
			return bad(errors.New("empty: set an ID or a name"))
		}
		if name == m.Name {
			return bad(errors.New("a monitor cannot depend on itself"))
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if path := e.cycle(m.Name, names); path != nil {
		return nil, &MonitorError{Monitor: m.Name, Field: "DependsOn",
			Err: fmt.Errorf("dependency cycle: %s -> %s", m.Name, strings.Join(path, " -> "))}
	}
	return names, nil
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
		set := s.Deps.Get(en).Set
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

// phaseDue returns the first tick at or after now at which a monitor with
// this name and interval is due: the tick whose wall-clock time, modulo the
// interval, equals the name's hash modulo the interval.
func (e *Engine) phaseDue(name string, iv, now int64) int64 {
	phase := int64(ecs.HashName(name) % uint64(iv))
	wall := (e.epochMs + now) % iv
	return now + (phase-wall+iv)%iv
}

func (e *Engine) removeMonitor(id ID) error {
	s := e.store
	if id.IsZero() || !s.Alive(id.e) {
		return ErrNotFound
	}
	h := s.Healths.Get(id.e)
	e.countState(h.State, -1)
	if h.Flags&ecs.FlagInFlight != 0 {
		e.l.removedInFlight++
	}
	if e.l.lanes != nil {
		e.dropLane(id.e) // undelivered alerts of a removed monitor are dropped
	}
	e.maintRemoved(id.e)
	e.countGroup(e.labels(id.e), -1)
	if s.Deps.Has(id.e) {
		e.unrefParents(s.Deps.Get(id.e).Set)
	}
	s.Delete(id.e)
	e.monitors.Add(-1)
	return nil
}

// pause pauses or resumes a monitor; it runs where the store's owner runs.
func (e *Engine) pause(id ID, on bool) error {
	s := e.store
	if id.IsZero() || !s.Alive(id.e) {
		return ErrNotFound
	}
	e.silence(id.e, ecs.FlagPaused, on)
	return nil
}

// silence sets or clears a reason to silence a monitor (pause or
// maintenance). The first reason raises gray, ends any open episode and
// forgets the monitor's state and history; when the last one is cleared
// fresh checks decide the state, as for a new monitor.
func (e *Engine) silence(en ecs.Entity, flag uint16, on bool) {
	s := e.store
	h := s.Healths.Get(en)
	if !on {
		h.Flags &^= flag
		return
	}
	quiet := h.Flags&(ecs.FlagPaused|ecs.FlagMaint) != 0
	h.Flags |= flag
	if quiet {
		return // already silenced: gray was sent
	}
	since := int64(-1) // no episode
	if h.Flags&ecs.FlagInEpisode != 0 {
		since = s.Episodes.Get(en).Since
	}
	e.countState(h.State, -1)
	h.State, h.Fails, h.Succs = ecs.StateUnknown, 0, 0
	h.Flags &^= ecs.FlagFlapping
	if s.Rings.Has(en) {
		r := s.Rings.Get(en)
		r.History, r.WindowN = 0, 0
		h.Flags |= ecs.FlagRingClear
	}
	e.raiseGray(en, h, since)
	if h.Flags&ecs.FlagInEpisode != 0 {
		h.Flags &^= ecs.FlagInEpisode
		s.Episodes.Remove(en) // the gray ends the episode
	}
}

func (e *Engine) statusOf(id ID) (Status, error) {
	s := e.store
	if id.IsZero() || !s.Alive(id.e) {
		return Status{}, ErrNotFound
	}
	p, sc, h := s.Monitors.Get(id.e)
	st := Status{
		ID:                   id,
		Name:                 p.Name,
		State:                State(h.State),
		Code:                 alert.Code(h.Code),
		ConsecutiveFailures:  int(h.Fails),
		ConsecutiveSuccesses: int(h.Succs),
		LastLatency:          time.Duration(h.LastLatency) * time.Microsecond,
		Interval:             time.Duration(sc.Interval) * time.Millisecond,
		Timeout:              time.Duration(sc.Timeout) * time.Millisecond,
		Paused:               h.Flags&ecs.FlagPaused != 0,
		Maintenance:          h.Flags&ecs.FlagMaint != 0,
		Flapping:             h.Flags&ecs.FlagFlapping != 0,
	}
	if h.State != ecs.StateUnknown || h.Flags&ecs.FlagInEpisode != 0 {
		st.LastCheck = e.tickTime(h.LastCheck)
	}
	if s.Metas.Has(id.e) {
		st.Labels = s.Metas.Get(id.e).Labels
	}
	if h.Flags&ecs.FlagFlap != 0 {
		st.FlapPercent = float64(ecs.FlapSum(s.Rings.Get(id.e).History)) / 19
	}
	if s.Plugins.Has(id.e) {
		pl := s.Plugins.Get(id.e)
		if pl.LastFix != 0 {
			st.LastRemediation = e.tickTime(pl.LastFix)
			st.LastRemediationError = pl.LastFixErr
		}
	}
	if h.Flags&ecs.FlagInEpisode != 0 {
		ep := s.Episodes.Get(id.e)
		st.Since = e.tickTime(ep.Since)
		st.Attempts = int(ep.Attempts)
		st.Remediating = ep.Phase == ecs.PhaseRemediating || ep.Phase == ecs.PhaseVerifying
		st.Suppressed = ep.HeldBy == ecs.HeldParent
		if h.Fails > 0 {
			st.LastError = ep.LastErr
		}
	}
	return st, nil
}

// Stats returns the engine's counters and gauges.
func (e *Engine) Stats() Stats {
	st := Stats{
		Monitors:           int(e.monitors.Load()),
		Up:                 int(e.nUp.Load()),
		Down:               int(e.nDown.Load()),
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
		AlertsSent:         e.stats.alertsSent.Load(),
		AlertsFailed:       e.stats.alertsFailed.Load(),
		AlertsGrouped:      e.stats.alertsGrouped.Load(),
		CallsAbandoned:     e.stats.callsAbandoned.Load(),
	}
	e.mu.Lock()
	p, fix, nt := e.pulse, e.fix, e.notify
	e.mu.Unlock()
	e.snapMu.Lock()
	st.Lag = e.lag
	st.CheckLatency = e.latency.stats()
	if p != nil {
		st.Pulse = p.stats(p.queued.Load())
		st.Intervention = fix.stats(fix.queued.Load())
		st.Alert = nt.stats(nt.queued.Load())
		st.Pulse.Sizing, st.Intervention.Sizing, st.Alert.Sizing = p.sz.last, fix.sz.last, nt.sz.last
		st.PlugInsRunning = int(fix.plugRunning.Load() + nt.plugRunning.Load())
	}
	e.snapMu.Unlock()
	return st
}

// Start starts the engine's loop and worker pools and returns. ctx is used
// only for its values, which every plug-in call's context carries; the
// engine runs until [Engine.Shutdown]. Start on a running engine returns
// [ErrRunning], after Shutdown [ErrClosed].
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.state {
	case stateRunning, stateStopping:
		return ErrRunning
	case stateClosed:
		return ErrClosed
	}
	if ctx == nil {
		ctx = context.Background()
	}
	e.pulse = newPulsePipe(e)
	e.fix = newCallPipe(e, "remediation", e.dead)
	e.notify = newCallPipe(e, "notify", e.dead)
	e.base, e.abort = context.WithCancel(context.WithoutCancel(ctx))
	e.l.init(e)
	e.rephase(e.nanotime() / int64(time.Millisecond))
	for range e.cfg.minWorkers {
		e.pulse.spawn()
	}
	e.state = stateRunning
	go e.loop()
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
			iv := int64(sc.Interval)
			sc.Due += (tick - sc.Due + iv - 1) / iv * iv
		}
		s.Wheel.Insert(en, sc.Due)
	})
}

// Shutdown stops scheduling checks, waits for checks and remediations in
// flight and delivers the alerts they raise and those already queued. When
// ctx ends first it cancels the plug-in calls still running and returns
// ctx.Err(). A plug-in call already past its deadline was counted as failed
// and is not waited for. Shutdown of an engine never started just closes
// it; later calls return [ErrClosed].
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	switch e.state {
	case stateNew:
		e.state = stateClosed
		e.mu.Unlock()
		return nil
	case stateStopping, stateClosed:
		e.mu.Unlock()
		return ErrClosed
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
	close(e.pulse.jobs)
	close(e.fix.in)
	close(e.notify.in)
	workers := make(chan struct{})
	go func() {
		e.pulse.wg.Wait()
		e.fix.wg.Wait()
		e.notify.wg.Wait()
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
	e.mu.Lock()
	e.state = stateClosed
	e.mu.Unlock()
	return err
}

// Run starts the engine, waits for ctx to end, then shuts it down within the
// shutdown timeout (see [WithShutdownTimeout]). It returns nil after a clean
// shutdown.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), e.cfg.shutdownTimeout)
	defer cancel()
	return e.Shutdown(sctx)
}

func checkPolicy(name string, p *intervene.Policy) error {
	bad := func(field, format string, args ...any) error {
		return &MonitorError{Monitor: name, Field: "Policy." + field, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case p.MaxAttempts < 0:
		return bad("MaxAttempts", "negative (%d)", p.MaxAttempts)
	case p.Backoff < 0:
		return bad("Backoff", "negative (%v)", p.Backoff)
	case p.MaxBackoff < 0:
		return bad("MaxBackoff", "negative (%v)", p.MaxBackoff)
	case !(p.Jitter >= 0 && p.Jitter <= 1):
		return bad("Jitter", "%v is not a share from 0 to 1", p.Jitter)
	case p.Verify < 0:
		return bad("Verify", "negative (%d)", p.Verify)
	case p.Cooldown < 0:
		return bad("Cooldown", "negative (%v)", p.Cooldown)
	case p.Limit < 0:
		return bad("Limit", "negative (%d)", p.Limit)
	case p.Limit > 0 && p.Window <= 0:
		return bad("Window", "a Limit needs a positive Window")
	}
	return nil
}
