//go:build linux

package pulse

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestExecKillsProcessGroup runs a script that starts a grandchild and
// hangs; at the timeout both must be gone, and no live process may remain
// in the script's process group.
func TestExecKillsProcessGroup(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pids")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	c := MustExec("/bin/sh", []string{"-c", `sleep 600 & echo "$$ $!" > "$1"; wait`, "sh", fifo},
		WithTimeout(2*time.Second))

	type pids struct{ leader, child int }
	got := make(chan pids, 1)
	go func() {
		// Opening the FIFO blocks until the script opens it for writing.
		f, err := os.Open(fifo)
		if err != nil {
			close(got)
			return
		}
		defer f.Close()
		line, _ := bufio.NewReader(f).ReadString('\n')
		var p pids
		fields := strings.Fields(line)
		if len(fields) == 2 {
			p.leader, _ = strconv.Atoi(fields[0])
			p.child, _ = strconv.Atoi(fields[1])
		}
		got <- p
	}()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Check(ctx) }()

	var (
		p  pids
		ok bool
	)
	select {
	case p, ok = <-got:
	case err := <-done:
		// The script ended before reporting; unblock the reader and fail.
		if w, werr := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); werr == nil {
			w.Close()
		}
		<-got
		t.Fatalf("check returned %v before the script reported its pids", err)
	}
	if !ok || p.leader == 0 || p.child == 0 {
		t.Fatalf("did not learn the script's pids (got %+v)", p)
	}
	// Watch the grandchild with a pidfd while it surely lives.
	pidfd, err := unix.PidfdOpen(p.child, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", p.child, err)
	}
	defer unix.Close(pidfd)

	wantErr(t, <-done, "timeout after 2s")

	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 5000) // readable once the process has exited
	if err != nil || n != 1 {
		t.Fatalf("grandchild %d still running after the check returned (poll: %d, %v)", p.child, n, err)
	}
	if live := liveInGroup(t, p.leader); len(live) > 0 {
		t.Errorf("processes %v still live in process group %d", live, p.leader)
	}
}

// liveInGroup lists the processes of group pgid that are not zombies.
func liveInGroup(t *testing.T, pgid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var live []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
		f := strings.Fields(rest)
		if len(f) < 3 {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid && f[0] != "Z" && f[0] != "X" {
			live = append(live, pid)
		}
	}
	return live
}
