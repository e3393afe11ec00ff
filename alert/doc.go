// Package alert defines the notification side of CPRA: the [Code] of an
// alert, the [Alert] itself, the [Notifier] plug-in with its function adapter
// [NotifierFunc], and [Route], which picks a notifier by code.
//
// # Codes
//
// Every episode of a monitor (from its first failed check to its recovery)
// produces alerts matching yellow? cyan* red? green:
//
//   - [Yellow]: the first failure, when more than one is needed to go down.
//   - [Red]: down, and remediation is absent or has given up.
//   - [Cyan]: a remediation attempt succeeded and is being verified.
//   - [Green]: healthy again; exactly one per episode.
//   - [Gray]: paused or in maintenance.
//
// # Concurrency
//
// A monitor's alerts reach its Notifier one at a time and in order; different
// monitors' alerts are delivered in parallel.
package alert
