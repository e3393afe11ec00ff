package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// outcome describes a load for comparison: its monitors (name, line,
// digest), disabled monitors, maintenances and warnings, or its errors.
func outcome(f *File, err error) string {
	var b strings.Builder
	if err != nil {
		var es Errors
		if !errors.As(err, &es) {
			return "error: " + err.Error()
		}
		for _, e := range es {
			b.WriteString(e.Error())
			b.WriteByte('\n')
		}
		return b.String()
	}
	for i, m := range f.Monitors {
		fmt.Fprintf(&b, "%q line %d digest %x\n", m.Name, f.pos[i].line, f.Digests[i])
	}
	fmt.Fprintf(&b, "disabled %q, maintenance %d\n", f.Disabled, len(f.Maintenance))
	for _, w := range f.Warnings {
		b.WriteString("warning " + w.Error() + "\n")
	}
	return b.String()
}

// FuzzReadersAgree loads each input with the fast block-YAML reader and
// with the YAML library alone: both must give the same monitors, or the
// same errors at the same lines, with the default limits and with a low
// limit on values. Every monitor the fast reader reads must also be read by
// the library into the same tree, lines included.
func FuzzReadersAgree(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/errors/*.yaml")
	for _, p := range append(seeds, more...) {
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
	for _, seed := range fastSeeds {
		f.Add([]byte(seed))
	}
	f.Add([]byte("monitors:\n- \x1c\n"))
	f.Add([]byte("monitors:\n-\n 0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		load := func(libraryOnly bool, values int) string {
			opts := []Option{WithOpenLog(newMemLogs().open), env(), WithStdout(io.Discard), WithWorkers(1),
				WithLimits(Limits{Values: values}), optionFunc(func(o *options) { o.libraryOnly = libraryOnly })}
			file, err := Load(bytes.NewReader(data), opts...)
			if file != nil {
				defer file.Close()
			}
			return outcome(file, err)
		}
		// The default limits, and a limit on values that many inputs reach.
		for _, values := range []int{0, 12} {
			fast, lib := load(false, values), load(true, values)
			if fast != lib {
				t.Fatalf("values limit %d: fast reader:\n%s\nYAML library:\n%s", values, fast, lib)
			}
		}
		// Every monitor the fast reader takes, the library reads into the
		// same tree, lines included.
		split := newYAMLSplitter(bufio.NewReader(bytes.NewReader(data)), defaultLimits)
		p := blockParser{a: &arena{}}
		for {
			cs, err := split.next(batchSize)
			if err != nil || cs == nil {
				return
			}
			for _, c := range cs {
				p.a.reset()
				fast, err := p.parseItem(c.text, c.first)
				if err != nil {
					continue
				}
				lib, err := parseItemLib(&arena{}, c.text, c.first)
				if err != nil {
					t.Fatalf("monitors[%d]: the fast reader takes it, the library says %v", c.index, err)
				}
				if msg := sameTree(fast, lib, ""); msg != "" {
					t.Fatalf("monitors[%d]: %s", c.index, msg)
				}
			}
		}
	})
}

// fastSeeds are documents in the fast reader's subset, each construct of it
// at least once, for the fuzzer to start from.
var fastSeeds = []string{
	"monitors:\n- name: \"a\\tb\\u00e9\\x41\"\n  labels:\n    'it''s': \"x # not a comment\" # a comment\n    k: 'v'\n    \"quoted key\": café\n  pulse_check:\n    type: http\n    config:\n      url: http://x:80/a?b=c#frag\n      headers: {}\n      expected_status: [200, \"204\", '301']\n",
	"monitors:\n  -\n    name: a\n    depends_on:\n    - b\n    - 'c'\n    maintenance:\n      - start: 2025-01-01T00:00:00Z\n        duration: 1h\n        weekdays: [mon, tue]\n\n      # between windows\n      - start: \"2025-01-02 03:00\"\n        duration: 30m\n    pulse_check:\n      type: exec\n      config:\n        path: /bin/true\n        args: [a, ~, null, \"\"]\n        env:\n          - A=1\n",
	"monitors:\r\n- name: crlf\r\n  pulse_check:\r\n    type: tcp\r\n    config:\r\n      address: h:1\r\n  codes:\r\n    red:\r\n      - notify: log\r\n      - notify: webhook\r\n        config: {}\r\n",
	"monitors:\n- name: x\n  enabled: false\n  flap: {}\n  pulse_check:\n    type: dns\n    interval: -1s\n    config:\n      name: example.com.\n      record_type: AAAA\n- name: y\n  pulse_check:\n    type: grpc\n    config:\n      host: ::1\n      port: 50051\n",
}
