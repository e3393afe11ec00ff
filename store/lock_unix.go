//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lock takes an advisory lock on f, shared or exclusive, the kind bbolt
// takes: a shared lock waits while a process has the store open. It gives
// up after timeout with errWouldBlock.
func lock(f *os.File, exclusive bool, timeout time.Duration) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return err
		case time.Now().After(deadline):
			return errWouldBlock
		}
		time.Sleep(lockPoll)
	}
}
