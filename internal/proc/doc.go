// Package proc runs one program for a health check or a repair: the one
// process runner behind pulse.Exec and intervene.Exec.
//
// # What a run does
//
// [Cmd.Run] starts the program directly (no shell) with an explicit
// environment, empty standard input, and standard output and error joined
// into one pipe. On Unix the program leads a process group of its own, and
// the run ends the whole group:
//
//   - when the context ends while the program runs, the group is killed with
//     SIGKILL at once;
//   - when the program exits, whatever it left running in its group is
//     killed the same way, unless [Cmd.LeaveRunning] is set.
//
// A process that leaves the group (setsid, or a new group of its own) is
// out of reach; so is everything outside Unix, where only the program
// itself is killed at the context's end.
//
// # Output
//
// Standard output and error are read through one pipe and only their last
// [Cmd.OutputCap] bytes are kept ([DefaultOutputCap] unless set), with a
// count of the bytes dropped before them: the end of a program's output is
// where it says why it failed. The run waits for the pipe to close, so that
// the output is complete, but never long: once the program has exited (and
// its group was killed) it stops reading after [OutputWait], so a process
// that escaped the group and still holds the pipe cannot make the run hang.
//
// # Errors
//
// A run that fails returns an [*Error]: the exit status, or the signal that
// ended the program, or that the context ended first, or why the program did
// not start, and the kept output.
package proc
