//go:build unix

package intervene

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup starts the program in a new process group and makes a
// done context kill the whole group, so nothing it spawned outlives it.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The group id is the program's pid; a negative pid names the group.
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if err == syscall.ESRCH {
			return nil
		}
		return err
	}
}
