package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrSyntax is wrapped by the Err of an [*Error] for a document that is not
// well-formed YAML or JSON.
var ErrSyntax = errors.New("syntax error")

// Error is one problem in a monitors file: which monitor, which field, what
// is wrong and on which line. Its message reads like
//
//	monitors[42] "api": pulse_check.interval: "3x" is not a duration (line 310)
type Error struct {
	// Index is the monitor's position in the monitors list, from 0, or -1
	// for a problem outside any monitor (a top-level field, a syntax error
	// between monitors).
	Index int
	// Monitor is the monitor's name, when it has one.
	Monitor string
	// Field is the path of the field at fault, such as
	// "pulse_check.config.url"; empty for a syntax error or a problem with the
	// monitor as a whole.
	Field string
	// Line is the line of the file the problem is on, from 1; 0 when unknown.
	Line int
	// Err says what is wrong.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Index >= 0 {
		fmt.Fprintf(&b, "monitors[%d]", e.Index)
		if e.Monitor != "" {
			fmt.Fprintf(&b, " %q", e.Monitor)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errors are all the problems found in one file, ordered by line. Load
// returns them as its error; use errors.As to get them.
type Errors []*Error

// Error lists the problems, one per line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if (a.Line == 0) != (b.Line == 0) {
			return b.Line == 0 // errors without a line last
		}
		return a.Line < b.Line
	})
}

// causeError presents the error of a plug-in constructor without the
// package's configuration prefix, keeping it for errors.Is.
type causeError struct {
	msg string
	err error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.err }

// cause trims prefixes such as "pulse: invalid checker configuration: " from
// err's message.
func cause(err error, prefixes ...error) error {
	msg := err.Error()
	for _, p := range prefixes {
		msg = strings.TrimPrefix(msg, p.Error()+": ")
	}
	return &causeError{msg: msg, err: err}
}
