package config

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/pulse"
)

// The rules of a monitor's values (the range of each, and how they relate,
// such as a retry interval no longer than the interval) are those of
// cpra.Monitor.Validate, written once in package cpra. The readers of this
// package check what belongs to the file: its syntax, the type of each
// value, the names of keys, and references between monitors. check then
// maps each field Validate refuses back to the key and line of the file.

// fileKeys maps the fields a cpra.MonitorError names to the keys of a
// monitor that set them, alternatives first to last.
var fileKeys = map[string][]string{
	"Name":               {"name"},
	"Check":              {"pulse_check"},
	"Interval":           {"pulse_check.interval"},
	"Timeout":            {"pulse_check.timeout"},
	"FailureThreshold":   {"pulse_check.max_failures", "pulse_check.unhealthy_threshold"},
	"SuccessThreshold":   {"pulse_check.healthy_threshold"},
	"RetryInterval":      {"pulse_check.retry_interval"},
	"FailureWindow":      {"pulse_check.failure_window"},
	"RepeatInterval":     {"repeat_interval"},
	"Quorum":             {"quorum"},
	"MaxRemediations":    {"intervention.max_attempts"},
	"Flap.High":          {"flap.high"},
	"Flap.Low":           {"flap.low"},
	"Policy.MaxAttempts": {"intervention.max_attempts"},
	"Policy.Backoff":     {"intervention.policy.backoff"},
	"Policy.MaxBackoff":  {"intervention.policy.max_backoff"},
	"Policy.Jitter":      {"intervention.policy.jitter"},
	"Policy.Verify":      {"intervention.policy.verify"},
	"Policy.Cooldown":    {"intervention.policy.cooldown"},
	"Policy.Limit":       {"intervention.policy.limit"},
	"Policy.Window":      {"intervention.policy.window"},
	"Policy.DryRun":      {"intervention.policy.dry_run"},
	"Policy.Timeout":     {"intervention.policy.timeout", "intervention.config.timeout"},
	"DependsOn":          {"depends_on"},
	"Maintenance":        {"maintenance"},
	"Labels":             {"labels"},
	"Notify":             {"codes"},
	"Remediate":          {"intervention"},
}

// windowKeys maps the fields of a cpra.MaintenanceWindow to the keys of a
// window.
var windowKeys = map[string]string{
	"Start": "start", "Duration": "duration", "Repeat": "repeat",
	"Weekdays": "weekdays", "Location": "time_zone", "Until": "until",
}

// goWords are the names of Go fields and constants that Validate's
// messages mention besides the field at fault, and fileWords their names
// in the file; times are written as in the file too (RFC 3339).
var (
	goWords   = regexp.MustCompile(`\b(FailureThreshold|High|Start|Limit|Window|Once|Daily|Weekly)\b`)
	fileWords = map[string]string{
		"FailureThreshold": "max_failures", "High": "high", "Start": "start",
		"Limit": "limit", "Window": "window", "Once": "once", "Daily": "daily", "Weekly": "weekly",
	}
)

// validateError is the cause a cpra.MonitorError gives, in the words of the
// file; it unwraps to the MonitorError (and so to cpra.ErrInvalidMonitor).
type validateError struct {
	msg string
	err *cpra.MonitorError
}

func (e *validateError) Error() string { return e.msg }
func (e *validateError) Unwrap() error { return e.err }

// goTime matches a time as time.Time.String writes it.
var goTime = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} [A-Za-z0-9+-]+`)

func inFileWords(me *cpra.MonitorError) error {
	msg := goWords.ReplaceAllStringFunc(me.Err.Error(), func(w string) string { return fileWords[w] })
	msg = goTime.ReplaceAllStringFunc(msg, func(s string) string {
		t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", s)
		if err != nil {
			return s
		}
		return t.Format(time.RFC3339)
	})
	return &validateError{msg: msg, err: me}
}

// placeholderCheck stands in for a check the file got wrong (and that is
// reported already), so that Validate judges the other fields.
var placeholderCheck = pulse.CheckerFunc(func(context.Context) error { return nil })

// placeholderName stands in for a missing name; no monitor of a file can
// have it, or depend on it.
const placeholderName = "\x00"

// locator finds, for a field a cpra.MonitorError names, the path to report
// and the node of its line.
type locator func(field string) (path string, n *node)

// check reports what cpra.Monitor.Validate refuses in m, every problem at
// once: after each refusal the field is set, in a copy, to a value Validate
// takes, and Validate runs again. Fields in unset, left zero by an error
// this package reported already, are not reported again.
func (it *item) check(m cpra.Monitor, unset []string, locate locator) {
	if m.Name == "" {
		m.Name = placeholderName
	}
	if m.Check == nil {
		m.Check = placeholderCheck
	}
	m.Maintenance = slices.Clone(m.Maintenance)
	m.DependsOn = slices.Clone(m.DependsOn)
	rounds := 32 + len(m.DependsOn) + 8*len(m.Maintenance)
	for range rounds {
		err := m.Validate()
		if err == nil {
			return
		}
		var me *cpra.MonitorError
		if !errors.As(err, &me) {
			it.fail(nil, "", err)
			return
		}
		if !slices.Contains(unset, me.Field) {
			path, n := locate(me.Field)
			it.fail(n, path, inFileWords(me))
		}
		if !repair(&m, me.Field) {
			return
		}
	}
}

// repair sets the field of m that Validate refused to a value it takes.
// It returns false for a field it does not know.
func repair(m *cpra.Monitor, field string) bool {
	switch field {
	case "Name":
		m.Name = placeholderName
	case "Check":
		m.Check = placeholderCheck
	case "Interval":
		m.Interval = 0
	case "Timeout":
		m.Timeout = 0
	case "FailureThreshold":
		m.FailureThreshold = 0
	case "SuccessThreshold":
		m.SuccessThreshold = 0
	case "MaxRemediations":
		m.MaxRemediations = 0
	case "RetryInterval":
		m.RetryInterval = 0
	case "RepeatInterval":
		m.RepeatInterval = 0
	case "FailureWindow":
		m.FailureWindow = 0
	case "Flap.High":
		m.Flap = cpra.FlapThresholds{}
	case "Flap.Low":
		m.Flap.Low = 0
	case "Policy.MaxAttempts":
		m.Policy.MaxAttempts = 0
	case "Policy.Backoff":
		m.Policy.Backoff = 0
	case "Policy.MaxBackoff":
		m.Policy.MaxBackoff = 0
	case "Policy.Jitter":
		m.Policy.Jitter = 0
	case "Policy.Verify":
		m.Policy.Verify = 0
	case "Policy.Cooldown":
		m.Policy.Cooldown = 0
	case "Policy.Timeout":
		m.Policy.Timeout = 0
	case "Policy.Limit", "Policy.Window":
		m.Policy.Limit, m.Policy.Window = 0, 0
	default:
		if i, rest, ok := indexed(field, "DependsOn"); ok && rest == "" && i < len(m.DependsOn) {
			m.DependsOn[i] = cpra.Ref{Name: placeholderName + strconv.Itoa(i)}
			return true
		}
		if i, rest, ok := indexed(field, "Maintenance"); ok && i < len(m.Maintenance) {
			w := &m.Maintenance[i]
			switch rest {
			case "Start":
				w.Start = time.Unix(0, 0).UTC()
			case "Duration":
				w.Duration = time.Hour
			case "Repeat":
				w.Repeat, w.Weekdays = cpra.Once, nil
			case "Weekdays":
				w.Weekdays = nil
			case "Until":
				w.Until = time.Time{}
			default:
				m.Maintenance[i] = cpra.MaintenanceWindow{Start: time.Unix(0, 0).UTC(), Duration: time.Hour}
			}
			return true
		}
		return false
	}
	return true
}

// indexed splits "Maintenance[2].Start" into 2 and "Start" for prefix
// "Maintenance" ("DependsOn[1]" into 1 and "").
func indexed(field, prefix string) (i int, rest string, ok bool) {
	s, found := strings.CutPrefix(field, prefix+"[")
	if !found {
		return 0, "", false
	}
	num, rest, found := strings.Cut(s, "]")
	if !found {
		return 0, "", false
	}
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 {
		return 0, "", false
	}
	return i, strings.TrimPrefix(rest, "."), true
}

// locateKeys returns the first of the dotted paths that n holds, with its
// node; when it holds none, the first path and the deepest node of n on
// it.
func locateKeys(n *node, paths []string) (string, *node) {
	var deepest *node
	for _, p := range paths {
		at, found := n, true
		for key := range strings.SplitSeq(p, ".") {
			var next *node
			if at.kind == mapNode {
				next = at.get(key)
			}
			if next == nil {
				found = false
				break
			}
			at = next
		}
		if found {
			return p, at
		}
		if deepest == nil {
			deepest = at
		}
	}
	return paths[0], deepest
}

// elem returns the i-th element of a sequence, or nil.
func elem(list *node, i int) *node {
	if list == nil || list.kind != seqNode {
		return nil
	}
	for e := list.first; e != nil; e = e.next {
		if i == 0 {
			return e
		}
		i--
	}
	return nil
}

// windowLocator locates the fields of the windows of list, reported under
// path ("maintenance", "maintenance[0].windows").
func windowLocator(list *node, path string, field string, fallback *node) (string, *node, bool) {
	i, rest, ok := indexed(field, "Maintenance")
	if !ok {
		return "", nil, false
	}
	key := windowKeys[rest]
	p := fmt.Sprintf("%s[%d]", path, i)
	if key != "" {
		p += "." + key
	}
	e := elem(list, i)
	switch {
	case e == nil && list != nil:
		return p, list, true
	case e == nil:
		return p, fallback, true
	}
	if c := e.get(key); key != "" && c != nil {
		return p, c, true
	}
	return p, e, true
}

// fileField names the key of a monitor that sets the field a
// cpra.MonitorError names.
func fileField(field string) string {
	if _, ok := fileKeys[field]; ok {
		return fileKeys[field][0]
	}
	if _, _, ok := indexed(field, "DependsOn"); ok {
		return "depends_on"
	}
	if i, rest, ok := indexed(field, "Maintenance"); ok {
		if key := windowKeys[rest]; key != "" {
			return fmt.Sprintf("maintenance[%d].%s", i, key)
		}
		return fmt.Sprintf("maintenance[%d]", i)
	}
	return field
}

// monitorLocator locates fields in the monitor n (defaults applied).
func (it *item) monitorLocator(n *node) locator {
	return func(field string) (string, *node) {
		if p, c, ok := windowLocator(n.get("maintenance"), "maintenance", field, n); ok {
			return p, c
		}
		if i, _, ok := indexed(field, "DependsOn"); ok {
			if i < len(it.deps) {
				return "depends_on", it.deps[i]
			}
			return "depends_on", n.get("depends_on")
		}
		if keys, ok := fileKeys[field]; ok {
			return locateKeys(n, keys)
		}
		return field, n
	}
}
