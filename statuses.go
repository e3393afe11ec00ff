package cpra

import (
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/loop"
)

// Condition is what a monitor is doing now, as a status page groups
// monitors. Each monitor is in exactly one condition (see
// [Status.Condition]); the constants are bits, so a set of them is their
// union, as [StatusFilter.Conditions] takes.
type Condition uint8

// Conditions.
const (
	ConditionUnknown     Condition = Condition(loop.CondUnknown) // no check has finished yet
	ConditionUp          Condition = Condition(loop.CondUp)      // passing
	ConditionFailing     Condition = Condition(loop.CondFailing) // failing, not (yet) down
	ConditionDown        Condition = Condition(loop.CondDown)    // down
	ConditionPaused      Condition = Condition(loop.CondPaused)  // paused (see Engine.Pause), whatever its state
	ConditionMaintenance Condition = Condition(loop.CondMaint)   // inside a maintenance window, unless paused
	ConditionAway        Condition = Condition(loop.CondAway)    // run by another engine of the cluster (see WithCluster)
)

var conditionNames = [...]string{"unknown", "up", "failing", "down", "paused", "maintenance", "away"}

// String returns the condition's name ("down"), or the names of a set
// joined by "|".
func (c Condition) String() string {
	var names []string
	for i, n := range conditionNames {
		if c&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if c>>len(conditionNames) != 0 {
		names = append(names, fmt.Sprintf("Condition(%#x)", uint8(c)))
	}
	return strings.Join(names, "|")
}

// ParseCondition returns the condition named s, as String writes it; a
// set may be given as names joined by "|" or ",".
func ParseCondition(s string) (Condition, error) {
	var c Condition
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '|' || r == ',' }) {
		i := -1
		for j, n := range conditionNames {
			if strings.EqualFold(strings.TrimSpace(part), n) {
				i = j
			}
		}
		if i < 0 {
			return 0, fmt.Errorf("cpra: condition %q: want one of %s", part, strings.Join(conditionNames[:], ", "))
		}
		c |= 1 << i
	}
	return c, nil
}

// Condition returns the monitor's condition: paused, else in maintenance,
// else down, failing (an episode is open, not yet down), up, or unknown.
func (s *Status) Condition() Condition {
	switch {
	case s.Away:
		return ConditionAway
	case s.Paused:
		return ConditionPaused
	case s.Maintenance:
		return ConditionMaintenance
	case s.State == StateDown:
		return ConditionDown
	case !s.Since.IsZero():
		return ConditionFailing
	case s.State == StateUp:
		return ConditionUp
	}
	return ConditionUnknown
}

// Cursor is a position in a listing by [Engine.Statuses]: the monitor
// after which the listing goes on. The zero Cursor is the start. A cursor
// stays valid while monitors come and go, and its String form can be
// given to a client and read back with [ParseCursor], to page through
// the monitors across requests.
type Cursor struct {
	key     uint64
	set     bool
	failing bool // in the order of a listing of failing monitors
}

// IsZero reports whether c is the start of a listing.
func (c Cursor) IsZero() bool { return !c.set }

// String returns a short text form of c: "" for the zero Cursor, else
// 16 hexadecimal digits, or "f" and 8 for a listing of failing monitors.
func (c Cursor) String() string {
	switch {
	case !c.set:
		return ""
	case c.failing:
		return fmt.Sprintf("f%08x", c.key)
	}
	return fmt.Sprintf("%016x", c.key)
}

// ParseCursor reads a cursor written by [Cursor.String].
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	if rest, ok := strings.CutPrefix(s, "f"); ok && len(rest) == 8 {
		k, err := strconv.ParseUint(rest, 16, 32)
		if err == nil {
			return Cursor{key: k, set: true, failing: true}, nil
		}
	}
	k, err := strconv.ParseUint(s, 16, 64)
	if err != nil || len(s) != 16 {
		return Cursor{}, fmt.Errorf("cpra: cursor %q: want 16 hexadecimal digits", s)
	}
	return Cursor{key: k, set: true}, nil
}

// StatusFilter picks the monitors [Engine.Statuses] lists. The zero value
// picks every monitor.
type StatusFilter struct {
	// Conditions is a set of conditions (0: any): a monitor is listed
	// when its condition is in the set.
	Conditions Condition
	// Labels is a selector, as [Maintenance.Selector] is: a monitor is
	// listed when its labels include every pair (nil: any).
	Labels map[string]string
	// Name is a part of the name, with ASCII letters in any case ("":
	// any).
	Name string
	// After starts the listing after this position (zero: at the start).
	After Cursor
}

// Lookup returns the ID of the monitor with the given name. It costs one
// hash lookup in the engine's loop, also with a million monitors, and also
// works after Shutdown.
func (e *Engine) Lookup(name string) (ID, bool) {
	en, ok := e.l.Lookup(name)
	return ID{en}, ok
}

// LookupAll appends to ids the ID of the monitor with each of the given
// names, in order: the zero ID for a name no monitor has. It is Lookup for
// many names at a time, for a program that compares a large list with
// what the engine runs: the engine's loop looks up a couple of thousand
// names in one step, between its other work. It also works after
// Shutdown.
func (e *Engine) LookupAll(names []string, ids []ID) []ID {
	ids = slices.Grow(ids, len(names))
	e.l.LookupAll(names, func(en ecs.Entity) { ids = append(ids, ID{en}) })
	return ids
}

// Statuses returns an iterator over the statuses of the monitors f picks,
// each with the cursor a later listing with the same filter may start
// after. The order is fixed by a hash of the name: it does not change
// while monitors come and go, so pages cut by cursors neither repeat nor
// skip a monitor. A listing of only failing or down monitors, while fewer
// than an eighth of the fleet fail, visits only the failing ones, in the
// order in which the engine holds them, fixed for a monitor's life; its
// cursors go on in that order.
//
// The iterator reads the engine a step at a time (growing from a few dozen
// monitors to about sixteen hundred, or five hundred failing ones, per
// step),
// each step in the engine's loop between its other work: a listing of a million monitors
// holds the loop for no more than a step at a time and never copies the
// whole fleet. It is weakly consistent, as a listing of a changing fleet
// can be: a monitor present throughout is listed exactly once, one added
// or removed meanwhile at most once (and one whose condition changes, as
// the filter sees it, may or may not be listed), and each status is as of
// its step. The iterator may be used more than once, and from
// any goroutine; it also works after Shutdown.
func (e *Engine) Statuses(f StatusFilter) iter.Seq2[Cursor, Status] {
	lf := loop.Filter{Conds: uint8(f.Conditions), Labels: f.Labels, Name: f.Name}
	return func(yield func(Cursor, Status) bool) {
		after, first := f.After.key, !f.After.set
		order := loop.ByName
		if f.After.failing {
			order = loop.ByFailing
		}
		var buf []loop.Item
		// Steps start small, so that a page of a few dozen costs little,
		// and grow to the largest.
		for span := 64; ; span = min(2*span, loop.MaxSpan) {
			var next uint64
			var done bool
			buf, next, order, done = e.l.List(&lf, after, first, order, span, buf[:0])
			for i := range buf {
				it := &buf[i]
				cur := Cursor{key: it.Key, set: true, failing: order == loop.ByFailing}
				if !yield(cur, statusFrom(ID{it.E}, &it.Status)) {
					return
				}
			}
			clear(buf)
			if done {
				return
			}
			after, first = next, false
		}
	}
}

// Counts are the number of monitors in each condition.
type Counts struct {
	Monitors    int
	Unknown     int
	Up          int
	Failing     int
	Down        int
	Paused      int
	Maintenance int
	Away        int // run by another engine of the cluster
}

// Of returns the count of one condition.
func (c Counts) Of(cond Condition) int {
	switch cond {
	case ConditionUnknown:
		return c.Unknown
	case ConditionUp:
		return c.Up
	case ConditionFailing:
		return c.Failing
	case ConditionDown:
		return c.Down
	case ConditionPaused:
		return c.Paused
	case ConditionMaintenance:
		return c.Maintenance
	case ConditionAway:
		return c.Away
	}
	return 0
}

// Counts returns the number of monitors in each condition. It reads the
// health of every monitor in one pass in the engine's loop (a few
// milliseconds at a million monitors); [Engine.Stats] is cheaper when up
// and down suffice.
func (e *Engine) Counts() Counts {
	n := e.l.Counts()
	return Counts{Monitors: n[0] + n[1] + n[2] + n[3] + n[4] + n[5] + n[6],
		Unknown: n[0], Up: n[1], Failing: n[2], Down: n[3], Paused: n[4], Maintenance: n[5], Away: n[6]}
}

// ParseSelector reads a label selector written as comma-separated
// key=value pairs ("team=web,zone=eu-1"), the form a command line or a
// search box takes; spaces around keys and values are ignored. The empty
// string is the empty selector.
func ParseSelector(s string) (map[string]string, error) {
	sel := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("cpra: selector %q: %q is not key=value", s, strings.TrimSpace(pair))
		}
		if w, dup := sel[k]; dup && w != v {
			return nil, fmt.Errorf("cpra: selector %q: key %q given twice", s, k)
		}
		sel[k] = v
	}
	if len(sel) == 0 {
		return nil, nil
	}
	return sel, nil
}
