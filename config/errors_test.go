package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestErrorMessages")

// TestErrorMessages loads each file of testdata/errors and compares the
// error text with the .golden file beside it.
func TestErrorMessages(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range files {
		if strings.HasSuffix(path, ".golden") {
			continue
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := LoadFile(path, WithOpenLog(newMemLogs().open), env())
			if err == nil {
				f.Close()
				t.Fatal("loaded without error")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %T %v, want Errors", err, err)
			}
			for i := 1; i < len(es); i++ {
				if es[i].Line != 0 && es[i].Line < es[i-1].Line {
					t.Errorf("errors not sorted by line: %d after %d", es[i].Line, es[i-1].Line)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(path, filepath.Ext(path)) + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
	if n < 5 {
		t.Fatalf("found %d test files", n)
	}
}
