package main

import (
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/term"
)

// Terminal control sequences: return to the start of the line and erase it.
const eraseLine = "\r\033[K"

// console is a terminal the program keeps one status line on: the last
// line, redrawn in place. Everything else written to the terminal goes
// through a writer from [console.writer], which erases the status line,
// writes its lines and draws the status line again below them, so that a
// log or alert line is never glued to the status line nor overwritten by it.
type console struct {
	mu     sync.Mutex
	tty    io.Writer    // the terminal the status line is drawn on
	width  func() int   // its width in columns
	status string       // the status line, cut to the width when drawn
	shown  bool         // the status line is on the screen
	midway map[any]bool // writers whose last write did not end a line
}

// newConsole returns a console that draws on tty, whose width in columns
// width reports.
func newConsole(tty io.Writer, width func() int) *console {
	return &console{tty: tty, width: width, midway: map[any]bool{}}
}

// setStatus replaces the status line and draws it.
func (c *console) setStatus(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status = s
	if c.anyMidway() {
		return // drawn once the line being written ends
	}
	c.draw()
}

// finish ends the status line where it is, so that it stays on the screen,
// and forgets it.
func (c *console) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shown {
		io.WriteString(c.tty, "\n")
	}
	c.status, c.shown = "", false
}

// draw writes the status line over the current line. c.mu is held.
func (c *console) draw() {
	if c.status == "" {
		return
	}
	io.WriteString(c.tty, eraseLine+fit(c.status, c.width()-1))
	c.shown = true
}

func (c *console) anyMidway() bool {
	for _, m := range c.midway {
		if m {
			return true
		}
	}
	return false
}

// writer returns a writer to w (the terminal itself, or another stream
// that shows on the same screen) whose lines appear above the status line.
func (c *console) writer(w io.Writer) io.Writer { return &consoleWriter{c: c, w: w} }

type consoleWriter struct {
	c *console
	w io.Writer
}

func (cw *consoleWriter) Write(p []byte) (int, error) {
	c := cw.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shown {
		io.WriteString(c.tty, eraseLine)
		c.shown = false
	}
	n, err := cw.w.Write(p)
	if len(p) > 0 {
		c.midway[cw] = p[len(p)-1] != '\n'
	}
	if !c.anyMidway() {
		c.draw()
	}
	return n, err
}

// fit cuts s to at most width characters; the status line must not wrap,
// or redrawing it would leave its first part above.
func fit(s string, width int) string {
	width = max(width, 1)
	n := 0
	for i := range s {
		if n == width {
			return s[:i]
		}
		n++
	}
	return s
}

// terminalWidth returns the width in columns of the terminal f is, or
// when that cannot be learnt, $COLUMNS, or 80.
func terminalWidth(f *os.File) int {
	if f != nil {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	if w, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && w > 0 {
		return w
	}
	return 80
}

// terminalFile returns w as a file when it is a terminal, or nil.
func terminalFile(w io.Writer) *os.File {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return f
}

// useColour reports whether alert codes written to out are coloured: only
// when out is a terminal, $NO_COLOR is empty or unset (no-color.org) and
// $TERM is not "dumb".
func useColour(out io.Writer) bool {
	return terminalFile(out) != nil && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// SGR colours of the codes.
var codeColours = map[string]string{
	"yellow": "\033[33m",
	"red":    "\033[31m",
	"green":  "\033[32m",
	"cyan":   "\033[36m",
	"gray":   "\033[90m",
}

// colourCode returns the code's name padded to pad characters, coloured
// when colour is set.
func colourCode(code string, pad int, colour bool) string {
	padded := code
	if n := pad - len(code); n > 0 {
		padded += strings.Repeat(" ", n)
	}
	esc, ok := codeColours[code]
	if !colour || !ok {
		return padded
	}
	return esc + code + "\033[0m" + padded[len(code):]
}

// screen learns what standard output and standard error are. When standard
// error is a terminal (and the log format is not JSON, whose every line is
// an event), the status line is drawn on it (o.con), and both streams are
// returned wrapped so that their lines pass above the status line.
func (o *options) screen(stdout, stderr io.Writer) (io.Writer, io.Writer) {
	o.stdoutTTY = terminalFile(stdout) != nil
	o.colour = o.logFormat != formatJSON && useColour(stdout)
	f := terminalFile(stderr)
	if f == nil || o.logFormat == formatJSON {
		return stdout, stderr
	}
	o.con = newConsole(stderr, func() int { return terminalWidth(f) })
	if o.stdoutTTY {
		stdout = o.con.writer(stdout)
	}
	return stdout, o.con.writer(stderr)
}
