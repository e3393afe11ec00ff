package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// DefaultOutputCap is how many bytes of output a run keeps unless
// [Cmd.OutputCap] says otherwise.
const DefaultOutputCap = 4 << 10

// MaxOutputCap is the largest output cap a built-in accepts.
const MaxOutputCap = 1 << 20

// OutputWait bounds how long a run keeps reading the output pipe after the
// program has exited, for processes that still hold it open.
const OutputWait = time.Second

// Cmd describes a program to run. Its zero value is not usable: Path must be
// set.
type Cmd struct {
	// Path is the program. A path without a separator is looked up in PATH
	// when the program starts.
	Path string
	// Args are the program's arguments, Args[0] (its name) included; nil
	// means Path alone.
	Args []string
	// Env is the program's whole environment, "KEY=value" entries; nil
	// means an empty one, never this process's.
	Env []string
	// Dir is the working directory; "" means this process's.
	Dir string
	// OutputCap is how many bytes of the combined output are kept, the
	// last ones; 0 means [DefaultOutputCap], a negative value none.
	OutputCap int
	// LeaveRunning leaves the processes the program started running after
	// it exits, instead of killing its process group. At the context's end
	// the group is killed all the same.
	LeaveRunning bool
}

// Error reports a run that failed. pulse.ExecError and
// intervene.ExecError are this type.
type Error struct {
	// Path is the program.
	Path string
	// ExitCode is the program's exit status, or -1 when it did not exit by
	// itself: ended by a signal, killed, or not started.
	ExitCode int
	// Signal is the signal that ended the program, nil if none (always nil
	// outside Unix).
	Signal os.Signal
	// Killed reports that the context ended before the program exited, so
	// its process group was killed (or before it started, so it was not
	// started); Err is then the context's error, or in pulse the check's
	// timeout error.
	Killed bool
	// Output is the end of what the program wrote to standard output and
	// standard error, combined, trimmed of surrounding white space.
	Output string
	// Dropped is how many bytes the program wrote before Output that were
	// not kept.
	Dropped int64
	// Err is the cause: an [*exec.ExitError], the error that kept the
	// program from starting, or the context's error.
	Err error
}

// Error says what failed and quotes the output:
//
//	exec /usr/local/bin/restart: exit status 3: output: "unit not found"
//	exec /bin/sh: killed: context deadline exceeded
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("exec ")
	b.WriteString(e.Path)
	if e.Killed {
		b.WriteString(": killed")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	switch {
	case e.Output != "":
		b.WriteString(": output")
		if e.Dropped > 0 {
			fmt.Fprintf(&b, " (%d earlier bytes dropped)", e.Dropped)
		}
		b.WriteString(": ")
		b.WriteString(strconv.Quote(e.Output))
	case e.Dropped > 0:
		fmt.Fprintf(&b, ": output not kept (%d bytes)", e.Dropped)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the program was killed at its context's
// deadline.
func (e *Error) Timeout() bool {
	return e.Killed && errors.Is(e.Err, context.DeadlineExceeded)
}

// Run runs the program once and waits for it: nil when it exits with
// status 0, an [*Error] otherwise. Whatever the outcome, when Run returns
// the program has exited and, unless LeaveRunning is set, the processes of
// its group have been sent SIGKILL. Run is safe for concurrent use.
func (c *Cmd) Run(ctx context.Context) error {
	fail := &Error{Path: c.Path, ExitCode: -1}
	if err := ctx.Err(); err != nil {
		fail.Killed, fail.Err = true, err
		return fail
	}
	cmd := exec.CommandContext(ctx, c.Path)
	if c.Args != nil {
		cmd.Args = c.Args
	}
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = c.Dir
	ownGroup(cmd)
	var killed atomic.Bool
	cmd.Cancel = func() error {
		err := kill(cmd.Process)
		if err == nil {
			killed.Store(true)
		}
		return err
	}

	// One pipe for both streams, passed as a file: the program writes to it
	// directly and Wait returns when the program exits, whoever else still
	// holds the pipe.
	pr, pw, err := os.Pipe()
	if err != nil {
		fail.Err = err
		return fail
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		fail.Err = err
		return fail
	}
	out := newTail(c.OutputCap)
	read := make(chan struct{})
	go func() {
		defer close(read)
		out.readFrom(pr)
	}()

	waitErr := cmd.Wait()
	if !c.LeaveRunning {
		endGroup(cmd.Process.Pid)
	}
	// The group's members die with their ends of the pipe; a process that
	// left the group may hold it for good.
	t := time.NewTimer(OutputWait)
	select {
	case <-read:
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	pr.Close() // unblocks the reader
	<-read

	ps := cmd.ProcessState
	if !killed.Load() && ps != nil && ps.Success() {
		return nil
	}
	fail.Output, fail.Dropped = out.text()
	fail.Err = waitErr
	if ps != nil {
		fail.ExitCode = ps.ExitCode()
		fail.Signal = signalOf(ps)
	}
	if killed.Load() {
		fail.Killed = true
		if err := ctx.Err(); err != nil {
			fail.Err = err
		}
	}
	return fail
}

// tail keeps the last bytes written to it in a ring. Only the reader
// goroutine writes to it, and the run reads it after that goroutine ends.
type tail struct {
	buf   []byte // at most cap bytes; once full, a ring starting at start
	start int
	cap   int
	total int64
}

func newTail(capacity int) *tail {
	switch {
	case capacity == 0:
		capacity = DefaultOutputCap
	case capacity < 0:
		capacity = 0
	}
	return &tail{cap: capacity}
}

// write keeps the end of p.
func (t *tail) write(p []byte) {
	t.total += int64(len(p))
	if t.cap == 0 {
		return
	}
	if len(p) >= t.cap {
		t.buf = append(t.buf[:0], p[len(p)-t.cap:]...)
		t.start = 0
		return
	}
	if room := t.cap - len(t.buf); room > 0 {
		k := min(room, len(p))
		t.buf = append(t.buf, p[:k]...)
		p = p[k:]
	}
	for len(p) > 0 { // the ring is full: overwrite the oldest bytes
		n := copy(t.buf[t.start:], p)
		p = p[n:]
		t.start = (t.start + n) % t.cap
	}
}

// readFrom reads r to its end or first error.
func (t *tail) readFrom(r *os.File) {
	buf := make([]byte, 8<<10)
	for {
		n, err := r.Read(buf)
		t.write(buf[:n])
		if err != nil {
			return
		}
	}
}

// text returns the kept output, valid UTF-8 and trimmed, and how many bytes
// came before it. When bytes were dropped it starts at a rune boundary.
func (t *tail) text() (string, int64) {
	kept := make([]byte, 0, len(t.buf))
	kept = append(kept, t.buf[t.start:]...)
	kept = append(kept, t.buf[:t.start]...)
	dropped := t.total - int64(len(kept))
	if dropped > 0 {
		for i := 0; i < utf8.UTFMax-1 && len(kept) > 0 && !utf8.RuneStart(kept[0]); i++ {
			kept = kept[1:]
			dropped++
		}
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(kept), "\uFFFD")), dropped
}
