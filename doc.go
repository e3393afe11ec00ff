// Package cpra is an embeddable active-monitoring engine: it runs up to a
// million monitors in one process, each a periodic health check (pulse),
// an optional automated repair when it fails (intervention), and alerts
// about what happened (codes).
//
// # Overview
//
// Create an [Engine] with [New], describe each target as a [Monitor] and
// [Engine.Add] it, then [Engine.Start] (or [Engine.Run]) the engine. Checks,
// remediations and notifications are plug-ins: [pulse.Checker],
// [intervene.Remediator] and [alert.Notifier], each with a function adapter
// and built-in implementations in its package.
//
// # Codes
//
// An episode starts with the first failed check of a healthy monitor and
// ends when it is healthy again, with exactly one green. Its alerts follow
// a grammar: at most one yellow, first; cyans while repairs run; at most one
// red, then only counted reminders; a flap-start always closed by a
// flap-end. The grammar is written out in full in the engine's episode
// package (internal/episode/doc.go in the source), where a model test
// drives the rules through every sequence of up to eight events.
//
//   - yellow: the first failure, when FailureThreshold > 1.
//   - After FailureThreshold consecutive failures the monitor is down. With
//     a remediator, attempt 1 runs; success raises cyan and the next
//     SuccessThreshold checks verify it (all pass: green; one fails: the
//     next attempt, after a backoff that starts at the interval and
//     doubles). When the attempts are spent, red. Without a remediator,
//     red at once.
//   - SuccessThreshold consecutive passing checks end the episode with
//     green, whatever a remediation is doing; a late remediation result is
//     ignored. A green is sent only for an episode whose notifier was told
//     of it.
//   - gray: [Engine.Pause] or a maintenance window stops a monitor's checks
//     and raises gray once; nothing else is sent until [Engine.Resume] or
//     the window's end. Gray does not end an episode: an outage that spans
//     it is one episode, with one red and one green.
//
// Every alert raised for a notifier has one fate, counted in [Stats]:
// delivered, handed to the [WithUndelivered] hook, or folded into a
// summary while its notifier was behind (see [WithAlertBacklog]).
//
// # Fewer alerts
//
// Per monitor: FailureWindow (X failures in the last Y checks),
// RetryInterval (confirm a failure sooner), RepeatInterval (reminders of a
// red), Flap (while a monitor flaps only a flap-start and a flap-end alert
// are sent; see [FlapThresholds]), DependsOn (a failing parent holds its
// children's alerts and repairs) and Maintenance windows (also over a label
// selector with [Engine.AddMaintenance]). Per engine: [WithGrouping] sends
// the alerts of monitors sharing a label value as one grouped alert.
// Episodes nobody was told of (held by flapping or a parent, or whose
// alerts the notifier does not take) end without a green.
//
// # Scheduling
//
// A monitor's first check runs at a phase within its interval fixed by a
// hash of its name, so a fleet spreads evenly and keeps its spread across
// restarts. Checks are due at fixed multiples of the interval from there; a
// check still running when the next is due makes that one skip (counted in
// [Stats]). Scheduling costs time in proportion to what is due, not to the
// number of monitors.
//
// # Lifecycle
//
// [New] starts nothing. [Engine.Start] starts the loop and the workers;
// [Engine.Shutdown] stops scheduling, waits for checks and remediations in
// flight, delivers queued alerts, and returns ctx.Err() if its context ends
// first; at that deadline, alerts still on the way go to the
// [WithUndelivered] hook, or with [WithStore] stay in the store for the next
// start. Start on a running engine returns [ErrRunning]; after Shutdown,
// methods return [ErrClosed] (Status, Lookup and Statuses keep answering
// with the final state).
//
// # Finding and listing
//
// [Engine.Lookup] finds a monitor's ID by name. [Engine.Statuses] is an
// iterator over the statuses of the monitors a [StatusFilter] picks (by
// [Condition], label selector and part of the name), read a step at a time
// in the loop so that a listing of a million monitors never holds the loop
// for long nor copies the fleet; its [Cursor] values page through a listing
// across requests. [Engine.Counts] counts the monitors by condition.
// Package statuspage serves all of it as a status page.
//
// # Restarts
//
// With [WithStore] the engine keeps each monitor's episode in a store and
// an outbox of the alerts on their way: a monitor added again after a
// restart, a crash or a kill resumes its episode, and the alerts that were
// on their way go out again with the same [alert.Alert].Key.
// [Engine.Update] changes a monitor's settings and keeps its state in the
// same way.
//
// # Concurrency
//
// Every method is safe for concurrent use. One goroutine, the loop, owns
// all monitor state; workers run plug-ins and never touch it. Plug-in
// calls get a context with a deadline; a call that ignores it is reported
// as a timeout at its deadline and left behind (counted in [Stats]), and a
// panic in a plug-in is recovered and reported as that call's failure.
package cpra
