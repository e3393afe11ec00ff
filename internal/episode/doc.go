// Package episode is the life of one monitor as a pure function: [Step]
// takes the monitor's [State], its [Settings] and one [Event] (a check
// result, a remediation outcome, a pause, a maintenance window, a removal)
// and returns the next state and the [Effects] the engine must carry out
// (alerts to send, an attempt to start, a check to reschedule). Step does
// no I/O, reads no clock and draws no random number: time and chance come
// in the event, so the rules can be driven through every sequence of
// events by a test.
//
// The engine's loop owns the states. For each event it loads the state,
// steps, stores the result once and carries out the effects. Two inputs
// are costly to gather and needed rarely, the parents' health and the
// remediation budget's verdict: Step asks for them with [Effects.Need],
// and the loop steps again from the same state with them filled in.
//
// # Episodes
//
// An episode starts with the first failed check of a healthy monitor (or
// with the start of a spell of flapping) and ends when the monitor is
// healthy again: SuccessThreshold passing checks in a row (the policy's
// Verify count after a successful repair), or the monitor's removal. Its
// identity is its start time, [Ep.Start]; every alert of the episode
// carries it.
//
// An alert is raised when the rules call for it and sent when the
// monitor's notifier takes its code ([Settings.Routes]). An episode is
// told once one of its alerts was sent; a green is sent only for a told
// episode, so no receiver hears of a recovery from something it never
// heard of.
//
// # Grammar
//
// Write the alerts sent for one monitor as letters: Y yellow, C cyan, R red,
// r a reminder of the red (Alert.Repeat 1, 2, 3 ...), G green, S flap-start,
// Eg, Ey and Er the flap-end with code green, yellow and red, X gray when
// the monitor is paused or enters maintenance, and Xr the gray of its
// removal. Each told episode, with every X taken out, is one of
//
//	Y? C* ( R r* )? ( S spell )* close
//
//	spell = Eg                          (the episode closes)
//	      | Ey C* ( R r* )?             (only if no R came before the spell)
//	      | Er r*
//	close = G | Eg | Xr
//
// where a spell that ends in Eg ends the episode, so it is the last. In
// words: at most one yellow, first; no cyan after a red; at most one plain
// red, then only counted reminders; a flap-start is always followed by a
// flap-end, and nothing but gray comes between them; the episode ends with
// exactly one green (plain or flap-end), or with the gray of the monitor's
// removal. Alerts whose code the notifier does not take are left out of
// the word, except that a green is never sent for an episode that was not
// told.
//
// Gray is sent once when a monitor goes quiet (paused, or its first
// maintenance window opens), also between episodes. It does not end an
// episode: an outage that spans a pause or a window is one episode for the
// receiver, with one red and one green. While the monitor is quiet its
// checks do not run and nothing else is sent; a remediation already
// running completes and its outcome is kept, and the monitor resumes where
// it was.
//
// # Holds
//
// A failing monitor is held while it flaps (see [Settings.FlapHigh]) or
// while one of its parents is failing, down or in maintenance. A held
// monitor tells nothing but the flap-start and flap-end alerts, starts no
// remediation, and defers going down: when the hold ends, the incident
// opens then (a repair attempt or a red). A parent whose last result is
// older than the child's episode is checked at once ([Effects.CheckParents])
// and holds the child until it is.
//
// # Remediation
//
// When a monitor with a remediator goes down, attempt 1 starts, unless a
// cooldown defers it, or the budget's verdict (the monitor's own limit,
// the fleet's and its group's) denies it: then the monitor is red with the
// reason and a later failing check tries again once the verdict allows.
// A successful attempt raises cyan and the next checks verify it; a failed
// attempt, or a failed verification, waits a backoff (from the interval,
// doubling, with jitter) before the next attempt, and once the attempts
// are spent the monitor is red. Passing checks end the episode whatever a
// remediation is doing; an outcome that arrives for an attempt of an
// episode that is over, or for an attempt that is not the current one,
// changes nothing. An attempt a cluster fenced off before it ran
// ([FixFenced]: the engine was handing the monitor's shard over, or could
// not renew its claim) does not count: it tells nothing, and the next
// failing check starts it again, with the same number, wherever the
// monitor runs then.
//
// # Restarts
//
// The engine may keep each monitor's state in a store and resume it after
// a restart ([Restart]): the episode goes on with its identity, what it
// told and its attempts, so an outage that spans a restart is still one
// episode with one red and one green. An attempt that was running when the
// engine stopped counts as failed, and the attempts go on counting. The
// counters of passes and failures and the recent results start again.
package episode
