//go:build !unix

package proc

import (
	"os"
	"os/exec"
)

// ownGroup does nothing: process groups are a Unix notion.
func ownGroup(*exec.Cmd) {}

// kill kills the program only; processes it started may outlive it.
func kill(p *os.Process) error { return p.Kill() }

// endGroup does nothing: there is no group to end.
func endGroup(int) {}

// signalOf returns nil: programs are not ended by signals here.
func signalOf(*os.ProcessState) os.Signal { return nil }
