// Package ecs is the monitor store of CPRA, built on the ark
// entity-component-system.
//
// # Overview
//
// Every monitor is one ark entity. Its hot state lives in small components
// that every monitor has ([Probe], [Schedule], [Health]); data only some
// monitors need lives in components that only they carry ([Plugins] for
// per-monitor remediators, notifiers and labels; [Episode] while a monitor
// is failing). A [Store] keeps the world, a name index and a hierarchical
// timing [Wheel] that answers "which monitors are due now" in time
// proportional to the answer, not to the number of monitors.
//
// # Concurrency
//
// Nothing here is safe for concurrent use: one goroutine (the engine's loop)
// owns a Store and everything in it.
package ecs
