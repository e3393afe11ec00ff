//go:build !unix

package config

import (
	"testing"
	"time"
)

// cpuTime is 0 where the process's CPU time is not read.
func cpuTime(testing.TB) time.Duration { return 0 }
