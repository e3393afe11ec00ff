//go:build unix

package pulse

import (
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// killGroupOnCancel makes cmd (built with exec.CommandContext) start in a
// new process group and, when its context ends before it exits, kills the
// whole group with SIGKILL.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The group's id is the leader's pid. It stays reserved while any
		// member of the group lives, even after the leader exits; when none
		// does, there is nothing to kill.
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return err
	}
	// A child that left the group could hold the output pipes open; stop
	// waiting for them shortly after the kill.
	cmd.WaitDelay = time.Second
}

// killGroup kills the process group pgid, ignoring its absence.
func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
