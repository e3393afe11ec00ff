package alert

import (
	"strconv"
	"strings"
	"time"

	"github.com/ziad/cpra/internal/redact"
)

// How many members of a group the human-readable renderings name. The
// payload ([Payload.Members]) always lists them all.
const (
	lineNames    = 10  // in a one-line text: SMS, subject, summary, headline
	slackMembers = 20  // lines in a Slack attachment
	pdMembers    = 50  // names in PagerDuty's custom_details
	emailMembers = 100 // lines in an email body
	memberErrMax = 200 // bytes of one member's error in a list
)

// groupStates says what happened to the monitors of a group, per code.
var groupStates = map[Code]string{
	Yellow: "failing",
	Red:    "down",
	Green:  "up again",
	Cyan:   "repaired",
	Gray:   "paused",
}

// story is what a one-line account of an alert is made of, taken from an
// [Alert] or from a [Payload].
type story struct {
	monitor  string
	code     Code
	codeName string
	flap     Flap
	n        int                // members of a group; 0 for one monitor
	name     func(i int) string // the name of member i < n
}

func storyOf(a Alert) story {
	return story{
		monitor:  a.Monitor,
		code:     a.Code,
		codeName: a.Code.String(),
		flap:     a.Flap,
		n:        len(a.Group),
		name:     func(i int) string { return a.Group[i].Monitor },
	}
}

// line is the one-line account: "checkout-api is down", "checkout-api is
// flapping", "checkout-api stopped flapping (now green)", or for a group
// "37 monitors down (zone=eu-1): a, b, c and 34 more". A group's list names
// at most maxNames members, in the group's order; when budget > 0 it also
// stops before the text would grow past budget bytes (the count before the
// list is always there).
func (s story) line(maxNames, budget int) string {
	if s.n == 0 {
		return s.single()
	}
	noun := "monitors"
	if s.n == 1 {
		noun = "monitor"
	}
	state, ok := groupStates[s.code]
	if !ok {
		state = s.codeName
	}
	switch s.flap {
	case FlapStart:
		state = "flapping"
	case FlapEnd:
		state = "stopped flapping, now " + s.codeName
	}
	head := strconv.Itoa(s.n) + " " + noun + " " + state + " (" + s.monitor + ")"
	room := -1 // no limit
	if budget > 0 {
		room = max(budget-len(head), 0)
	}
	return head + nameList(s.n, s.name, maxNames, room)
}

func (s story) single() string {
	switch s.flap {
	case FlapStart:
		return s.monitor + " is flapping"
	case FlapEnd:
		return s.monitor + " stopped flapping (now " + s.codeName + ")"
	}
	switch s.code {
	case Yellow:
		return s.monitor + " is failing"
	case Red:
		return s.monitor + " is down"
	case Green:
		return s.monitor + " is up again"
	case Cyan:
		return s.monitor + " was repaired, verifying"
	case Gray:
		return s.monitor + " is paused"
	}
	return s.monitor + ": " + s.codeName
}

// nameList is ": a, b, c" or ": a, b, c and 34 more": at most maxNames of
// the n names, and no longer than room bytes unless room < 0. It is empty
// when no name fits.
func nameList(n int, name func(int) string, maxNames, room int) string {
	var b strings.Builder
	listed := 0
	for listed < min(n, maxNames) {
		sep := ", "
		if listed == 0 {
			sep = ": "
		}
		next := name(listed)
		if room >= 0 && b.Len()+len(sep)+len(next)+len(more(n-listed-1)) > room {
			break
		}
		b.WriteString(sep)
		b.WriteString(next)
		listed++
	}
	if listed == 0 {
		return ""
	}
	b.WriteString(more(n - listed))
	return b.String()
}

// more is " and 34 more", or "" when nothing is left out.
func more(rest int) string {
	if rest <= 0 {
		return ""
	}
	return " and " + strconv.Itoa(rest) + " more"
}

// headline is the one-line summary of an alert used by several notifiers.
func headline(a Alert) string { return storyOf(a).line(lineNames, 0) }

// memberFacts describes one member of a group on one line, without its
// name: "failures 3, since 2025-01-02T15:04:05Z, attempt 2, error: ...".
func memberFacts(m Alert) string {
	var parts []string
	if m.Flap != 0 {
		parts = append(parts, m.Flap.String())
	}
	if m.Failures > 0 {
		parts = append(parts, "failures "+strconv.Itoa(m.Failures))
	}
	if !m.Since.IsZero() {
		parts = append(parts, "since "+m.Since.UTC().Format(time.RFC3339))
	}
	if m.Attempt > 0 {
		parts = append(parts, "attempt "+strconv.Itoa(m.Attempt))
	}
	if m.Err != nil {
		parts = append(parts, "error: "+oneLine(m.Err.Error(), memberErrMax))
	}
	return strings.Join(parts, ", ")
}

// oneLine folds s onto one line and cuts it to max bytes, never inside a
// character.
func oneLine(s string, max int) string {
	return redact.Truncate(strings.Join(strings.Fields(s), " "), max, "...")
}

// codeNamed is the Code whose String is name, or 0.
func codeNamed(name string) Code {
	for c, n := range codeNames {
		if n == name && c != 0 {
			return Code(c)
		}
	}
	return 0
}

// flapNamed is the Flap whose String is name, or 0.
func flapNamed(name string) Flap {
	switch name {
	case "flap-start":
		return FlapStart
	case "flap-end":
		return FlapEnd
	}
	return 0
}
