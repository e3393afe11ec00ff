// Package ecs is the monitor store of the CPRA engine, built on the ark
// entity-component-system: one of the engine's building blocks, public
// for reuse and for reading, not needed to use the engine.
//
// # Overview
//
// Every monitor is one ark entity. The state every check touches lives in
// small components that every monitor has ([Probe]: check and name, 16
// bytes, [Schedule]: when it is due, [Health]: the last result and the
// monitor's state in its episode machine, 24 bytes). The Probe is in ark's
// tables; the Schedule and the Health, which hold no pointers, are in
// [Column]s by entity ID, outside the Go heap, where the collector's
// doubling of the heap does not reach them. So are [Meta] and [Maint],
// which only some monitors have ([Part]), and, moved there by the store,
// ark's own record of its entities and its tables' columns of entities
// (see arkbooks.go: ark has no way to be given memory, so the store
// points ark's slices at arrays it maps, after checking ark's layout). A Probe keeps its
// check's value and not its type, which the monitor's rules keep once for
// the monitors that share them ([Kind], [Probe.Checker]). What only some monitors need
// lives in components that only they carry: [Plugins] for their own
// remediator, [Meta] for their own notifier and labels, [Maint] for
// labels and maintenance, [Ring] and [Window] for a failure window or flap
// detection, [Deps] for dependencies. [Meta] and [Deps] hold 4-byte
// indexes into tables of values that many monitors share, which the
// engine keeps. A failing monitor's open episode is kept apart, by
// monitor ([Store.Episode]), so that a monitor that fails stays where it
// is in ark's tables. ark doubles a table when it fills; so that a
// fleet does not sit in a table up to twice its size, the store puts the
// monitors of each mix of components in tables of at most [ShardRows],
// filled one after the other and told apart by tag components that hold
// nothing. A
// [Store] keeps the world, a name index and a hierarchical timing [Wheel]
// that answers "which monitors are due now" in time proportional to the
// answer, not to the number of monitors. The name
// index and the wheel hold 4-byte entity IDs, which the store's own record
// of generations turns back into entities.
//
// # Concurrency
//
// Nothing here is safe for concurrent use: one goroutine (the engine's loop)
// owns a Store and everything in it.
package ecs
