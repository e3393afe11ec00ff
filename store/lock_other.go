//go:build !unix

package store

import (
	"os"
	"time"
)

// lock does nothing where advisory locks are not flock: bbolt's own lock,
// taken when the store opens, still keeps a second process out.
func lock(*os.File, bool, time.Duration) error { return nil }
