package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ziad/cpra"
)

// dependsOn reads depends_on: a monitor name, or a list of names. The node
// of each name is kept, for the errors of cpra.Monitor.Validate.
func (it *item) dependsOn(c *node) []cpra.Ref {
	const path = "depends_on"
	elems := it.oneOrList(c, path, "a monitor name or a list of names")
	if elems == nil {
		return nil
	}
	refs := make([]cpra.Ref, 0, len(elems))
	for _, e := range elems {
		switch {
		case e.kind != scalarNode:
			it.failf(e, path, "want a monitor name, found %s", e.kind)
		case e.val == "":
			it.failf(e, path, "empty name")
		default:
			refs = append(refs, cpra.Ref{Name: strings.Clone(e.val)})
			it.deps = append(it.deps, e)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return refs
}

var flapFields = []string{"high", "low"}

// flap reads the flap block, {high: 50, low: 25}, in percent. Its values
// are checked by cpra.Monitor.Validate; the block itself needs a high
// above 0 (without one it would turn flap detection off).
func (it *item) flap(c *node) cpra.FlapThresholds {
	const path = "flap"
	var f cpra.FlapThresholds
	if !it.mapping(c, path) || c.kind == nullNode {
		return f
	}
	var high, low *node
	for e := c.first; e != nil; e = e.next {
		switch e.key {
		case "high":
			high = e
		case "low":
			low = e
		default:
			it.unknown(e, path, flapFields)
		}
	}
	if high == nil {
		it.failf(c, join(path, "high"), "missing")
		return cpra.FlapThresholds{}
	}
	h, ok := it.percent(high, path)
	if !ok {
		return cpra.FlapThresholds{}
	}
	if h == 0 {
		it.failf(high, join(path, "high"), "0: want a percentage above 0, up to 100 (leave flap out to turn flap detection off)")
		return cpra.FlapThresholds{}
	}
	f.High = h
	if low != nil {
		if l, ok := it.percent(low, path); ok {
			f.Low = l
		}
	}
	return f
}

// percent reads a percentage, written 25, 12.5 or "25%".
func (it *item) percent(c *node, path string) (float64, bool) {
	full := join(path, c.key)
	if c.kind != scalarNode {
		it.failf(c, full, "want a percentage, found %s", c.kind)
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(c.val, "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		it.failf(c, full, "%q is not a percentage", c.val)
		return 0, false
	}
	return v, true
}

// ownWindows reads a monitor's maintenance list. Monitors with the same
// list share one slice.
func (it *item) ownWindows(c *node) []cpra.MaintenanceWindow {
	const path = "maintenance"
	if c.kind == nullNode {
		return nil
	}
	b := it.b
	h := digest(c)
	b.mu.Lock()
	v, ok := b.windowSets.get(h, c)
	b.mu.Unlock()
	if ok {
		return v.([]cpra.MaintenanceWindow)
	}
	ws, unset, ok := it.windows(c, path)
	it.unset = append(it.unset, unset...)
	if !ok || len(ws) == 0 {
		return ws
	}
	b.mu.Lock()
	b.windowSets.put(h, c, ws)
	b.mu.Unlock()
	return ws
}

// windows reads a list of maintenance windows; path names the list. It
// returns one window for each element, those with errors too, so that the
// errors of cpra.Monitor.Validate name the right element; unset names the
// fields (as cpra.MonitorError does) left zero because of an error here,
// and ok is false after any error.
func (it *item) windows(c *node, path string) (ws []cpra.MaintenanceWindow, unset []string, ok bool) {
	if c.kind != seqNode {
		it.failf(c, path, "want a list of windows, found %s", c.kind)
		return nil, nil, false
	}
	before := len(it.out.errs)
	ws = make([]cpra.MaintenanceWindow, 0, c.n)
	i := 0
	for e := c.first; e != nil; e = e.next {
		w, bad := it.window(e, fmt.Sprintf("%s[%d]", path, i))
		for _, f := range bad {
			unset = append(unset, fmt.Sprintf("Maintenance[%d].%s", i, f))
		}
		ws = append(ws, w)
		i++
	}
	return ws, unset, len(it.out.errs) == before
}

var windowFields = []string{"start", "duration", "repeat", "weekdays", "time_zone", "until"}

// window reads one maintenance window. Its values are checked by
// cpra.Monitor.Validate; unset names the fields left zero because of an
// error here.
func (it *item) window(c *node, path string) (w cpra.MaintenanceWindow, unset []string) {
	if c.kind != mapNode {
		it.failf(c, path, "want a mapping with start and duration, found %s", c.kind)
		return w, []string{"Start", "Duration"}
	}
	var start, until, zoneNode, dur, repeat, days *node
	for e := c.first; e != nil; e = e.next {
		switch e.key {
		case "start":
			start = e
		case "until":
			until = e
		case "time_zone":
			zoneNode = e
		case "duration":
			dur = e
		case "repeat":
			repeat = e
		case "weekdays":
			days = e
		default:
			it.unknown(e, path, windowFields)
		}
	}
	loc := time.UTC
	if zoneNode != nil {
		if name, ok := it.str(zoneNode, path); ok && name != "" {
			l, err := it.b.location(name)
			if err != nil {
				it.failf(zoneNode, join(path, "time_zone"), "%q is not a time zone (want an IANA name such as Europe/Berlin, or UTC)", name)
			} else {
				loc = l
			}
		}
	}
	w.Location = loc
	if start == nil {
		it.failf(c, join(path, "start"), "missing")
	} else if t, ok := it.instant(start, path, loc); ok {
		w.Start = t
	}
	if w.Start.IsZero() {
		unset = append(unset, "Start")
	}
	if dur == nil {
		it.failf(c, join(path, "duration"), "missing")
		unset = append(unset, "Duration")
	} else if d, ok := it.span(dur, path); ok {
		w.Duration = d
	} else {
		unset = append(unset, "Duration")
	}
	if repeat != nil {
		if s, ok := it.str(repeat, path); ok {
			switch strings.ToLower(s) {
			case "", "once":
				w.Repeat = cpra.Once
			case "daily":
				w.Repeat = cpra.Daily
			case "weekly":
				w.Repeat = cpra.Weekly
			default:
				it.failf(repeat, join(path, "repeat"), "%q is not a recurrence (once, daily, weekly)", s)
			}
		}
	}
	if days != nil {
		w.Weekdays = it.weekdays(days, path)
	}
	if until != nil && until.kind != nullNode {
		if t, ok := it.instant(until, path, loc); ok {
			w.Until = t
		}
	}
	return w, unset
}

// Layouts of a local time, read in the window's time_zone.
var localLayouts = []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"}

// instant reads start or until: an RFC 3339 time, or a local time read in
// loc.
func (it *item) instant(c *node, path string, loc *time.Location) (time.Time, bool) {
	full := join(path, c.key)
	if c.kind != scalarNode {
		it.failf(c, full, "want a time, found %s", c.kind)
		return time.Time{}, false
	}
	s := strings.TrimSpace(c.val)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	it.failf(c, full, "%q is not a time (want RFC 3339, such as 2025-06-01T02:00:00Z, or \"2025-06-01 02:00\" read in time_zone)", c.val)
	return time.Time{}, false
}

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// weekdays reads a list of days (or one day), mon..sun or full names, in
// any case.
func (it *item) weekdays(c *node, path string) []time.Weekday {
	full := join(path, c.key)
	elems := it.oneOrList(c, full, "a list of weekdays")
	if elems == nil {
		return nil
	}
	var out []time.Weekday
	for _, e := range elems {
		if e.kind != scalarNode {
			it.failf(e, full, "want a weekday, found %s", e.kind)
			continue
		}
		if d, found := weekday(e.val); found {
			out = append(out, d)
		} else {
			it.failf(e, full, "%q is not a weekday (mon, tue, wed, thu, fri, sat, sun, or the full name)", e.val)
		}
	}
	return out
}

func weekday(name string) (time.Weekday, bool) {
	s := strings.ToLower(strings.TrimSpace(name))
	if d, ok := weekdayNames[s]; ok {
		return d, true
	}
	if len(s) > 3 {
		if d, ok := weekdayNames[s[:3]]; ok && s == strings.ToLower(d.String()) {
			return d, true
		}
	}
	return 0, false
}

// zone is a time zone loaded once per file.
type zone struct {
	loc *time.Location
	err error
}

// location loads the IANA time zone name, once per builder.
func (b *builder) location(name string) (*time.Location, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if z, ok := b.zones[name]; ok {
		return z.loc, z.err
	}
	var z zone
	z.loc, z.err = time.LoadLocation(name)
	if b.zones == nil {
		b.zones = make(map[string]zone)
	}
	b.zones[strings.Clone(name)] = z
	return z.loc, z.err
}

var maintenanceFields = []string{"selector", "windows"}

// topMaintenance reads the top-level maintenance list: windows over the
// monitors a label selector picks. It returns the maintenances and the
// line of each; problems go to out.
func (b *builder) topMaintenance(n *node, out *built) ([]cpra.Maintenance, []int32) {
	const path = "maintenance"
	it := &item{b: b, idx: -1, out: out}
	switch n.kind {
	case nullNode:
		return nil, nil
	case seqNode:
	default:
		it.failf(n, path, "want a list of {selector, windows}, found %s", n.kind)
		return nil, nil
	}
	var ms []cpra.Maintenance
	var lines []int32
	i := 0
	for e := n.first; e != nil; e, i = e.next, i+1 {
		p := fmt.Sprintf("%s[%d]", path, i)
		if e.kind != mapNode {
			it.failf(e, p, "want a mapping with selector and windows, found %s", e.kind)
			continue
		}
		before := len(out.errs)
		var m cpra.Maintenance
		var sel, wins *node
		for c := e.first; c != nil; c = c.next {
			switch c.key {
			case "selector":
				sel = c
			case "windows":
				wins = c
			default:
				it.unknown(c, p, maintenanceFields)
			}
		}
		if sel == nil {
			it.failf(e, join(p, "selector"), "missing")
		} else if kv, ok := it.pairs(sel, p); ok {
			if len(kv) == 0 {
				it.failf(sel, join(p, "selector"), "empty: give the labels of the monitors to silence")
			} else {
				m.Selector = make(map[string]string, len(kv))
				for _, e := range kv {
					m.Selector[strings.Clone(e.key)] = strings.Clone(e.val)
				}
			}
		}
		if wins == nil {
			it.failf(e, join(p, "windows"), "missing")
		} else {
			wpath := join(p, "windows")
			ws, unset, _ := it.windows(wins, wpath)
			if wins.kind == seqNode && len(ws) == 0 {
				it.failf(wins, wpath, "empty")
			}
			// The rules of a window are cpra.Monitor.Validate's.
			it.check(cpra.Monitor{Maintenance: ws}, unset, func(field string) (string, *node) {
				if q, c, ok := windowLocator(wins, wpath, field, e); ok {
					return q, c
				}
				return field, e
			})
			m.Windows = ws
		}
		if len(out.errs) == before {
			ms = append(ms, m)
			lines = append(lines, int32(lineOf(e)))
		}
	}
	return ms, lines
}

// oneOrList returns the elements of a value written as one scalar or as a
// list: nil for null, and nil after reporting a value of another kind.
func (it *item) oneOrList(c *node, path, want string) []*node {
	switch c.kind {
	case nullNode:
		return nil
	case scalarNode:
		return []*node{c}
	case seqNode:
		var elems []*node
		for e := c.first; e != nil; e = e.next {
			elems = append(elems, e)
		}
		return elems
	}
	it.failf(c, path, "want %s, found %s", want, c.kind)
	return nil
}
