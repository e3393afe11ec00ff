// Package persist encodes what the engine keeps in its store: each
// monitor's episode state, the alerts on their way (the outbox), and the
// fleet's remediation budget. The encoding is versioned; a record of a
// newer version is refused.
//
// # Keys
//
//	"m\x00" name                        a monitor's state
//	"o\x00" name "\x00" id(8) seq(2)    an alert on its way; id is its
//	                                    episode's start, or the alert's time
//	                                    outside an episode (big-endian)
//	"b\x00budget"                       the fleet's and groups' budget windows
//
// Every value begins with its format version.
package persist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/internal/episode"
)

// Version is the format version this package writes.
const Version = 1

// Key prefixes.
const (
	MonitorPrefix = "m\x00"
	AlertPrefix   = "o\x00"
	BudgetKey     = "b\x00budget"
)

// ErrNewer is wrapped by the error for a record written by a newer version.
var ErrNewer = errors.New("written by a newer version")

// Monitor is what is kept of one monitor.
type Monitor struct {
	State episode.State
	Fixes []int64 // start times (Unix ms) of the attempts in its limit's window
}

// MonitorKey returns the key of a monitor's state.
func MonitorKey(name string) []byte { return append([]byte(MonitorPrefix), name...) }

// Kept reports whether a monitor's state is worth keeping: an open episode,
// a pause or maintenance, attempts in a window, or a cooldown that runs
// past now. The counters of checks and the recent results are not kept:
// after a restart they start again.
func Kept(m *Monitor, cooldown, now int64) bool {
	s := &m.State
	return s.Phase.Open() || s.Flags&episode.Quiet != 0 || len(m.Fixes) > 0 ||
		(s.LastFix != 0 && cooldown > 0 && s.LastFix+cooldown > now)
}

// Worth reports whether a state may need keeping: a change between two
// states neither of which is worth it (a healthy monitor's first result)
// writes nothing.
func Worth(s *episode.State) bool {
	return s.Phase.Open() || s.Flags&episode.Quiet != 0 || s.LastFix != 0
}

// Same reports whether two states are the same as far as the store is
// concerned: a step that changes only counters or the recent results
// writes nothing.
func Same(a, b *episode.State) bool {
	return a.Phase == b.Phase && a.Hold == b.Hold && a.Flags&^episode.Clean == b.Flags&^episode.Clean &&
		a.Code == b.Code && a.Ep == b.Ep && a.LastFix == b.LastFix
}

// AppendMonitor appends the encoding of m to b.
func AppendMonitor(b []byte, m *Monitor) []byte {
	s := &m.State
	b = append(b, Version, byte(s.Phase), byte(s.Hold), byte(s.Flags&^episode.Clean), byte(s.Code))
	b = binary.AppendVarint(b, s.Start)
	b = binary.AppendVarint(b, s.Next-s.Start)
	b = binary.AppendVarint(b, s.LastRed-s.Start)
	b = binary.AppendUvarint(b, uint64(s.Attempts))
	b = binary.AppendUvarint(b, uint64(s.Repeats))
	b = binary.AppendUvarint(b, uint64(s.Seq))
	b = binary.AppendVarint(b, s.LastFix)
	b = binary.AppendUvarint(b, uint64(len(m.Fixes)))
	prev := s.LastFix
	for _, f := range m.Fixes {
		b = binary.AppendVarint(b, f-prev)
		prev = f
	}
	return b
}

// reader reads the fields of a record, remembering the first error.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.err = fmt.Errorf("truncated at byte %d", r.off)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.err = fmt.Errorf("bad number at byte %d", r.off)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) uvarint(limit uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 || v > limit {
		r.err = fmt.Errorf("bad number at byte %d", r.off)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) version() {
	if v := r.byte(); r.err == nil && v > Version {
		r.err = fmt.Errorf("format %d: %w (this one reads up to %d)", v, ErrNewer, Version)
	} else if r.err == nil && v == 0 {
		r.err = errors.New("format 0 is not a format")
	}
}

// DecodeMonitor decodes a monitor's state.
func DecodeMonitor(b []byte) (Monitor, error) {
	var m Monitor
	r := reader{b: b}
	r.version()
	s := &m.State
	s.Phase = episode.Phase(r.byte())
	s.Hold = episode.Hold(r.byte())
	s.Flags = episode.Flags(r.byte())
	s.Code = alert.Code(r.byte())
	s.Start = r.varint()
	s.Next = s.Start + r.varint()
	s.LastRed = s.Start + r.varint()
	s.Attempts = uint16(r.uvarint(1<<16 - 1))
	s.Repeats = uint16(r.uvarint(1<<16 - 1))
	s.Seq = uint16(r.uvarint(1<<16 - 1))
	s.LastFix = r.varint()
	n := r.uvarint(1 << 16)
	prev := s.LastFix
	for range n {
		if r.err != nil {
			break
		}
		prev += r.varint()
		m.Fixes = append(m.Fixes, prev)
	}
	switch {
	case r.err != nil:
		return Monitor{}, r.err
	case s.Phase > episode.Red || s.Hold > episode.HoldFlap || s.Phase.Open() != (s.Start != 0):
		return Monitor{}, fmt.Errorf("phase %d, hold %d, start %d: not a state the engine writes", s.Phase, s.Hold, s.Start)
	}
	if !s.Phase.Open() {
		s.Ep = episode.Ep{}
	}
	s.Flags |= episode.Clean // the recent results are not kept
	return m, nil
}

// Alert is an alert on its way, as the outbox keeps it.
type Alert struct {
	Monitor string
	Code    alert.Code
	Flap    alert.Flap
	Repeat  uint16
	Attempt uint16
	Fails   uint16
	Skipped uint16
	Seq     uint16
	Ends    bool
	Start   int64 // its episode (Unix ms); 0 for none
	At      int64 // when it was raised (Unix ms)
	Err     string
}

// ID is what tells an alert apart among its monitor's: its episode's start
// and its number in it, or outside an episode its time.
func (a *Alert) ID() (int64, uint16) {
	if a.Start != 0 {
		return a.Start, a.Seq
	}
	return a.At, 0
}

// AlertKey returns the outbox key of an alert of monitor.
func AlertKey(monitor string, id int64, seq uint16) []byte {
	b := make([]byte, 0, len(AlertPrefix)+len(monitor)+11)
	b = append(append(append(b, AlertPrefix...), monitor...), 0)
	b = binary.BigEndian.AppendUint64(b, uint64(id))
	return binary.BigEndian.AppendUint16(b, seq)
}

// ParseAlertKey returns the monitor of an outbox key.
func ParseAlertKey(k []byte) (string, error) {
	s := string(k)
	if !strings.HasPrefix(s, AlertPrefix) || len(s) < len(AlertPrefix)+11 {
		return "", errors.New("not an alert key")
	}
	return s[len(AlertPrefix) : len(s)-11], nil
}

// AppendAlert appends the encoding of a to b (its monitor is in its key).
func AppendAlert(b []byte, a *Alert) []byte {
	b = append(b, Version, byte(a.Code), byte(a.Flap))
	var ends byte
	if a.Ends {
		ends = 1
	}
	b = append(b, ends)
	for _, v := range [...]uint16{a.Repeat, a.Attempt, a.Fails, a.Skipped, a.Seq} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	b = binary.AppendVarint(b, a.Start)
	b = binary.AppendVarint(b, a.At-a.Start)
	b = binary.AppendUvarint(b, uint64(len(a.Err)))
	return append(b, a.Err...)
}

// DecodeAlert decodes an outbox record of monitor.
func DecodeAlert(monitor string, b []byte) (Alert, error) {
	a := Alert{Monitor: monitor}
	r := reader{b: b}
	r.version()
	a.Code = alert.Code(r.byte())
	a.Flap = alert.Flap(r.byte())
	a.Ends = r.byte() == 1
	for _, p := range [...]*uint16{&a.Repeat, &a.Attempt, &a.Fails, &a.Skipped, &a.Seq} {
		*p = uint16(r.uvarint(1<<16 - 1))
	}
	a.Start = r.varint()
	a.At = a.Start + r.varint()
	n := int(r.uvarint(1 << 20))
	if r.err == nil {
		if r.off+n > len(b) {
			r.err = fmt.Errorf("truncated at byte %d", len(b))
		} else {
			a.Err = string(b[r.off : r.off+n])
		}
	}
	if r.err == nil && (a.Code == 0 || a.Code > alert.Gray) {
		r.err = fmt.Errorf("code %d is not an alert code", a.Code)
	}
	return a, r.err
}

// AppendTimes appends a list of Unix ms times.
func AppendTimes(b []byte, ts []int64) []byte {
	b = binary.AppendUvarint(b, uint64(len(ts)))
	prev := int64(0)
	for _, t := range ts {
		b = binary.AppendVarint(b, t-prev)
		prev = t
	}
	return b
}

// Budget is the budget's windows: the start times of the attempts counted,
// the fleet's and each group's.
type Budget struct {
	Fleet  []int64
	Groups map[string][]int64
}

// AppendBudget appends the encoding of bu to b.
func AppendBudget(b []byte, bu *Budget) []byte {
	b = append(b, Version)
	b = AppendTimes(b, bu.Fleet)
	b = binary.AppendUvarint(b, uint64(len(bu.Groups)))
	for k, ts := range bu.Groups {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = AppendTimes(b, ts)
	}
	return b
}

func (r *reader) times() []int64 {
	n := r.uvarint(1 << 24)
	var ts []int64
	prev := int64(0)
	for range n {
		if r.err != nil {
			return nil
		}
		prev += r.varint()
		ts = append(ts, prev)
	}
	return ts
}

// DecodeBudget decodes the budget's windows.
func DecodeBudget(b []byte) (Budget, error) {
	var bu Budget
	r := reader{b: b}
	r.version()
	bu.Fleet = r.times()
	n := r.uvarint(1 << 24)
	for range n {
		if r.err != nil {
			break
		}
		l := int(r.uvarint(1 << 16))
		if r.err == nil && r.off+l > len(b) {
			r.err = fmt.Errorf("truncated at byte %d", len(b))
			break
		}
		k := string(b[r.off : r.off+l])
		r.off += l
		if bu.Groups == nil {
			bu.Groups = map[string][]int64{}
		}
		bu.Groups[k] = r.times()
	}
	return bu, r.err
}
