package cpra

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/internal/loop"
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
	// Timeout of each check, and of each remediation attempt unless
	// Policy.Timeout says otherwise (0: 10s, or Interval
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
	// Quorum, in a cluster whose members probe from several locations
	// (see [WithCluster]), is how many locations must see the monitor
	// fail for a check to count as failed: with 2, one location that
	// loses its route to the target raises nothing, two raise one red,
	// whose error is a [*QuorumError] naming them. Every location checks
	// the monitor; the engine that owns its shard decides, from its own
	// check and the latest reports of the others. A location with no
	// live member counts as unknown, not as down. 0 (the default): the
	// owner's own check decides. Above 1 it needs a cluster.
	Quorum int
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

// Compare orders IDs: it returns -1 when id comes before other, 1 when it
// comes after, and 0 when they are equal. The order is fixed and total,
// for programs that keep IDs in a sorted list and search it (see
// [slices.BinarySearchFunc]); it says nothing of when the monitors were
// added.
func (id ID) Compare(other ID) int {
	if c := cmp.Compare(id.e.ID(), other.e.ID()); c != 0 {
		return c
	}
	return cmp.Compare(id.e.Gen(), other.e.Gen())
}

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id.e.IsZero() }

// State is a monitor's health as the engine judges it.
type State uint8

// Monitor states.
const (
	StateUnknown State = iota // no check has finished yet
	StateUp                   // passing, or failing but not yet down
	StateDown                 // down: FailureThreshold failures
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
	LastCheck            time.Time     // when the last check finished: the time of the last result
	LastLatency          time.Duration // how long it took
	// LastError is the error of the last check while the monitor fails;
	// nil when it passed. The built-in checkers scrub every secret they
	// were given from it.
	LastError error
	// Since is when the current failing or down state began: the start of
	// the open episode. It is zero for a monitor that is not failing: the
	// engine does not keep when a healthy monitor recovered, which would
	// cost every monitor 8 bytes.
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
	// Away is true while another engine of the cluster runs the monitor
	// (see [WithCluster]); its other fields are then those of a monitor
	// just added.
	Away bool
	// Suppressed is true while a parent (see Monitor.DependsOn) holds the
	// alerts and repairs of this failing monitor, and SuppressedBy names
	// the parent: one that is failing, down or in maintenance, or, while
	// the monitor waits for its parents' verdict, the first parent.
	Suppressed   bool
	SuppressedBy string
	// NextCheck is when the next check is due; zero while the monitor is
	// paused or in a maintenance window.
	NextCheck time.Time
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
	Failing         int // of Up, those failing but not yet down (FailureThreshold not reached)
	ChecksRun       uint64
	ChecksFailed    uint64
	ChecksAbandoned uint64 // checks that ran past their deadline and were left behind
	ChecksSkipped   uint64 // due checks not run because the previous one was still running
	FlapStarts      uint64 // times a monitor began to flap
	QueueFull       uint64 // times due checks had to wait for room in the pulse queue
	// ChecksLate counts the checks that are due and have not started
	// (a check due at this millisecond is not late yet), and LateOldest
	// is how long ago the oldest of them was due: how far behind the
	// engine is when its workers or targets cannot keep up. Checks not
	// started wait as due times, not as queued work, so falling behind
	// costs no memory; those handed to the pulse queue (at most
	// WithQueueCapacity) count once the workers are more than a
	// millisecond behind on them. Counted about every second.
	ChecksLate int
	LateOldest time.Duration

	Remediations       uint64 // attempts finished
	RemediationsFailed uint64
	RemediationsDenied uint64 // attempts held back by a monitor's limit or the fleet budget
	RemediationsDryRun uint64 // attempts not run because of dry run
	// Alerts: every alert raised for a notifier has one fate. It is
	// delivered (AlertsSent), handed to the dead-letter hook (AlertsFailed,
	// see WithUndelivered), folded into another while it waited
	// (AlertsCollapsed, see WithAlertBacklog), or still waiting
	// (AlertsQueued) or in flight. A grouped alert (see WithGrouping) is
	// one delivery standing for AlertsGrouped of its members' alerts.
	AlertsRaised    uint64 // alerts raised for a notifier
	AlertsSent      uint64 // deliveries that succeeded
	AlertsFailed    uint64 // deliveries given up on, and alerts handed to the hook at once
	AlertsGrouped   uint64 // monitors' alerts sent inside grouped alerts
	AlertsCollapsed uint64 // alerts folded into others while they waited
	AlertsQueued    int    // alerts waiting for their notifier now
	AlertsKept      uint64 // alerts on the way at the shutdown deadline, kept in the store for the next start
	StoreFailures   uint64 // writes the store refused (each retried; see WithStore)
	StatesDropped   uint64 // kept states of monitors not added again within the grace
	CallsAbandoned  uint64 // remediations and notifications left behind past their deadline
	PlugInsRunning  int    // remediation and notify calls still running, abandoned ones included
	// OffHeapBytes is what the whole process (every engine and config
	// Syncer in it) holds in arrays outside the Go heap: see [OffHeapBytes].
	OffHeapBytes int64

	// In a cluster (see WithCluster): the shards this engine runs, the
	// alerts it left to the next owner of their shard because it no longer
	// held it (or could not tell), and the repairs it did not start for
	// that reason (an attempt not started does not count: it runs later,
	// with the same number, here or at the shard's next owner).
	ShardsOwned        int
	ShardsAcquired     uint64 // shards the engine began to run
	ShardsReleased     uint64 // shards it stopped running (handed over, or lost)
	AlertsFenced       uint64
	RemediationsFenced uint64

	Pulse        PipelineStats
	Intervention PipelineStats
	Alert        PipelineStats
	Lag          LagStats     // how late checks started, over the last few seconds
	CheckLatency LatencyStats // how long checks took, since Start
	LagHistogram LatencyStats // how late checks started, since Start (Lag has the last few seconds)
}

// SizingStats is a pipeline's latest sizing decision and the measurements
// it was made from (a sliding window of the last 10 seconds).
type SizingStats struct {
	Lambda      float64       // arrivals per second
	MeanService time.Duration // E[S], mean time a worker spends on one job
	CA2, CS2    float64       // squared coefficients of variation of inter-arrival and service times
	Load        float64       // offered load λ·E[S]: workers busy on average
	Target      int           // the worker count chosen
	Wait        time.Duration // predicted mean wait in the queue at Target
	Meets       bool          // whether Target meets the SLO (see WithSLO)
	// Ceiling, when not 0, caps the pulse workers below WithWorkers'
	// maximum: checks were waiting, and more workers had completed no
	// more checks (the targets, not the workers, set the pace). The cap
	// is lowered while the check rate holds, tried higher every 30s,
	// and lifted once checks stop waiting. A cap that costs checks is
	// lifted by steps: Ceiling is then the bound of the current step,
	// half again the workers at the last one, raised each two seconds the
	// pool reaches it with the check rate a tenth above the rate at the
	// last step, until it reaches the maximum. A pool with no cap grows
	// by the same steps beyond 64 workers (or half again the workers it
	// had when checks last stopped waiting); that bound is not a cap,
	// and Ceiling is 0.
	Ceiling int
}

// LagStats summarises schedule lag over the last few seconds: how late
// checks started compared with when they were due.
type LagStats struct {
	P50, P99, Max time.Duration
	Samples       uint64 // checks measured in the window
}

// LatencyBucket is one bucket of [LatencyStats]: checks that took at most
// UpperBound (cumulative, as in a Prometheus histogram).
type LatencyBucket struct {
	UpperBound time.Duration
	Count      uint64
}

// LatencyStats is a histogram of durations since Start: how long checks
// took ([Stats].CheckLatency), or how late they started
// ([Stats].LagHistogram).
type LatencyStats struct {
	Buckets []LatencyBucket // cumulative counts, by increasing bound
	Count   uint64          // all checks, including those above the last bound
	Sum     time.Duration   // total time of all checks
}

// Engine runs monitors. Create one with [New], add monitors with
// [Engine.Add], then [Engine.Start] or [Engine.Run] it. All methods are safe
// for concurrent use.
type Engine struct {
	l               *loop.Engine
	shutdownTimeout time.Duration
}

// engineErrors are the errors the engine's machinery reports, in the
// types and values this package documents.
var engineErrors = loop.Errors{
	Closed:    ErrClosed,
	Running:   ErrRunning,
	NotFound:  ErrNotFound,
	Duplicate: ErrDuplicateName,
	DryRun:    ErrDryRun,
	Budget:    ErrBudget,
	Monitor: func(monitor, field string, err error) error {
		return &MonitorError{Monitor: monitor, Field: field, Err: err}
	},
	Timeout: func(op string, d time.Duration) error { return &TimeoutError{Op: op, Timeout: d} },
	Panic: func(op string, v any, stack []byte) error {
		return &PanicError{Op: op, Value: v, Stack: stack}
	},
	Quorum: func(where []string, quorum int, err error) error {
		return &QuorumError{Locations: where, Quorum: quorum, Err: err}
	},
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
	if cfg.Cluster != nil && cfg.Store != nil {
		return nil, errors.New("cpra: WithStore and WithCluster: an engine of a cluster keeps its state in the cluster")
	}
	if cfg.Cluster != nil && cfg.StoreGrace == 0 {
		cfg.StoreGrace = DefaultStoreGrace
	}
	cfg.Errors = engineErrors
	l, err := loop.New(cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("cpra: loading the store: %w", err)
	}
	return &Engine{l: l, shutdownTimeout: cfg.shutdownTimeout}, nil
}

// Add validates m and adds it to the engine, before or while it runs. The
// first check runs at the monitor's phase: a point within its interval fixed
// by its name, so a fleet spreads out evenly and keeps its spread across
// restarts. A monitor that is refused is reported by a [*MonitorError];
// so is one beyond the most an engine holds, 16,777,214 monitors.
func (e *Engine) Add(m Monitor) (ID, error) {
	sp, err := m.spec()
	if err != nil {
		return ID{}, err
	}
	en, err := e.l.Add(sp)
	putSpec(sp)
	return ID{en}, err
}

// Update replaces the settings of a monitor with those of m, which must
// have the same name, and keeps its state: an open episode goes on (no
// second yellow or red; the green resolves the same incident), and so do
// its remediation attempts, its pause and its alerts on the way. The
// monitor gets a new ID, which Update returns; the old one is no longer
// valid. A refused update changes nothing and returns a [*MonitorError].
func (e *Engine) Update(id ID, m Monitor) (ID, error) {
	sp, err := m.spec()
	if err != nil {
		return ID{}, err
	}
	en, err := e.l.Update(id.e, sp)
	putSpec(sp)
	return ID{en}, err
}

// Remove stops and forgets a monitor. A check of it still running is
// ignored when it ends. Alerts it raised before are still delivered, and
// when it was removed in the middle of an episode its receivers were told
// of, a last gray says so.
func (e *Engine) Remove(id ID) error { return e.l.Remove(id.e) }

// Pause stops checking a monitor and silences it: it raises gray once, and
// nothing else is sent until [Engine.Resume]. An open episode stays open:
// an outage that spans a pause is one episode for the receivers, with one
// red and one green. A check already running is ignored when it ends, and
// a remediation already running completes. Pausing a paused monitor does
// nothing.
func (e *Engine) Pause(id ID) error { return e.l.Pause(id.e, true) }

// Resume checks a paused monitor again. It carries on where it was: a
// monitor that was down stays down, in the same episode, until passing
// checks end it with a green. Resuming a monitor that is not paused does
// nothing.
func (e *Engine) Resume(id ID) error { return e.l.Pause(id.e, false) }

// Status returns a snapshot of one monitor. It also works after Shutdown,
// showing the final state.
func (e *Engine) Status(id ID) (Status, error) {
	st, err := e.l.Status(id.e)
	if err != nil {
		return Status{}, err
	}
	return statusFrom(id, &st), nil
}

// statusFrom turns the engine's status of a monitor into a Status.
func statusFrom(id ID, st *loop.Status) Status {
	state := StateUnknown
	switch {
	case st.Phase.Down():
		state = StateDown
	case st.Phase != episode.Unknown:
		state = StateUp
	}
	return Status{
		ID: id, Name: st.Name, State: state, Code: st.Code,
		ConsecutiveFailures: st.Fails, ConsecutiveSuccesses: st.Succs,
		LastCheck: st.LastCheck, LastLatency: st.LastLatency, LastError: st.LastError,
		Since: st.Since, Attempts: st.Attempts, Remediating: st.Remediating,
		Paused: st.Paused, Maintenance: st.Maintenance, Flapping: st.Flapping, FlapPercent: st.FlapPercent,
		Suppressed: st.Suppressed, SuppressedBy: st.SuppressedBy, NextCheck: st.NextCheck, Away: st.Away,
		LastRemediation: st.LastRemediation, LastRemediationError: st.LastRemediationError,
		Interval: st.Interval, Timeout: st.Timeout, Labels: st.Labels,
	}
}

// Stats returns the engine's counters and gauges.
func (e *Engine) Stats() Stats {
	s := e.l.Stats()
	pipe := func(p loop.PipelineStats) PipelineStats {
		z := p.Sizing
		return PipelineStats{Workers: p.Workers, Idle: p.Idle, Queued: p.Queued, Sizing: SizingStats{
			Lambda: z.Lambda, MeanService: z.MeanService, CA2: z.CA2, CS2: z.CS2,
			Load: z.Load, Target: z.Target, Wait: z.Wait, Meets: z.Meets, Ceiling: z.Ceiling}}
	}
	lat := LatencyStats{Count: s.CheckLatency.Count, Sum: s.CheckLatency.Sum}
	for _, b := range s.CheckLatency.Buckets {
		lat.Buckets = append(lat.Buckets, LatencyBucket{UpperBound: b.UpperBound, Count: b.Count})
	}
	delays := LatencyStats{Count: s.LagHistogram.Count, Sum: s.LagHistogram.Sum}
	for _, b := range s.LagHistogram.Buckets {
		delays.Buckets = append(delays.Buckets, LatencyBucket{UpperBound: b.UpperBound, Count: b.Count})
	}
	return Stats{
		Monitors: s.Monitors, Up: s.Up, Down: s.Down, Failing: s.Failing,
		ChecksRun: s.ChecksRun, ChecksFailed: s.ChecksFailed, ChecksAbandoned: s.ChecksAbandoned,
		ChecksSkipped: s.ChecksSkipped, FlapStarts: s.FlapStarts, QueueFull: s.QueueFull,
		ChecksLate: s.Behind.Checks, LateOldest: s.Behind.Oldest,
		Remediations: s.Remediations, RemediationsFailed: s.RemediationsFailed,
		RemediationsDenied: s.RemediationsDenied, RemediationsDryRun: s.RemediationsDryRun,
		AlertsRaised: s.AlertsRaised, AlertsSent: s.AlertsSent, AlertsFailed: s.AlertsFailed, AlertsGrouped: s.AlertsGrouped,
		AlertsCollapsed: s.AlertsCollapsed, AlertsQueued: s.AlertsQueued, AlertsKept: s.AlertsKept,
		StoreFailures: s.StoreFailures, StatesDropped: s.StatesDropped,
		CallsAbandoned: s.CallsAbandoned, PlugInsRunning: s.PlugInsRunning, OffHeapBytes: OffHeapBytes(),
		ShardsOwned: s.ShardsOwned, ShardsAcquired: s.ShardsAcquired, ShardsReleased: s.ShardsReleased, AlertsFenced: s.AlertsFenced, RemediationsFenced: s.RemediationsFenced,
		Pulse: pipe(s.Pulse), Intervention: pipe(s.Intervention), Alert: pipe(s.Alert),
		Lag:          LagStats{P50: s.Lag.P50, P99: s.Lag.P99, Max: s.Lag.Max, Samples: s.Lag.Samples},
		CheckLatency: lat,
		LagHistogram: delays,
	}
}

// Start starts the engine's loop and worker pools and returns. ctx is used
// only for its values, which every plug-in call's context carries; the
// engine runs until [Engine.Shutdown]. Start on a running engine returns
// [ErrRunning], after Shutdown [ErrClosed].
func (e *Engine) Start(ctx context.Context) error { return e.l.Start(ctx) }

// Started reports whether [Engine.Start], [Engine.Run] or
// [Engine.Shutdown] has been called. Until then no monitor runs a check,
// so a program may add monitors and maintenances in any order.
func (e *Engine) Started() bool { return e.l.Started() }

// Shutdown stops scheduling checks, waits for checks and remediations in
// flight and delivers the alerts they raise and those already queued. When
// ctx ends first it cancels the plug-in calls still running and returns
// ctx.Err(). A plug-in call already past its deadline was counted as failed
// and is not waited for. Shutdown of an engine never started just closes
// it; later calls return [ErrClosed].
func (e *Engine) Shutdown(ctx context.Context) error { return e.l.Shutdown(ctx) }

// Run starts the engine, waits for ctx to end, then shuts it down within the
// shutdown timeout (see [WithShutdownTimeout]). It returns nil after a clean
// shutdown.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), e.shutdownTimeout)
	defer cancel()
	return e.Shutdown(sctx)
}

var (
	_ = fmt.Sprint
	_ alert.Notifier
	_ intervene.Remediator
	_ pulse.Checker
)
