package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrLimit is wrapped by the Err of an [*Error] for input beyond one of the
// [Limits].
var ErrLimit = errors.New("limit exceeded")

// Limits bound what Load reads, so that a file written by mistake (or by an
// adversary) fails fast with its reason rather than taking the memory and
// time of the machine. The defaults are far above what real files hold.
type Limits struct {
	// FileSize is the largest file, in bytes (default 4 GiB).
	FileSize int64
	// MonitorSize is the largest text of one monitor, and of the top-level
	// maintenance or defaults block, in bytes (default 16 MiB).
	MonitorSize int
	// Values is the largest number of values (mappings, lists and scalars,
	// aliases expanded) in one monitor or block (default 250,000: a monitor
	// may hold some 80,000 labels and more).
	Values int
	// NameLength is the longest monitor name, in bytes (default 1,024).
	NameLength int
}

// Default limits.
const (
	defaultFileSize    = 4 << 30
	defaultMonitorSize = 16 << 20
	defaultValues      = 250_000
	defaultNameLength  = 1024
)

// WithLimits sets the limits of Load; its zero fields keep the defaults.
func WithLimits(l Limits) Option {
	return optionFunc(func(o *options) {
		if l.FileSize > 0 {
			o.limits.FileSize = l.FileSize
		}
		if l.MonitorSize > 0 {
			o.limits.MonitorSize = l.MonitorSize
		}
		if l.Values > 0 {
			o.limits.Values = l.Values
		}
		if l.NameLength > 0 {
			o.limits.NameLength = l.NameLength
		}
	})
}

var defaultLimits = Limits{
	FileSize:    defaultFileSize,
	MonitorSize: defaultMonitorSize,
	Values:      defaultValues,
	NameLength:  defaultNameLength,
}

// limitError is input beyond a limit, at a line (0: unknown).
type limitError struct {
	line int
	msg  string
}

func (e *limitError) Error() string { return e.msg }
func (e *limitError) Is(target error) bool {
	return target == ErrLimit
}

// sizeText writes a size in bytes the way people read it.
func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func fileTooLarge(line int, max int64) error {
	return &limitError{line: line, msg: fmt.Sprintf("the file is larger than the limit of %s", sizeText(max))}
}

func monitorTooLarge(max int) error {
	return &limitError{msg: fmt.Sprintf("the text of one monitor is longer than the limit of %s", sizeText(int64(max)))}
}

// limitReader passes on at most max bytes of r, counting lines, and then
// fails with the limit's error if r holds more.
type limitReader struct {
	r     io.Reader
	left  int64
	max   int64
	lines int // newlines passed on
}

func newLimitReader(r io.Reader, max int64) *limitReader {
	return &limitReader{r: r, left: max, max: max}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		for {
			n, err := l.r.Read(one[:])
			if n > 0 {
				return 0, fileTooLarge(l.lines+1, l.max)
			}
			if err != nil {
				return 0, err
			}
		}
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.lines += bytes.Count(p[:n], []byte{'\n'})
	return n, err
}
