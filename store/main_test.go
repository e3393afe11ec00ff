package store

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/ziad/cpra"
	"go.uber.org/goleak"
)

// fixtures are the files the benchmarks share within a run.
var fixtures struct {
	sync.Mutex
	dir   string
	built map[string]string // name → path
	open  map[string]*File  // kept open across runs: the write benchmarks
}

func cleanupFixtures() {
	fixtures.Lock()
	defer fixtures.Unlock()
	for _, f := range fixtures.open {
		f.Close()
	}
	if fixtures.dir != "" {
		os.RemoveAll(fixtures.dir)
	}
}

// crashKeys is how many keys each batch of the writer child sets.
const crashKeys = 300

// childEnv names the role a copy of the test binary plays as a child
// process; its argument is in childArg.
const (
	childEnv = "STORE_TEST_CHILD"
	childArg = "STORE_TEST_ARG"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(child(role, os.Getenv(childArg)))
	}
	code := m.Run()
	cleanupFixtures()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// child plays a role in a child process and returns its exit code.
func child(role, path string) int {
	switch role {
	case "hold":
		// Opens the store, says so, and holds it until stdin closes.
		f, err := Open(path)
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("ready")
		_, _ = io.Copy(io.Discard, os.Stdin)
		if err := f.Close(); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		return 0
	case "writer":
		// Writes batch after batch, each setting crashKeys keys to the
		// batch's number, and prints each number once its Write
		// has returned; until killed.
		f, err := Open(path)
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		out := bufio.NewWriter(os.Stdout)
		next := uint64(0)
		_ = f.Load(func(k, v []byte) error {
			if n, err := strconv.ParseUint(string(v), 10, 64); err == nil && n+1 > next {
				next = n + 1
			}
			return nil
		})
		for n := next; ; n++ {
			changes := make([]cpra.Change, crashKeys)
			for i := range changes {
				changes[i] = cpra.Change{Key: fmt.Appendf(nil, "k%03d", i), Value: fmt.Appendf(nil, "%040d", n)}
			}
			if err := f.Write(changes); err != nil {
				fmt.Println("error:", err)
				return 1
			}
			fmt.Fprintln(out, n)
			out.Flush()
		}
	}
	fmt.Println("unknown role", role)
	return 2
}
