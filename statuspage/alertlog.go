package statuspage

import (
	"context"
	"sync"
	"time"

	"github.com/ziad/cpra/alert"
)

// maxErrLen bounds the error text an entry keeps.
const maxErrLen = 300

// Entry is one alert as an [AlertLog] keeps it: its facts, with the error
// as text.
type Entry struct {
	Monitor  string            `json:"monitor"`
	Code     string            `json:"code"`
	Flap     string            `json:"flap,omitempty"`
	At       time.Time         `json:"at"`
	Since    time.Time         `json:"since,omitzero"`
	Error    string            `json:"error,omitempty"`
	Failures int               `json:"failures,omitempty"`
	Attempt  int               `json:"attempt,omitempty"`
	Repeat   int               `json:"repeat,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	key      string
}

// AlertLog is a bounded ring of the most recent alerts. Create it with
// [NewAlertLog]; it is safe for concurrent use, and Record returns at
// once, so it may be the engine's [cpra.WithAlertHook].
type AlertLog struct {
	mu   sync.Mutex
	ring []Entry
	next int  // where the next entry goes
	full bool // the ring has wrapped
}

// NewAlertLog returns a log that keeps the last n alerts (n < 1: 100).
func NewAlertLog(n int) *AlertLog {
	if n < 1 {
		n = 100
	}
	return &AlertLog{ring: make([]Entry, n)}
}

// Record adds a to the log, dropping the oldest entry when the log is
// full. A grouped alert is recorded as its members, one entry each. An
// alert sent again (a retry, with the same [alert.Alert.Key] as one in the
// log) is recorded once.
func (l *AlertLog) Record(a alert.Alert) {
	if len(a.Group) > 0 {
		for _, m := range a.Group {
			l.Record(m)
		}
		return
	}
	e := Entry{Monitor: a.Monitor, Code: a.Code.String(), Flap: a.Flap.String(), At: a.At, Since: a.Since,
		Failures: a.Failures, Attempt: a.Attempt, Repeat: a.Repeat, Labels: a.Labels, key: a.Key}
	if a.Err != nil {
		e.Error = clip(a.Err.Error(), maxErrLen)
	}
	l.mu.Lock()
	if a.Key != "" {
		for i := range l.ring {
			if l.ring[i].key == a.Key {
				l.mu.Unlock()
				return
			}
		}
	}
	l.ring[l.next] = e
	if l.next++; l.next == len(l.ring) {
		l.next, l.full = 0, true
	}
	l.mu.Unlock()
}

// Entries returns up to n of the most recent entries, newest first, of
// the monitor named monitor ("": of every monitor).
func (l *AlertLog) Entries(monitor string, n int) []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := l.next
	if l.full {
		size = len(l.ring)
	}
	var out []Entry
	for i := 0; i < size && len(out) < n; i++ {
		j := l.next - 1 - i
		if j < 0 {
			j += len(l.ring)
		}
		if monitor == "" || l.ring[j].Monitor == monitor {
			out = append(out, l.ring[j])
		}
	}
	return out
}

// Notifier returns a notifier that records each alert in the log and then
// hands it to next (nil: to no one). Its result is next's.
func (l *AlertLog) Notifier(next alert.Notifier) alert.Notifier {
	return alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error {
		l.Record(a)
		if next == nil {
			return nil
		}
		return next.Notify(ctx, a)
	})
}

// clip cuts s to at most n bytes, between characters, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && s[i]&0xc0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
