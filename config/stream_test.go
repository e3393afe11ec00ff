package config

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

// streamed is what Stream handed over of one monitor.
type streamed struct {
	name        string
	digest      uint64
	index, line int
}

// streamText streams text with in-memory logs and an empty environment.
func streamText(t *testing.T, text string, opts ...Option) ([]streamed, *File, error) {
	t.Helper()
	var got []streamed
	all := append([]Option{WithOpenLog(newMemLogs().open), env(), WithStdout(io.Discard)}, opts...)
	f, err := Stream(strings.NewReader(text), func(s *Streamed) {
		got = append(got, streamed{s.Monitor.Name, s.Digest, s.Index, s.Line})
	}, all...)
	if f != nil {
		t.Cleanup(func() { f.Close() })
	}
	return got, f, err
}

// manyTCP is a list of n TCP monitors named prefix0, prefix1...
func manyTCP(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  - name: %s%d\n    labels: {team: core}\n    pulse_check: {type: tcp, interval: 1h, config: {address: \"127.0.0.1:1\"}}\n", prefix, i)
	}
	return b.String()
}

// TestStreamHandsWhatLoadKeeps: Stream hands over, in order and once
// each, the monitors Load keeps, with their digests and places, and
// returns the same disabled monitors, maintenances and warnings; also when
// the read starts again as a whole document (anchors) after monitors were
// handed over, and for JSON.
func TestStreamHandsWhatLoadKeeps(t *testing.T) {
	seed, err := os.ReadFile("testdata/seed-readme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tail := "  - name: off\n    enabled: false\n    pulse_check: {type: tcp, config: {address: \"127.0.0.1:1\"}}\n" +
		"maintenance:\n  - selector: {team: core}\n    windows: [{start: 2025-01-01T00:00:00Z, duration: 1h}]\n" +
		"  - selector: {team: nobody}\n    windows: [{start: 2025-01-01T00:00:00Z, duration: 1h}]\n"
	anchors := "monitors:\n" + manyTCP("p", 300) +
		"  - name: a\n    pulse_check: &tcp\n      type: tcp\n      config: {address: \"127.0.0.1:1\"}\n" +
		"  - name: b\n    pulse_check:\n      <<: *tcp\n      interval: 1m\n" + manyTCP("q", 10) + tail
	var js strings.Builder
	js.WriteString(`{"monitors": [`)
	for i := range 300 {
		if i > 0 {
			js.WriteString(",\n")
		}
		fmt.Fprintf(&js, `{"name": "j%d", "pulse_check": {"type": "tcp", "config": {"address": "127.0.0.1:1"}}}`, i)
	}
	js.WriteString("]}\n")
	key := env("CPRA_PAGERDUTY_ROUTING_KEY", "R0UT1NG")
	for _, tc := range []struct{ name, text string }{
		{"seed", string(seed)},
		{"plain", "monitors:\n" + manyTCP("m", 600) + tail},
		{"anchors", anchors},
		{"json", js.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustLoad(t, tc.text, key)
			got, sf, err := streamText(t, tc.text, key)
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			if len(got) != len(f.Monitors) {
				t.Fatalf("got %d monitors, want %d", len(got), len(f.Monitors))
			}
			for i, m := range f.Monitors {
				want := streamed{m.Name, f.Digests[i], int(f.pos[i].index), int(f.pos[i].line)}
				if got[i] != want {
					t.Fatalf("monitor %d: got %+v, want %+v", i, got[i], want)
				}
			}
			if len(sf.Monitors) != 0 || len(sf.Digests) != 0 {
				t.Errorf("the streamed File holds %d monitors, want none", len(sf.Monitors))
			}
			if !slices.Equal(sf.Disabled, f.Disabled) {
				t.Errorf("disabled: got %v, want %v", sf.Disabled, f.Disabled)
			}
			if len(sf.Maintenance) != len(f.Maintenance) {
				t.Errorf("got %d maintenances, want %d", len(sf.Maintenance), len(f.Maintenance))
			}
			if g, w := errorText(sf.Warnings), errorText(f.Warnings); g != w {
				t.Errorf("warnings: got %q, want %q", g, w)
			}
		})
	}
}

// TestStreamStopsAtAProblem: once a problem is found no monitor is handed
// over, the file is refused with the problems Load reports, and its log
// files are closed, also those of the monitors handed over before.
func TestStreamStopsAtAProblem(t *testing.T) {
	bad := "  - name: bad\n    pulse_check: {type: tcp, interval: soon, config: {address: \"127.0.0.1:1\"}}\n"
	cycle := "  - name: x\n    depends_on: [y]\n    pulse_check: {type: tcp, config: {address: \"127.0.0.1:1\"}}\n" +
		"  - name: y\n    depends_on: [x]\n    pulse_check: {type: tcp, config: {address: \"127.0.0.1:1\"}}\n"
	for _, tc := range []struct {
		name, text string
		most       int // monitors that may be handed over
	}{
		{"bad item", "monitors:\n" + manyTCP("m", 500) + bad + manyTCP("n", 500), 500},
		{"cycle at the end", "monitors:\n" + manyTCP("m", 500) + cycle, 502},
		{"duplicate at the end", "monitors:\n" + manyTCP("m", 500) + manyTCP("m", 1), 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := "defaults:\n  codes: {red: {notify: log, config: {file: alerts.log}}}\n" + tc.text
			_, lerr := load(t, text)
			if lerr == nil {
				t.Fatal("Load took the file, want it refused")
			}
			var logs closingLogs
			got, f, err := streamText(t, text, logs.opener())
			if f != nil || err == nil {
				t.Fatalf("Stream: %v, %v; want the file refused", f, err)
			}
			if errorText(err) != errorText(lerr) {
				t.Errorf("got %q, want Load's %q", errorText(err), errorText(lerr))
			}
			if len(got) > tc.most {
				t.Errorf("%d monitors handed over, want at most %d: none after the problem", len(got), tc.most)
			}
			logs.mu.Lock()
			opened := len(logs.files)
			logs.mu.Unlock()
			if opened == 0 || logs.closedCount() != opened {
				t.Errorf("%d of %d log files closed, want all", logs.closedCount(), opened)
			}
		})
	}
}

// TestSyncReaderRefusedFileChangesNothing: into an engine not started the
// new monitors go in as the file is read; when the file turns out to be
// refused (a problem at its end) they leave again, and what ran before
// runs on unchanged.
func TestSyncReaderRefusedFileChangesNothing(t *testing.T) {
	e, s := newSyncer(t)
	var logs closingLogs
	syncText := func(text string) (*File, Changes, error) {
		return s.SyncReader(strings.NewReader(text), WithOpenLog(newMemLogs().open), env(), WithStdout(io.Discard), logs.opener())
	}
	cycle := "  - name: x\n    depends_on: [y]\n    pulse_check: {type: tcp, config: {address: \"127.0.0.1:1\"}}\n" +
		"  - name: y\n    depends_on: [x]\n    pulse_check: {type: tcp, config: {address: \"127.0.0.1:1\"}}\n"

	// Refused at the first load: nothing stays.
	f, ch, err := syncText(syncFile("a/1h", "b/1h") + manyTCP("m", 600) + cycle)
	if f != nil || err == nil || !strings.Contains(err.Error(), "dependency cycle") {
		t.Fatalf("got %v, %+v, %v; want the file refused for its cycle", f, ch, err)
	}
	if n := e.Stats().Monitors; n != 0 {
		t.Fatalf("%d monitors in the engine after a refused file, want 0", n)
	}

	f, ch, err = syncText(syncFile("a/1h", "b/1h"))
	if err != nil || f == nil || ch != (Changes{Added: 2}) {
		t.Fatalf("got %v, %+v, %v; want a and b added", f, ch, err)
	}
	a, b := mustID(t, s, "a"), mustID(t, s, "b")

	// a changed, c and 600 more new, then a duplicate name: refused.
	f, ch, err = syncText(syncFile("a/2h", "b/1h", "c/1h") + manyTCP("m", 600) + manyTCP("m", 1))
	if f != nil || err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("got %v, %+v, %v; want the file refused for its duplicate", f, ch, err)
	}
	if n := e.Stats().Monitors; n != 2 {
		t.Errorf("%d monitors in the engine, want the 2 that ran before", n)
	}
	if id := mustID(t, s, "a"); id != a {
		t.Errorf("a: ID %v, want %v unchanged", id, a)
	}
	if st, err := e.Status(a); err != nil || st.Interval != 0 && st.Interval != 3600e9 {
		t.Errorf("a: %+v, %v; want it running with its old interval", st, err)
	}
	if _, ok := s.ID("c"); ok {
		t.Error("c of the refused file is known")
	}

	f, ch, err = syncText(syncFile("a/2h", "b/1h", "c/1h"))
	if err != nil || f == nil || ch != (Changes{Added: 1, Replaced: 1, Unchanged: 1}) {
		t.Fatalf("got %v, %+v, %v; want c added and a replaced", f, ch, err)
	}
	if mustID(t, s, "b") != b {
		t.Error("unchanged b changed its ID")
	}
	if n := e.Stats().Monitors; n != 3 {
		t.Errorf("%d monitors, want 3", n)
	}
}
