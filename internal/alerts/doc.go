// Package alerts is the engine's alert path: from an alert raised by a
// monitor's episode machine to its one fate, delivered to the notifier or
// handed to the dead-letter hook.
//
// # Lanes
//
// Each monitor with alerts on the way has a lane: its alerts in order,
// one delivery at a time, so a green never overtakes its red. A delivery
// is a goroutine of its own that calls the notifier, retries what it may
// retry, and reports back to the engine's loop, which owns every lane.
//
// A backlog is mostly one alert per monitor, so a monitor whose one
// alert on the way is waiting has no lane: the alert waits, packed, in
// its sink's queue itself. The monitor gets a lane when a second alert is
// raised behind it, when it is removed, or when its alert goes in flight.
// A lane's next alert waits in the queue too, as an alert of its own: the
// first alert stays there when a second is raised, and the next one goes
// there when the one before is sent. Only a collapse moves it into the
// lane, which then takes its place in the queue. Lanes and lone alerts
// are found by monitor in tables of pointers that shrink as they empty,
// so that a backlog's memory goes back once it has drained.
//
// # Sinks
//
// Lanes that share a notifier share a sink, which bounds the deliveries
// in flight to that notifier (Config.PerNotifier). A notifier that hangs
// holds only its own sink's deliveries; other notifiers go on. Lanes wait
// for their sink's turn in two queues, red and yellow alerts ahead of the
// others.
//
// # Deadlines
//
// A call gets the notify timeout as its context's deadline. Its own
// result wins: a nil returned is a delivery, whenever it comes. A call
// still running at its deadline is waited for, holding its lane, until it
// returns or a hard limit (twice the timeout) passes; only then is it
// left behind, counted as abandoned, and treated as a failed try. So calls
// of one monitor never overlap and never reorder unless a notifier ignores
// its context for longer than the hard limit.
//
// # Backlog
//
// A lane holds at most Config.PerMonitor waiting alerts, and all lanes
// together at most Config.Memory bytes of them, each counted as 96 bytes:
// about what one takes on the heap (see waitCost). A lane over its bound is
// collapsed: runs of repeated alerts in one episode (reminders, cyans)
// keep their last, and whole episodes that are waiting from their first
// alert to their green become one summary episode (its first red, or
// first alert, and its green, both with the identity of the first
// episode and Alert.Skipped counting the episodes it stands for). The
// latest state is never dropped. When the memory bound is reached and
// nothing more can be collapsed, a new alert is handed to the dead-letter
// hook at once.
//
// # Groups
//
// With a group label, alerts with one code of monitors sharing a label
// value and a sink, raised within the group wait of the first, go out as
// one alert. A monitor joins only groups newer than every group already
// in its lane, so groups never wait on each other.
//
// # Shutdown
//
// Draining sends open groups at once and goes on delivering. At the
// shutdown deadline every alert still waiting, and every delivery still
// running after a short grace, is handed to the dead-letter hook: each
// alert has exactly one fate, and the counters say which.
package alerts
