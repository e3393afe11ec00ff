// Package intervene defines the remediation plug-in of CPRA: the
// [Remediator] interface, its function adapter [RemediatorFunc] and the
// [Incident] a remediator is given.
//
// # Overview
//
// When a monitor goes down and has a Remediator, the engine runs a
// remediation attempt on its intervention pipeline. A successful attempt is
// reported as cyan and then verified by the next checks; a failed one is
// retried with a doubling backoff until the monitor's attempt budget is
// spent, after which the monitor is reported red.
//
// # Concurrency
//
// Remediations of different monitors run in parallel; one monitor never has
// two attempts running at once.
package intervene
