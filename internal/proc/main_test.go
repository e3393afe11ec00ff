package proc

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a test leaves a goroutine behind: a run's
// output reader must end with the run.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
