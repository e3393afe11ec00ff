package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// LogNotifier writes each alert as one line of JSON, a [Payload], to a
// writer or an append-only file. The line of a group lists every member. It is safe for concurrent use: each line is
// written with a single Write call, under a lock, so lines never interleave.
type LogNotifier struct {
	mu     sync.Mutex
	w      io.Writer
	file   *os.File // set by LogFile; closed by Close
	name   string
	closed bool
}

// Log returns a notifier that writes one JSON line per alert to w. The
// caller keeps ownership of w: [LogNotifier.Close] does not close it.
func Log(w io.Writer) *LogNotifier {
	return &LogNotifier{w: w, name: "writer"}
}

// LogFile opens path for appending (creating it with mode 0640 if needed)
// and returns a notifier that writes one JSON line per alert to it. The file
// is opened once, with O_APPEND, so lines from several processes do not
// overwrite each other. Close the notifier to close the file.
func LogFile(path string) (*LogNotifier, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("alert: log file: %w", err)
	}
	return &LogNotifier{w: f, file: f, name: path}, nil
}

// Notify writes a as one line. It fails with [ErrClosed] after Close, and
// returns without writing when ctx is already done.
func (l *LogNotifier) Notify(ctx context.Context, a Alert) error {
	if err := canceled(ctx, "log", l.name); err != nil {
		return err
	}
	line, err := json.Marshal(NewPayload(a))
	if err != nil {
		return &DeliveryError{Notifier: "log", Endpoint: l.name, Err: err}
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return &DeliveryError{Notifier: "log", Endpoint: l.name, Err: ErrClosed}
	}
	if _, err := l.w.Write(line); err != nil {
		return &DeliveryError{Notifier: "log", Endpoint: l.name, Retryable: true, Err: err}
	}
	return nil
}

// Close closes the file opened by [LogFile]; for a notifier made by [Log] it
// only stops further writes. Close is idempotent.
func (l *LogNotifier) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.file != nil {
		return l.file.Close()
	}
	return nil
}

// String describes the notifier.
func (l *LogNotifier) String() string { return "alert.Log(" + l.name + ")" }

var _ Notifier = (*LogNotifier)(nil)
