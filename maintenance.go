package cpra

import (
	"errors"
	"fmt"
	"time"

	"github.com/ziad/cpra/internal/maint"
)

// Recurrence says how a maintenance window repeats.
type Recurrence uint8

const (
	Once   Recurrence = iota // a single window
	Daily                    // every day at Start's time of day
	Weekly                   // on Weekdays at Start's time of day
)

// String returns the name of the constant.
func (r Recurrence) String() string {
	switch r {
	case Once:
		return "Once"
	case Daily:
		return "Daily"
	case Weekly:
		return "Weekly"
	}
	return fmt.Sprintf("Recurrence(%d)", uint8(r))
}

// MaxMaintenanceDuration is the longest a single occurrence of a
// [MaintenanceWindow] may last.
const MaxMaintenanceDuration = 31 * 24 * time.Hour

// MaintenanceWindow is a planned span of time, single or recurring, in
// which monitors are silenced.
//
// Each occurrence begins at an instant s and covers [s, s+Duration). A Once
// window has one occurrence, at Start. A Daily or Weekly window recurs at
// Start's wall-clock time of day as read in Location: on every day (Daily),
// or on the days whose weekday is listed in Weekdays (Weekly), counting
// from Start's date. Start is the first occurrence if its own day
// qualifies; no occurrence begins before Start or after Until, and one that
// begins by Until runs its full Duration. Occurrences may overlap when
// Duration is longer than the gap between them; the window is active while
// any of them is.
//
// Daylight saving time: each later occurrence begins at the instant
// time.Date returns for its date and Start's time of day in Location, and
// Duration is elapsed time. So the window keeps its wall-clock start across
// a change of offset, and one that spans the change ends correspondingly
// earlier or later by the clock. On the day the clocks skip over the time of day, the
// occurrence is moved by the length of the gap, later or earlier as
// time.Date normalizes it (a daily 02:00 window in Europe/Berlin runs from
// 03:00 CEST on the last Sunday of March). On the day the clocks repeat the
// time of day, it begins at one of the two instants with that reading, as
// time.Date chooses.
type MaintenanceWindow struct {
	Start    time.Time      // first occurrence; with a recurrence, also the time of day (in Location) of every occurrence
	Duration time.Duration  // length of each occurrence; > 0, at most MaxMaintenanceDuration
	Repeat   Recurrence     // Once, Daily or Weekly
	Weekdays []time.Weekday // Weekly only: the days it occurs on (empty: Start's weekday in Location)
	Location *time.Location // zone of the recurrence's days and time of day (nil: Start.Location())
	Until    time.Time      // optional: no occurrence starts after Until (zero: forever)
}

// MaintenanceID identifies a maintenance added with [Engine.AddMaintenance].
type MaintenanceID uint64

// Maintenance silences the monitors whose labels match Selector during its
// windows, as a monitor's own [Monitor.Maintenance] windows do: entering
// raises gray once, no checks run and nothing is sent inside, and leaving
// starts afresh. A monitor added while a window is open enters it at once.
type Maintenance struct {
	// Selector picks the monitors: those whose labels include every pair.
	// It must not be empty; the engine keeps the map.
	Selector map[string]string
	Windows  []MaintenanceWindow
}

// AddMaintenance adds a maintenance, before or while the engine runs. If a
// window is open now, the selected monitors enter it at once.
func (e *Engine) AddMaintenance(m Maintenance) (MaintenanceID, error) {
	bad := func(field string, err error) (MaintenanceID, error) {
		return 0, fmt.Errorf("maintenance: %s: %w", field, err)
	}
	if len(m.Selector) == 0 {
		return bad("Selector", errors.New("empty: it would select every monitor with labels"))
	}
	if len(m.Windows) == 0 {
		return bad("Windows", errors.New("none"))
	}
	wins, field, err := windows(m.Windows)
	if err != nil {
		return bad("Windows"+field, err)
	}
	id, err := e.l.AddMaintenance(m.Selector, wins)
	return MaintenanceID(id), err
}

// RemoveMaintenance removes a maintenance; monitors inside one of its open
// windows leave it now and start afresh.
func (e *Engine) RemoveMaintenance(id MaintenanceID) error {
	return e.l.RemoveMaintenance(uint64(id))
}

// windows checks ws and turns them into the engine's form. On error,
// field names the window and its field ("[0].Start").
func windows(ws []MaintenanceWindow) ([]maint.Window, string, error) {
	if len(ws) == 0 {
		return nil, "", nil
	}
	out := make([]maint.Window, len(ws))
	for i, w := range ws {
		out[i] = maint.Window{Start: w.Start, Duration: w.Duration, Repeat: maint.Recurrence(w.Repeat),
			Weekdays: w.Weekdays, Location: w.Location, Until: w.Until}
		if field, err := out[i].Check(); err != nil {
			return nil, fmt.Sprintf("[%d].%s", i, field), err
		}
	}
	return out, "", nil
}
