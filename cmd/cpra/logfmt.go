package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/ziad/cpra/alert"
)

// Values of --log.format.
const (
	formatAuto = ""     // text log lines; alerts readable on a terminal, JSON lines elsewhere
	formatText = "text" // text log lines and readable alert lines
	formatJSON = "json" // one JSON object per log event and per alert
)

// parseLogFormat checks a --log.format value.
func parseLogFormat(s string) (string, error) {
	switch s {
	case formatText, formatJSON:
		return s, nil
	}
	return "", fmt.Errorf("%q is not a log format: want text or json", s)
}

// newLogger returns the program's logger, writing to w at level in the
// format asked for (see package doc: slog's text or JSON form). The
// engine's warning of each failed remediation attempt is logged at debug
// level: the alert that follows (red, when the attempts are spent) carries
// the error, so that a failed repair is told once, and the status line
// counts the failed attempts.
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if format == formatJSON {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(demoteHandler{h})
}

// demoted are the messages logged at debug level in place of warning.
var demoted = map[string]bool{"remediation failed": true}

// demoteHandler lowers the level of the records named in demoted.
type demoteHandler struct{ slog.Handler }

func (d demoteHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && demoted[r.Message] {
		if !d.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return d.Handler.Handle(ctx, r)
}

func (d demoteHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return demoteHandler{d.Handler.WithAttrs(as)}
}

func (d demoteHandler) WithGroup(name string) slog.Handler {
	return demoteHandler{d.Handler.WithGroup(name)}
}

// alertLines returns the notifier that writes the alerts of the monitors
// without codes (and the demo's) to w: JSON lines (the alert.Payload
// schema) with --log.format json, and without --log.format when w is not
// a terminal and the alerts are not the demo's; readable lines otherwise,
// the code coloured when colour is set.
func alertLines(w io.Writer, format string, tty, colour, demo bool) alert.Notifier {
	if format == formatJSON || (format == formatAuto && !tty && !demo) {
		return alert.Log(w)
	}
	return &printer{w: w, colour: colour, short: tty}
}
