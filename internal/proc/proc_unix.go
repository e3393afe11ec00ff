//go:build unix

package proc

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup starts the program as the leader of a new process group, whose
// id is the program's pid.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// kill kills the group p leads, p included. p has not been waited for, so
// the group id cannot belong to anyone else.
func kill(p *os.Process) error {
	return syscall.Kill(-p.Pid, syscall.SIGKILL)
}

// endGroup kills what is left of the group pgid once its leader has exited
// and been waited for. The id stays reserved while any member lives; when
// none does, the kill finds no one (a new group could take the id only
// after the process ids wrapped around in between).
func endGroup(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// signalOf returns the signal that ended the program, or nil.
func signalOf(ps *os.ProcessState) os.Signal {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal()
	}
	return nil
}
