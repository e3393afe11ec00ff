package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ziad/cpra"
)

// maxFailureWindow is the largest failure_window the engine takes.
const maxFailureWindow = 64

// retryInterval reads pulse_check.retry_interval, which may not be longer
// than the monitor's interval.
func (it *item) retryInterval(c *node, path string, m *cpra.Monitor) {
	d, ok := it.duration(c, path)
	if !ok {
		return
	}
	iv, what := m.Interval, "pulse_check.interval"
	if iv == 0 {
		iv, what = cpra.DefaultInterval, "the default interval"
	}
	switch {
	case d != 0 && d < cpra.MinInterval:
		it.failf(c, join(path, c.key), "%v is below the minimum %v", d, cpra.MinInterval)
	case d > iv:
		it.failf(c, join(path, c.key), "%v is longer than %s %v", d, what, iv)
	default:
		m.RetryInterval = d
	}
}

// failureWindow reads pulse_check.failure_window, which must hold at least
// max_failures checks.
func (it *item) failureWindow(c *node, path string, m *cpra.Monitor) {
	v, ok := it.count(c, path)
	if !ok {
		return
	}
	ft := m.FailureThreshold
	if ft == 0 {
		ft = cpra.DefaultFailureThreshold
	}
	if v != 0 && (v < ft || v > maxFailureWindow) {
		it.failf(c, join(path, c.key), "%d: want 0 (off), or from max_failures (%d) to %d", v, ft, maxFailureWindow)
		return
	}
	m.FailureWindow = v
}

// dependsOn reads depends_on: a monitor name, or a list of names.
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
		case e.val == it.name:
			it.failf(e, path, "%q is this monitor: a monitor cannot depend on itself", e.val)
		default:
			refs = append(refs, cpra.Ref{Name: strings.Clone(e.val)})
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return refs
}

var flapFields = []string{"high", "low"}

// flap reads the flap block, {high: 50, low: 25}, in percent.
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
		l, ok := it.percent(low, path)
		if !ok {
			return cpra.FlapThresholds{}
		}
		if l >= h {
			it.failf(low, join(path, "low"), "%v is not below flap.high (%v)", l, h)
			return cpra.FlapThresholds{}
		}
		f.Low = l
	}
	return f
}

// percent reads a percentage from 0 to 100, written 25, 12.5 or "25%".
func (it *item) percent(c *node, path string) (float64, bool) {
	full := join(path, c.key)
	if c.kind != scalarNode {
		it.failf(c, full, "want a percentage, found %s", c.kind)
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(c.val, "%")), 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		it.failf(c, full, "%q is not a percentage", c.val)
		return 0, false
	case v < 0 || v > 100:
		it.failf(c, full, "%v is not a percentage from 0 to 100", v)
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
	ws, ok := it.windows(c, path)
	if !ok || len(ws) == 0 {
		return nil
	}
	b.mu.Lock()
	b.windowSets.put(h, c, ws)
	b.mu.Unlock()
	return ws
}

// windows reads a list of maintenance windows; path names the list.
func (it *item) windows(c *node, path string) ([]cpra.MaintenanceWindow, bool) {
	if c.kind != seqNode {
		it.failf(c, path, "want a list of windows, found %s", c.kind)
		return nil, false
	}
	before := len(it.out.errs)
	ws := make([]cpra.MaintenanceWindow, 0, c.n)
	i := 0
	for e := c.first; e != nil; e = e.next {
		if w, ok := it.window(e, fmt.Sprintf("%s[%d]", path, i)); ok {
			ws = append(ws, w)
		}
		i++
	}
	return ws, len(it.out.errs) == before
}

var windowFields = []string{"start", "duration", "repeat", "weekdays", "time_zone", "until"}

// window reads one maintenance window.
func (it *item) window(c *node, path string) (cpra.MaintenanceWindow, bool) {
	var w cpra.MaintenanceWindow
	if c.kind != mapNode {
		it.failf(c, path, "want a mapping with start and duration, found %s", c.kind)
		return w, false
	}
	before := len(it.out.errs)
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
	if dur == nil {
		it.failf(c, join(path, "duration"), "missing")
	} else if d, ok := it.positive(dur, path); ok {
		if d > cpra.MaxMaintenanceDuration {
			it.failf(dur, join(path, "duration"), "%v is above the maximum %v", d, cpra.MaxMaintenanceDuration)
		} else {
			w.Duration = d
		}
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
		if len(w.Weekdays) > 0 && w.Repeat != cpra.Weekly {
			it.failf(days, join(path, "weekdays"), "only a weekly window takes weekdays (this one repeats %s)", strings.ToLower(w.Repeat.String()))
		}
	}
	if until != nil && until.kind != nullNode {
		if t, ok := it.instant(until, path, loc); ok {
			if !w.Start.IsZero() && t.Before(w.Start) {
				it.failf(until, join(path, "until"), "%s is before start %s", t.Format(time.RFC3339), w.Start.Format(time.RFC3339))
			} else {
				w.Until = t
			}
		}
	}
	return w, len(it.out.errs) == before
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
	var seen uint8
	for _, e := range elems {
		if e.kind != scalarNode {
			it.failf(e, full, "want a weekday, found %s", e.kind)
			continue
		}
		d, found := weekday(e.val)
		switch {
		case !found:
			it.failf(e, full, "%q is not a weekday (mon, tue, wed, thu, fri, sat, sun, or the full name)", e.val)
		case seen&(1<<d) != 0:
			it.failf(e, full, "%s listed twice", d)
		default:
			seen |= 1 << d
			out = append(out, d)
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
		} else if ws, ok := it.windows(wins, join(p, "windows")); ok {
			if len(ws) == 0 {
				it.failf(wins, join(p, "windows"), "empty")
			}
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
