package store

import (
	"errors"
	"fmt"
)

// CorruptError reports a file that cannot be read as a store: truncated,
// damaged, or not a store file at all. [Open] returns it before it changes
// anything in the file; [Fresh] or [Reset] move such a file aside.
type CorruptError struct {
	// Path is the file.
	Path string
	// Offset is the byte in the file where the damage was found, or -1
	// when that is not known.
	Offset int64
	// Err says what is wrong.
	Err error
}

func (e *CorruptError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("store: %s is corrupt: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("store: %s is corrupt at offset %d: %v", e.Path, e.Offset, e.Err)
}

// Unwrap returns e.Err.
func (e *CorruptError) Unwrap() error { return e.Err }

// ErrNewerVersion is wrapped by the [VersionError] that [Open] returns for a
// file written in a format newer than this build reads.
var ErrNewerVersion = errors.New("written by a newer version")

// VersionError reports a file written in a format newer than this build
// reads. [Open] refuses such a file and leaves it as it is: a newer build
// may still read it. It wraps [ErrNewerVersion].
type VersionError struct {
	// Path is the file.
	Path string
	// Version is the format version of the file.
	Version uint32
	// Supported is the newest format version this build reads.
	Supported uint32
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("store: %s is %v: format version %d, this build reads versions up to %d",
		e.Path, ErrNewerVersion, e.Version, e.Supported)
}

// Unwrap returns [ErrNewerVersion].
func (e *VersionError) Unwrap() error { return ErrNewerVersion }

// ErrLocked is wrapped by the error [Open] and [Reset] return when another
// process holds the file and did not let go of it within the lock timeout
// (see [LockTimeout]).
var ErrLocked = errors.New("locked by another process")

// ErrClosed is returned by the methods of a [File] after [File.Close].
var ErrClosed = errors.New("store: closed")

func lockedError(path string, o *options) error {
	return fmt.Errorf("store: %s: %w (waited %v)", path, ErrLocked, o.lockTimeout)
}
