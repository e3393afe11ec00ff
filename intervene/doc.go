// Package intervene defines the remediation plug-in of CPRA: the
// [Remediator] interface, its function adapter [RemediatorFunc], the
// [Incident] a remediator is given, and the built-in remediators.
//
// # Overview
//
// When a monitor goes down and has a Remediator, the engine runs a
// remediation attempt on its intervention pipeline. A successful attempt is
// reported as cyan and then verified by the next checks; a failed one is
// retried with a doubling backoff until the monitor's attempt budget is
// spent, after which the monitor is reported red.
//
// # Built-in remediators
//
//   - [Exec] runs a program directly (never through a shell) with the
//     incident in CPRA_* environment variables and an otherwise explicit
//     environment. On Unix its whole process group is killed when the
//     context ends and, unless [WithLeaveRunning], when the program exits;
//     the end of its output goes into the [*ExecError].
//   - [HTTP] calls a webhook or an orchestration API with the incident as a
//     JSON [Payload].
//   - [DockerRestart] restarts a container through the Docker Engine API on
//     its unix socket.
//   - [DockerUpdate] changes a running container's CPU and memory limits, and
//     [DockerScale] a swarm service's replica count (a number, or a step up
//     to a ceiling): the scale remediations. The Docker remediators negotiate
//     the API version with each daemon once (Docker 20.10 and later).
//
// Each makes one attempt per call and honours its context. Their
// constructors check arguments and options once and fail with [ErrConfig];
// an [Option] given to a remediator it does not apply to is such an error.
// How often, how fast and how many attempts run is the engine's policy, not
// theirs.
//
// # Secrets
//
// [HTTP] never prints the user information, path or query of its URL nor
// its header values, in errors or when printed with any fmt verb; a
// server's answer quoted in a [*StatusError] is scrubbed of them first,
// also when the server echoes them escaped or in base64.
//
// # Concurrency
//
// Remediations of different monitors run in parallel; one monitor has two
// attempts running at once only while an attempt the engine abandoned at
// its deadline still runs (see [Remediator]). The built-in remediators are
// safe for concurrent use and honour their context.
package intervene
