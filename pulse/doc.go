// Package pulse defines the health check plug-in of CPRA: the [Checker]
// interface and its function adapter [CheckerFunc].
//
// # Overview
//
// A pulse is one periodic health check of one monitor. The engine calls
// [Checker.Check] on its worker pool with a context whose deadline is the
// monitor's Timeout; the returned error decides whether the check passed.
//
// # Concurrency
//
// Checks run on many goroutines at once. A Checker value used by a single
// monitor is never called concurrently with itself; a value shared between
// monitors is, and must be safe for that.
package pulse
