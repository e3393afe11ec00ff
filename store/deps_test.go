package store

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreDoesNotLinkBbolt: an embedder that keeps no state imports only
// package cpra, and must not link bbolt.
func TestCoreDoesNotLinkBbolt(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command here")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/ziad/cpra").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "go.etcd.io/bbolt") || dep == "github.com/ziad/cpra/store" {
			t.Errorf("package cpra depends on %s", dep)
		}
	}
}
