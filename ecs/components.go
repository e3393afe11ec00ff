package ecs

import (
	"unsafe"

	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

// Probe is a monitor's check and where its name is, 16 bytes.
//
// The check is kept as half of an interface value: its value word. The
// other half, its type, is the same for every monitor of a fleet of HTTP
// checks, so the engine keeps it once in the monitor's rules, which name it
// by [Kind], and [Probe.Checker] puts the two halves back together. That
// saves 8 bytes in every monitor.
//
// The name is the string the monitor was created with, shared, not
// copied: Probe keeps a pointer to its bytes and [Health] their count,
// which saves the 8 bytes of a string's length in every monitor.
// [Store.Name] reads it.
type Probe struct {
	check unsafe.Pointer // the value word of the monitor's pulse.Checker
	name  *byte          // the name's first byte
}

// Kind is the dynamic type of a [pulse.Checker]: the type word of the
// interface value. Kinds compare equal when the checkers' types are the
// same; the zero Kind is that of the nil checker.
type Kind struct{ tab unsafe.Pointer }

// checkWords is the layout of a non-empty interface value: its type word
// (the runtime's table of the type's methods) and its value word (a
// pointer to the value, or the value itself when it is one pointer).
type checkWords struct{ tab, data unsafe.Pointer }

// KindOf returns the dynamic type of c.
func KindOf(c pulse.Checker) Kind {
	return Kind{(*checkWords)(unsafe.Pointer(&c)).tab}
}

// Checker returns the monitor's check, whose type is k: the Kind of the
// checker the monitor was created with.
func (p *Probe) Checker(k Kind) pulse.Checker {
	var c pulse.Checker
	*(*checkWords)(unsafe.Pointer(&c)) = checkWords{k.tab, p.check}
	return c
}

// Schedule says when a monitor's next check is due. Times are engine ticks:
// milliseconds since the engine's epoch. The interval and the timeout are
// in the monitor's rules, which monitors with the same settings share.
type Schedule struct {
	Due int64 // tick of the next check
}

// Scheduling flags, in the top byte of Health.Rules.
const (
	InFlight uint32 = 1 << (24 + iota) // a check is running
	Rephase                            // checked off its phase: the next check returns to it
	Dirty                              // its kept state changed since it was last written
	Away                               // another engine of the cluster runs it
	Watch                              // while Away, checked here for the owner: this engine's location reports it
	flagBits = 0xff << 24
)

// MaxRules is the number of distinct rule sets a store can index.
const MaxRules = 1 << 24

// Health is what every check result touches: the monitor's state in its
// episode machine and the last check's outcome. It is updated on every
// check, so it is kept small (24 bytes) and free of pointers.
type Health struct {
	// last holds the tick when the last check finished (LastCheck, the low
	// 48 bits, signed: thousands of years either side of the epoch) and
	// the length of the monitor's name (the top 16 bits; nameLong for a
	// longer name, whose length the store keeps apart).
	last        uint64
	LastLatency uint32 // microseconds the last check took (saturating)
	// Rules holds the index of the monitor's rules in the engine's table
	// (low 24 bits) and the scheduling flags (top 8 bits).
	Rules uint32
	episode.Core
}

// RulesIndex returns the index of the monitor's rules.
func (h *Health) RulesIndex() uint32 { return h.Rules &^ flagBits }

const (
	tickBits = 48
	tickMask = 1<<tickBits - 1
	nameLong = 1<<(64-tickBits) - 1
)

// LastCheck returns the tick when the last check finished; 0 before the
// first.
func (h *Health) LastCheck() int64 { return int64(h.last<<(64-tickBits)) >> (64 - tickBits) }

// SetLastCheck sets the tick when the last check finished.
func (h *Health) SetLastCheck(tick int64) { h.last = h.last&^tickMask | uint64(tick)&tickMask }

func (h *Health) nameLen() int { return int(h.last >> tickBits) }

func (h *Health) setNameLen(n int) {
	h.last = h.last&tickMask | uint64(min(n, nameLong))<<tickBits
}

// Ring is a monitor's recent results, for a failure window and flap
// detection; only monitors with one of those carry it, and [Window] with
// it.
type Ring struct {
	History uint64 // newest in bit 0: 1 failed
}

// Window is the number of a monitor's recent results its failure window
// counts: those since its last recovery. It goes with [Ring] and is apart
// from it so that neither has padding: 9 bytes for both, not 16.
type Window struct {
	N uint8
}

// Plugins holds what only monitors with a remediator have: the
// remediator and the remediation bookkeeping.
type Plugins struct {
	Remediate  intervene.Remediator
	FixTimeout uint32 // milliseconds an attempt may take
	Limit      uint32 // attempts allowed within Window; 0: no limit
	Window     int64  // milliseconds

	LastFix    int64   // Unix ms the last attempt started; 0 for none
	LastFixEnd int64   // tick the last attempt ended
	LastFixErr error   // its outcome
	Fixes      []int64 // Unix ms start times of recent attempts, for Limit
}

// Meta names what a monitor has of its own among its notifier and its
// labels: monitors with the same notifier of their own and the same label
// map share an entry of a table the engine keeps, and Meta is its index
// there (4 bytes for both, where an index of each took 8). Monitors with
// neither carry none. A monitor with labels or maintenance windows of its
// own also carries [Maint]; one with only a notifier of its own does not.
// Both are kept outside ark's tables and the heap (see [Part]).
type Meta struct {
	Set uint32
}

// Maint is the number of maintenance windows covering a monitor now. Its
// presence marks the monitors that maintenance selectors look at.
type Maint struct {
	Open uint8
}

// metaTag and maintTag mark, in ark's tables, the monitors with a [Meta]
// and with a [Maint]. They have no bytes: ark keeps none for them.
type (
	metaTag  struct{}
	maintTag struct{}
)

// Deps names the monitors a monitor depends on. Monitors with the same
// parents share one set, which the engine keeps in a table: Deps is the
// set's index there, half the size of a pointer.
type Deps struct {
	Set uint32
}

// ParentSet is a list of parent names, shared by the monitors that have it.
type ParentSet struct {
	Names []string
	Key   string // the names joined, to find the set
}
