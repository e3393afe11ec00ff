package store

import (
	"fmt"
	"time"
)

// Option configures [Open] and [Reset].
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	lockTimeout time.Duration
	fresh       bool
	err         error
}

// DefaultLockTimeout is how long [Open] and [Reset] wait by default for
// another process to let go of the file.
const DefaultLockTimeout = 2 * time.Second

func newOptions(opts []Option) (*options, error) {
	o := &options{lockTimeout: DefaultLockTimeout}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(o)
		}
	}
	return o, o.err
}

// LockTimeout sets how long [Open] and [Reset] wait for another process
// that holds the file to let go of it before they fail with [ErrLocked].
// It must be positive; the default is [DefaultLockTimeout].
func LockTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d <= 0 {
			if o.err == nil {
				o.err = fmt.Errorf("store: LockTimeout: %v is not positive", d)
			}
			return
		}
		o.lockTimeout = d
	})
}

// Fresh makes [Open] start with an empty store when the file is corrupt
// (a [CorruptError]) or written by a newer version ([ErrNewerVersion]),
// instead of failing. The file is not deleted: it is moved aside as
// [Reset] does, and [File.MovedAside] tells where and why. Other errors,
// such as [ErrLocked] or a missing directory, still fail.
func Fresh() Option {
	return optionFunc(func(o *options) { o.fresh = true })
}
