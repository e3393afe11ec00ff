//go:build !unix

package pulse

import (
	"os/exec"
	"time"
)

// killGroupOnCancel leaves exec.CommandContext's default, killing only the
// program when its context ends: process groups are a Unix notion, so
// children the program started may outlive the check.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.WaitDelay = time.Second
}

// killGroup does nothing: there are no process groups to kill.
func killGroup(int) {}
