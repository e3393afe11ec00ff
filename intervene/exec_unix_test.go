//go:build unix

package intervene

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExecKillsProcessGroup runs a program that starts a grandchild and
// hangs. When the context is done, the grandchild must die with it: it holds
// a fifo open for writing, so the test reads end-of-file once it is gone.
func TestExecKillsProcessGroup(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "ready")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Exec(self(t), nil, WithEnv(helperEnv, "hang"), WithEnv("CPRA_TEST_FIFO", fifo))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Remediate(ctx, incident()) }()

	// Opening the fifo for reading blocks until the grandchild opens it.
	opened := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_RDONLY, 0)
		if err != nil {
			t.Error(err)
		}
		opened <- f
	}()
	var f *os.File
	select {
	case f = <-opened:
	case err := <-done:
		t.Fatalf("Remediate returned %v before the grandchild started", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the grandchild did not start")
	}
	if f == nil {
		t.FailNow()
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(line))

	cancel()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Remediate did not return after the context was canceled")
	}
	var xe *ExecError
	if !errors.As(err, &xe) || !xe.Killed || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want a killed *ExecError", err)
	}

	_ = f.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, f); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL) // do not leave it behind
		t.Fatalf("grandchild %d still holds the fifo open: %v", pid, err)
	}
}
