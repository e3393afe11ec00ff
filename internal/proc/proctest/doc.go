// Package proctest finds, in /proc, the processes a test started, so that
// tests of programs run by pulse.Exec and intervene.Exec can tell whether
// anything outlived a run. Processes are told apart by an environment
// entry unique to the test ([Mark]), which their children inherit, so tests
// running in parallel do not see each other's processes. It works on Linux
// only.
package proctest
