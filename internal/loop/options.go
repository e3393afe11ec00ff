package loop

import (
	"log/slog"
	"time"

	"github.com/ziad/cpra/alert"
)

// Config is the engine's configuration, filled in and checked by the
// options of package cpra, whose docs say what each field does.
type Config struct {
	Logger           *slog.Logger
	MinWorkers       int
	MaxWorkers       int
	QueueCapacity    int
	Notifier         alert.Notifier
	NotifyTimeout    time.Duration
	GroupBy          string
	GroupWait        time.Duration
	GroupFixLabel    string
	GroupFixShare    float64
	GroupFixWindow   time.Duration
	NotifyRetries    int
	NotifyBackoff    time.Duration
	NotifyMaxElapsed time.Duration
	// NotifyConcurrency bounds the deliveries in flight to one notifier,
	// NotifyMaxInFlight those in all.
	NotifyConcurrency int
	NotifyMaxInFlight int
	// BacklogPerMonitor bounds the alerts waiting per monitor before they
	// are collapsed, BacklogMemory the bytes of waiting alerts in all.
	BacklogPerMonitor int
	BacklogMemory     int64
	Capacity          int
	SLO               time.Duration
	Headroom          float64
	Undelivered       func(alert.Alert, error)
	Raised            func(alert.Alert) // sees each alert raised for a notifier, on the loop
	DryRun            bool
	FixConcurrent     int
	FixShare          float64
	FixWindow         time.Duration
	Errors            Errors
	// Store, when set, keeps the engine's state across restarts; the state
	// of monitors not added again within StoreGrace after Start is dropped.
	Store      Store
	StoreGrace time.Duration
	// Cluster, when set, gives the engine the shards it runs and keeps
	// their state; Store is then unset.
	Cluster Cluster
}

// Errors are the errors the engine reports, in the types and values
// package cpra documents.
type Errors struct {
	Closed, Running, NotFound, Duplicate error
	DryRun, Budget                       error // wrapped by the error of a red
	// Monitor reports a refused monitor, naming the field at fault.
	Monitor func(monitor, field string, err error) error
	// Quorum is the error of a check failed by a quorum of locations.
	Quorum func(where []string, quorum int, err error) error
	// Timeout and Panic are the failures of plug-in calls.
	Timeout func(op string, d time.Duration) error
	Panic   func(op string, v any, stack []byte) error
}
