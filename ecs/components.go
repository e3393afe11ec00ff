package ecs

import (
	"math/bits"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

// Probe is a monitor's identity and its check.
type Probe struct {
	Name  string
	Check pulse.Checker
}

// Schedule says when a monitor's next check is due. Times are engine ticks:
// milliseconds since the engine's epoch.
type Schedule struct {
	Due      int64  // tick of the next check
	Interval uint32 // milliseconds between checks
	Timeout  uint32 // milliseconds a check may take
}

// Monitor states.
const (
	StateUnknown uint8 = iota // no check has finished yet
	StateUp
	StateDown
)

// Health flags.
const (
	FlagInFlight  uint16 = 1 << iota // a check is running
	FlagInEpisode                    // an episode is open (an Episode component exists)
	FlagPaused                       // paused: no checks run, nothing is sent
	FlagRetry                        // has a retry interval (in Plugins)
	FlagRepeat                       // has a repeat interval (in Plugins)
	FlagWindow                       // down on X failures in the last Y checks (in Plugins)
	FlagFlap                         // has flap detection (thresholds in Plugins)
	FlagFlapping                     // is flapping: only flap alerts are sent
	FlagDeps                         // depends on other monitors (in Plugins)
	FlagMaint                        // in a maintenance window: no checks run, nothing is sent
	FlagRephase                      // checked off its phase: the next check returns to it
	FlagRingClear                    // the result ring holds no failure: a pass changes nothing
)

// Health holds a monitor's check outcome counters. It is updated on every
// check result, so it is kept small and free of pointers.
type Health struct {
	LastCheck     int64  // tick when the last check finished
	LastLatency   uint32 // microseconds the last check took (saturating)
	Fails         uint16 // consecutive failed checks (saturating)
	Succs         uint16 // consecutive passed checks (saturating)
	FailThreshold uint16
	SuccThreshold uint16
	State         uint8 // StateUnknown, StateUp or StateDown
	Code          uint8 // the last alert code raised (an alert.Code), 0 for none
	Flags         uint16
}

// Incident phases of an episode.
const (
	PhaseNone        uint8 = iota // not down, or down without a remediator
	PhaseRemediating              // an attempt is running
	PhaseVerifying                // an attempt succeeded; checks verify it
	PhaseBackoff                  // an attempt failed; the next waits for NextAttempt
	PhaseGaveUp                   // attempts are spent (red was raised)
	PhaseRedNoFix                 // down with no remediator (red was raised)
	PhaseLimited                  // a limit or budget holds the next attempt until NextAttempt
	PhaseHeld                     // down, but flapping or a parent holds alerts and attempts
)

// Episode is the state of an open episode: from the first failed check of a
// healthy monitor until its green. Only failing monitors carry it.
type Episode struct {
	Seq         uint64 // engine-wide episode number, to spot stale results
	Since       int64  // tick of the first failed check
	NextAttempt int64  // tick before which no new attempt may start (PhaseBackoff)
	LastErr     error  // the most recent check error
	Attempts    uint16 // remediation attempts started
	Phase       uint8
	Yellow      bool   // yellow was raised
	Red         bool   // red was raised
	LastRed     int64  // tick red was last sent (for reminders)
	Repeats     uint16 // reminders sent
	Sent        bool   // an alert of this episode was raised: its end is told with green
	HeldBy      uint8  // why alerts and attempts are held: HeldNone, HeldParent or HeldFlap
}

// Reasons an episode is held.
const (
	HeldNone   uint8 = iota
	HeldParent       // a parent is failing, or its verdict is awaited
	HeldFlap         // the monitor is flapping
)

// Plugins holds what only some monitors have: their own remediator,
// notifier, remediation policy and check intervals while failing.
type Plugins struct {
	Remediate       intervene.Remediator
	Notify          alert.Notifier // nil: the engine's default notifier
	MaxRemediations uint16
	RetryInterval   uint32 // ms between checks while failing and not yet down; 0: Interval
	RepeatInterval  uint32 // ms between reminders of a red; 0: none
	Policy          intervene.Policy

	LastFix    int64   // tick the last attempt started; 0 for none
	LastFixEnd int64   // tick the last attempt ended
	LastFixErr error   // its outcome
	Fixes      []int64 // start ticks of recent attempts, for Policy.Limit
}

// Meta holds a monitor's labels and maintenance bookkeeping; only
// monitors with labels or maintenance windows of their own carry it.
type Meta struct {
	Labels  map[string]string
	MaintID uint32 // the engine's record of the monitor's own windows; 0 for none
	Maint   uint8  // maintenance windows covering the monitor now
}

// Ring is a monitor's recent results, for a failure window and flap
// detection; only monitors with one of those carry it.
type Ring struct {
	History       uint64 // the last results, newest in bit 0: 1 failed
	FlapSince     int64  // Since of the episode open when flapping began; -1 for none
	FailureWindow uint8  // Y of "X failures in the last Y checks"; 0: consecutive
	WindowN       uint8  // results counted by the failure window since the last recovery
	FlapHigh      uint16 // weighted change sum (see FlapSum) at which flapping starts
	FlapLow       uint16 // weighted change sum below which it stops
}

// Deps names the monitors a monitor depends on. Monitors with the same
// parents share one set.
type Deps struct {
	Set *ParentSet
}

// ParentSet is a list of parent names, shared by the monitors that have it.
type ParentSet struct {
	Names []string
	Key   string // the names joined, to find the set
	Refs  int    // monitors holding it
}

// FlapSum is the weighted number of state changes among the last 21
// results in h (newest in bit 0): 20 transitions, the newest weighing 1.2
// and the oldest 0.8, scaled by 95. All 20 changed gives 1900, so a sum
// of 19*p is p percent.
func FlapSum(h uint64) int {
	x := (h ^ h>>1) & (1<<20 - 1)
	sum := 0
	for x != 0 {
		i := bits.TrailingZeros64(x)
		sum += 114 - 2*i
		x &= x - 1
	}
	return sum
}
