// Package maint computes maintenance windows: when each one opens and
// closes, in its time zone, across daylight saving time, and keeps the
// engine's windows ordered by their next change.
package maint

import (
	"errors"
	"fmt"
	"time"
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

// MaxDuration is the longest a single occurrence of a [Window] may last.
const MaxDuration = 31 * 24 * time.Hour

// Window is a planned span of time, single or recurring: the engine's
// form of cpra.MaintenanceWindow, whose doc says what each field means,
// how a window recurs and how it behaves across daylight saving time.
type Window struct {
	Start    time.Time      // first occurrence; with a recurrence, also the time of day (in Location) of every occurrence
	Duration time.Duration  // length of each occurrence; > 0, at most MaxDuration
	Repeat   Recurrence     // Once, Daily or Weekly
	Weekdays []time.Weekday // Weekly only: the days it occurs on (empty: Start's weekday in Location)
	Location *time.Location // zone of the recurrence's days and time of day (nil: Start.Location())
	Until    time.Time      // optional: no occurrence starts after Until (zero: forever)
}

// Check validates w and names the field at fault.
func (w *Window) Check() (field string, err error) {
	if w.Start.IsZero() {
		return "Start", errors.New("zero")
	}
	switch d := w.Duration; {
	case d <= 0:
		return "Duration", fmt.Errorf("%v is not positive", d)
	case d > MaxDuration:
		return "Duration", fmt.Errorf("%v is above the maximum %v", d, MaxDuration)
	}
	if w.Repeat > Weekly {
		return "Repeat", fmt.Errorf("unknown recurrence %d", uint8(w.Repeat))
	}
	if len(w.Weekdays) > 0 && w.Repeat != Weekly {
		return "Weekdays", fmt.Errorf("%v given for a %v window; only Weekly uses them", w.Weekdays, w.Repeat)
	}
	var seen uint8
	for _, d := range w.Weekdays {
		if d < time.Sunday || d > time.Saturday {
			return "Weekdays", fmt.Errorf("%d is not a weekday (want 0, Sunday, to 6, Saturday)", int(d))
		}
		if seen&(1<<d) != 0 {
			return "Weekdays", fmt.Errorf("%v listed twice", d)
		}
		seen |= 1 << d
	}
	if !w.Until.IsZero() && w.Until.Before(w.Start) {
		return "Until", fmt.Errorf("%v is before Start %v", w.Until, w.Start)
	}
	return "", nil
}

// ActiveAt reports whether t lies inside some occurrence of w.
func (w *Window) ActiveAt(t time.Time) bool {
	if t.Before(w.Start) {
		return false
	}
	if w.Repeat == Once {
		return t.Before(w.Start.Add(w.Duration))
	}
	// Occurrences all last Duration and begin in order, so the last one to
	// begin by t is also the last to end: if any occurrence covers t, it does.
	s := w.schedule()
	st, ok := s.latest(t)
	return ok && t.Before(st.Add(w.Duration))
}

// NextChange returns the first instant after t at which ActiveAt may change
// value: the earlier of the next start of an occurrence and the end of the
// latest occurrence covering t. (Occurrences that began earlier and still
// cover t end before it, while it keeps the window active, so their ends
// are skipped.) ActiveAt need not differ at the instant returned, e.g. when
// one occurrence ends as the next begins. It returns false when the window
// will not change again.
func (w *Window) NextChange(t time.Time) (time.Time, bool) {
	if w.Repeat == Once {
		if t.Before(w.Start) {
			return w.Start, true
		}
		if end := w.Start.Add(w.Duration); t.Before(end) {
			return end, true
		}
		return time.Time{}, false
	}
	s := w.schedule()
	next, found := s.following(t)
	if !t.Before(w.Start) {
		if st, ok := s.latest(t); ok {
			if end := st.Add(w.Duration); end.After(t) && (!found || end.Before(next)) {
				next, found = end, true
			}
		}
	}
	return next, found
}

// windowSchedule is a recurring window unpacked for one computation. Days are
// numbered from Start's date in the window's location, which is day 0.
type windowSchedule struct {
	w      *Window
	loc    *time.Location
	year   int
	month  time.Month
	day    int
	hour   int
	minute int
	sec    int
	nsec   int
	day0   int64        // Start's date as days since 1970-01-01
	wday0  time.Weekday // Start's weekday
	days   uint8        // bit d is set if the window occurs on weekday d
	span   int          // most days an occurrence can reach back to cover t
}

func (w *Window) schedule() windowSchedule {
	loc := w.Location
	if loc == nil {
		loc = w.Start.Location()
	}
	start := w.Start.In(loc)
	s := windowSchedule{w: w, loc: loc, day0: localDayNumber(start), wday0: start.Weekday()}
	s.year, s.month, s.day = start.Date()
	s.hour, s.minute, s.sec = start.Clock()
	s.nsec = start.Nanosecond()
	switch {
	case w.Repeat != Weekly:
		s.days = 0x7f
	case len(w.Weekdays) == 0:
		s.days = 1 << s.wday0
	default:
		for _, d := range w.Weekdays {
			if d >= time.Sunday && d <= time.Saturday {
				s.days |= 1 << d
			}
		}
	}
	const day = 24 * time.Hour
	s.span = int((w.Duration+day-1)/day) + 1
	return s
}

// localDayNumber returns the date of t, in t's location, as days since 1970-01-01.
func localDayNumber(t time.Time) int64 {
	_, off := t.Zone()
	sec := t.Unix() + int64(off)
	d := sec / 86400
	if sec%86400 < 0 {
		d--
	}
	return d
}

// at returns the start of the occurrence on day n, if there is one.
func (s *windowSchedule) at(n int) (time.Time, bool) {
	if n < 0 || s.days&(1<<((int(s.wday0)+n)%7)) == 0 {
		return time.Time{}, false
	}
	st := s.w.Start
	if n > 0 {
		st = time.Date(s.year, s.month, s.day+n, s.hour, s.minute, s.sec, s.nsec, s.loc)
		if st.Before(s.w.Start) {
			return time.Time{}, false
		}
	}
	if !s.w.Until.IsZero() && st.After(s.w.Until) {
		return time.Time{}, false
	}
	return st, true
}

// dayOf returns the number of the day t falls on.
func (s *windowSchedule) dayOf(t time.Time) int {
	return int(localDayNumber(t.In(s.loc)) - s.day0)
}

// latest returns the start of the last occurrence to begin at or before t,
// looking back only as far as an occurrence could still cover t.
func (s *windowSchedule) latest(t time.Time) (time.Time, bool) {
	k := s.dayOf(t)
	for n := k; n >= 0 && n >= k-s.span; n-- {
		if st, ok := s.at(n); ok && !st.After(t) {
			return st, true
		}
	}
	return time.Time{}, false
}

// following returns the start of the first occurrence to begin after t.
func (s *windowSchedule) following(t time.Time) (time.Time, bool) {
	if !s.w.Until.IsZero() && !t.Before(s.w.Until) {
		return time.Time{}, false
	}
	k := max(s.dayOf(t), 0)
	// Each weekday comes up once in the seven days after t's.
	for n := k; n <= k+7; n++ {
		if st, ok := s.at(n); ok && st.After(t) {
			return st, true
		}
	}
	return time.Time{}, false
}
