package intervene

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// helperEnv selects what the test binary does when run as a child by the
// exec tests instead of running the tests.
const helperEnv = "CPRA_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	goleak.VerifyTestMain(m)
}

// helper is the child program of the exec tests.
func helper(mode string) int {
	switch mode {
	case "env":
		// Record the arguments and the environment for the test to check.
		var b strings.Builder
		for _, a := range os.Args[1:] {
			b.WriteString("arg=" + strconv.Quote(a) + "\n")
		}
		for _, e := range os.Environ() {
			b.WriteString("env=" + strconv.Quote(e) + "\n")
		}
		if err := os.WriteFile(os.Getenv("CPRA_TEST_OUT"), []byte(b.String()), 0o600); err != nil {
			return 10
		}
		return 0
	case "exit":
		fmt.Fprintln(os.Stderr, "restart failed: unit not found")
		code, _ := strconv.Atoi(os.Getenv("CPRA_TEST_CODE"))
		return code
	case "flood":
		fmt.Print("HEAD-")
		fmt.Print(strings.Repeat("x", 1<<20))
		fmt.Print("-TAIL")
		return 1
	case "hang":
		// Start a grandchild in the same process group, then wait forever.
		self, _ := os.Executable()
		gc := exec.Command(self)
		gc.Env = []string{helperEnv + "=grandchild", "CPRA_TEST_FIFO=" + os.Getenv("CPRA_TEST_FIFO")}
		if err := gc.Start(); err != nil {
			return 11
		}
		time.Sleep(time.Hour)
		return 0
	case "grandchild":
		// Hold the fifo open for writing for as long as this process lives:
		// the test sees end-of-file only once it is dead.
		f, err := os.OpenFile(os.Getenv("CPRA_TEST_FIFO"), os.O_WRONLY, 0)
		if err != nil {
			return 12
		}
		fmt.Fprintf(f, "%d\n", os.Getpid())
		time.Sleep(time.Hour)
		return 0
	case "sleep":
		time.Sleep(time.Hour)
		return 0
	}
	return 99
}

// self is the test binary, run as a child program.
func self(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err = filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
