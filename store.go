package cpra

import (
	"time"

	"github.com/ziad/cpra/internal/loop"
)

// Store keeps an engine's state across restarts (see [WithStore]): for each
// monitor whose state is worth keeping (an open episode, a pause, the
// remediation attempts of its windows), that state; the alerts raised and
// not yet delivered (the outbox); and the fleet's remediation budget. Keys
// and values are the engine's own encoding; a Store keeps them as bytes.
//
// Package store has a file-backed Store that needs no server, and one in
// memory.
//
// The engine calls a Store from one goroutine at a time: Load once, from
// [New]; then Write, from a goroutine of its own, with changes coalesced and
// committed in groups. A Write that fails is retried; the engine goes on
// meanwhile, counting the failures in [Stats].
type Store interface {
	// Load calls fn with every record. The slices are valid only during
	// the call.
	Load(fn func(key, value []byte) error) error
	// Write applies changes atomically and durably: when it returns nil,
	// all of them survive a crash, and when it fails, none of them need
	// have. A change with a nil Value deletes its key. The slices are
	// valid only during the call.
	Write(changes []Change) error
}

// Change is one change of a [Store]: a put, or with a nil Value a delete.
// In a cluster (see [WithCluster]) it also names the shard of the monitor
// it is about and the token the engine held for that shard when it made
// the change; a Store ignores both.
type Change struct {
	Key, Value []byte
	Shard      int
	Token      int64
}

// DefaultStoreGrace is how long after Start the state of monitors that were
// not added again is kept (see [WithStore]).
const DefaultStoreGrace = 5 * time.Minute

// WithStore makes the engine keep its state in s across restarts, so that
// a restart, a crash or a kill neither pages twice nor forgets an incident:
//
//   - New loads what s holds. When a monitor is added that has a kept
//     state, by name, it resumes it: a monitor that was down stays down in
//     the same episode (no second yellow or red), and passing checks end it
//     with one green that has the same Since and so resolves the same
//     incident. Its remediation attempts and limit windows go on counting;
//     an attempt that was running when the engine stopped counts as failed.
//     A monitor whose settings changed keeps its episode.
//   - An alert is written to s before it is sent, and deleted once it has
//     its fate; alerts still on the way when the engine stops (a crash, or
//     the shutdown deadline) are sent again after the restart, with the same
//     [alert.Alert].Key. So a receiver that drops repeated keys sees each
//     alert once; another may see an alert that was in flight at a crash
//     twice.
//   - The state of monitors not added again within grace after Start
//     ([DefaultStoreGrace] when grace is 0) is dropped, and their alerts
//     still on the way go to the [WithUndelivered] hook; both are counted
//     in [Stats] and logged once.
//
// Only what matters is written, and not on every check: a change of a
// monitor's episode (its phase, what it told, its attempts), coalesced and
// committed in groups at most every 10ms. Counters of passes and failures
// and the recent results (for failure windows and flap detection) start
// again after a restart. A store that refuses a write is retried; the
// engine goes on, counting the failures in [Stats].StoreFailures.
func WithStore(s Store, grace time.Duration) Option {
	return optionFunc(func(c *config) {
		switch {
		case s == nil:
			c.fail("WithStore: nil store")
		case grace < 0:
			c.fail("WithStore: negative grace %v", grace)
		default:
			if grace == 0 {
				grace = DefaultStoreGrace
			}
			c.Store, c.StoreGrace = storeAdapter{s}, grace
		}
	})
}

// storeAdapter is a Store as the engine's machinery calls it.
type storeAdapter struct{ s Store }

func (a storeAdapter) Load(fn func(key, value []byte) error) error { return a.s.Load(fn) }

func (a storeAdapter) Write(changes []loop.Change) error {
	cs := make([]Change, len(changes))
	for i, c := range changes {
		cs[i] = Change(c)
	}
	return a.s.Write(cs)
}
