package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary documents to Load: it must not panic, and every
// error must name a field, or be a syntax error with a line, or concern a
// monitor as a whole at its line.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/errors/*.*")
	for _, p := range append(seeds, more...) {
		if strings.HasSuffix(p, ".golden") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var gen bytes.Buffer
	Generate(&gen, Fleet{Count: 3, BaseURL: "http://127.0.0.1:1", AlertLog: "a.log", Remediate: true})
	f.Add(gen.Bytes())
	f.Add([]byte(defaultsYAML))
	f.Add([]byte(`{"monitors":[{"name":"a","pulse_check":{"type":"tcp","config":{"address":"h:1"}}}]}`))
	f.Add([]byte("monitors:\n- name: a\n  pulse_check:\n    type: dns\n    config:\n      name: \"x\\u0041\"\n      record_type: 'mx'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		logs := newMemLogs()
		file, err := Load(bytes.NewReader(data), WithOpenLog(logs.open), env(), WithStdout(io.Discard), WithWorkers(2))
		if err == nil {
			if file == nil {
				t.Fatal("no file and no error")
			}
			if len(file.Monitors) != len(file.Digests) {
				t.Fatalf("%d monitors, %d digests", len(file.Monitors), len(file.Digests))
			}
			for _, m := range file.Monitors {
				if m.Name == "" || m.Check == nil {
					t.Fatalf("incomplete monitor %+v", m)
				}
			}
			file.Close()
			return
		}
		if file != nil {
			t.Fatal("a file and an error")
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("got %T %v, want Errors", err, err)
		}
		for _, e := range es {
			switch {
			case e.Field != "":
			case errors.Is(e, ErrSyntax) && e.Line > 0:
			case e.Index >= 0 && e.Line > 0:
			case e.Index == -1 && e.Line > 0:
			case strings.HasPrefix(e.Error(), "and "):
			default:
				t.Fatalf("error without a field or a line: %q", e)
			}
			if e.Err == nil {
				t.Fatalf("error without a cause: %+v", e)
			}
		}
	})
}
