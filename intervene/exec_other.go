//go:build !unix

package intervene

import "os/exec"

// ownProcessGroup does nothing where process groups are not available: a
// done context kills the program itself (exec.CommandContext's default),
// not the processes it started.
func ownProcessGroup(*exec.Cmd) {}
