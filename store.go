package cpra

import "time"

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
type Change struct {
	Key, Value []byte
}

// DefaultStoreGrace is how long after Start the state of monitors that were
// not added again is kept (see [WithStore]).
const DefaultStoreGrace = 5 * time.Minute
