package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bigMonitor returns a file of one monitor with n labels, written so that
// a given reader takes it:
//
//	block  block style: the fast reader
//	flow   the labels as one flow mapping: the YAML library, for the monitor
//	json   JSON
//	merge  n/2 labels of its own and n/2 merged from an anchored mapping of
//	       another monitor: the whole document, by the library
func bigMonitor(style string, n int) string {
	var b strings.Builder
	switch style {
	case "block":
		b.WriteString("monitors:\n  - name: big\n    pulse_check:\n      type: tcp\n      config:\n        address: \"127.0.0.1:1\"\n    labels:\n")
		for i := range n {
			fmt.Fprintf(&b, "      k%d: v%d\n", i, i)
		}
	case "flow":
		b.WriteString("monitors:\n  - name: big\n    pulse_check:\n      type: tcp\n      config:\n        address: \"127.0.0.1:1\"\n    labels: {")
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "k%d: v%d", i, i)
		}
		b.WriteString("}\n")
	case "json":
		labels := make(map[string]string, n)
		for i := range n {
			labels[fmt.Sprintf("k%d", i)] = fmt.Sprintf("v%d", i)
		}
		doc := map[string]any{"monitors": []any{map[string]any{
			"name": "big", "labels": labels,
			"pulse_check": map[string]any{"type": "tcp", "config": map[string]any{"address": "127.0.0.1:1"}},
		}}}
		text, _ := json.MarshalIndent(doc, "", " ")
		b.Write(text)
	case "merge":
		b.WriteString("monitors:\n  - name: base\n    pulse_check:\n      type: tcp\n      config:\n        address: \"127.0.0.1:1\"\n    labels: &shared\n")
		for i := range n / 2 {
			fmt.Fprintf(&b, "      s%d: v%d\n", i, i)
		}
		b.WriteString("  - name: big\n    pulse_check:\n      type: tcp\n      config:\n        address: \"127.0.0.1:1\"\n    labels:\n      <<: *shared\n")
		for i := range n / 2 {
			fmt.Fprintf(&b, "      k%d: v%d\n", i, i)
		}
	default:
		panic(style)
	}
	return b.String()
}

var bigStyles = []string{"block", "flow", "json", "merge"}

// loadTime loads text and returns the shortest of a few runs.
func loadTime(t *testing.T, text string, wantLabels int) time.Duration {
	t.Helper()
	best := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		f, err := load(t, text)
		el := time.Since(start)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		m := f.Monitors[len(f.Monitors)-1]
		if len(m.Labels) != wantLabels {
			t.Fatalf("got %d labels, want %d", len(m.Labels), wantLabels)
		}
		best = min(best, el)
	}
	return best
}

// TestLoadTimeLinear loads one monitor with 10,000 and with 80,000 labels
// in each style (the best of three loads each): eight times the labels
// must take about eight times as long, not sixty-four (the time of a
// reader that compares every key with every other), and well under a
// minute even with the race detector on a busy machine.
// BenchmarkLargeMonitor gives the figures for 80,000 labels.
func TestLoadTimeLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("loads files of some megabytes")
	}
	for _, style := range bigStyles {
		t.Run(style, func(t *testing.T) {
			// Eight times the labels: linear is 8 times the time, quadratic
			// 64; the bound leaves a busy machine three times the noise.
			small := loadTime(t, bigMonitor(style, 10_000), 10_000)
			large := loadTime(t, bigMonitor(style, 80_000), 80_000)
			t.Logf("10,000 labels: %v; 80,000 labels: %v", small, large)
			if large > 24*small+500*time.Millisecond {
				t.Errorf("80,000 labels took %v, 10,000 took %v: more than linear", large, small)
			}
			if large > time.Minute {
				t.Errorf("80,000 labels took %v", large)
			}
		})
	}
}

// BenchmarkLargeMonitor loads one monitor with 80,000 labels in each style.
func BenchmarkLargeMonitor(b *testing.B) {
	for _, style := range bigStyles {
		b.Run(style, func(b *testing.B) {
			text := bigMonitor(style, 80_000)
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				f, err := Load(strings.NewReader(text))
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

// TestMillionLabels: a monitor of a million labels fails fast, naming the
// limit it is over; so does one of 400,000 (small enough text, too many
// values), at the line of the first value beyond the limit.
func TestMillionLabels(t *testing.T) {
	if testing.Short() {
		t.Skip("loads files of some megabytes")
	}
	for _, tc := range []struct {
		n    int
		want string
	}{
		{1_000_000, "monitors[0]: the text of one monitor is longer than the limit of 16 MiB (line 2)"},
		{400_000, "monitors[0]: more than 250000 values (mappings, lists and scalars) in one monitor (line 249999)"},
	} {
		text := bigMonitor("block", tc.n)
		start := time.Now()
		_, err := load(t, text)
		el := time.Since(start)
		t.Logf("%d labels: refused in %v", tc.n, el)
		if got := errorText(err); got != tc.want {
			t.Errorf("%d labels: got %q, want %q", tc.n, got, tc.want)
		}
		if !errors.Is(err, ErrLimit) {
			t.Errorf("%d labels: %v is not ErrLimit", tc.n, err)
		}
		if el > time.Minute {
			t.Errorf("%d labels: refused after %v", tc.n, el)
		}
	}
}

// TestLimits lowers each limit below a small file: the error names the
// limit and the line, and the rest of the file is still checked.
func TestLimits(t *testing.T) {
	tcp := func(name string) string {
		return "  - name: " + name + "\n    pulse_check:\n      type: tcp\n      config:\n        address: \"127.0.0.1:1\"\n"
	}
	two := "monitors:\n" + tcp("a") + tcp("b") + "    labels: {x: y, z: w}\n" + "  - name: c\n    pulse_check: {type: tcp, interval: soon}\n"
	for _, tc := range []struct {
		name   string
		text   string
		limits Limits
		want   string
	}{
		{"file size", two, Limits{FileSize: 100}, "the file is larger than the limit of 100 bytes (line 7)"},
		{"monitor size", two, Limits{MonitorSize: 90},
			"monitors[1]: the text of one monitor is longer than the limit of 90 bytes (line 7)\n" +
				`monitors[2] "c": pulse_check.interval: "soon" is not a duration (line 14)` + "\n" +
				`monitors[2] "c": pulse_check.config.address: missing (line 14)`},
		{"values", two, Limits{Values: 8},
			"monitors[1]: more than 8 values (mappings, lists and scalars) in one monitor (line 12)\n" +
				`monitors[2] "c": pulse_check.interval: "soon" is not a duration (line 14)` + "\n" +
				`monitors[2] "c": pulse_check.config.address: missing (line 14)`},
		{"name length", "monitors:\n" + tcp("a-rather-long-name"), Limits{NameLength: 8},
			`monitors[0] "a-rather-long-name": name: 18 bytes, longer than the limit of 8 (line 2)`},
		{"json monitor size", `{"monitors": [{"name": "a", "pulse_check": {"type": "tcp", "config": {"address": "h:1"}}},
 {"name": "b", "labels": {"x": "y"}, "pulse_check": {"type": "tcp", "config": {"address": "h:1"}}}]}`, Limits{MonitorSize: 80},
			"monitors[1]: the text of one monitor is longer than the limit of 80 bytes (line 2)"},
		{"json values", `{"monitors": [{"name": "a", "labels": {"x": "y", "z": "w"},
  "pulse_check": {"type": "tcp", "config": {"address": "h:1"}}}]}`, Limits{Values: 5},
			"monitors[0]: more than 5 values (mappings, lists and scalars) in one monitor (line 1)"},
		{"maintenance size", "maintenance:\n  - selector: {a: b}\n    windows: [{start: 2025-01-01T00:00:00Z, duration: 1h}]\nmonitors: []\n", Limits{MonitorSize: 40},
			"maintenance: the text of the block is longer than the limit of 40 bytes (line 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, lib := range []bool{false, true} {
				_, err := load(t, tc.text, WithLimits(tc.limits), optionFunc(func(o *options) { o.libraryOnly = lib }))
				if got := errorText(err); got != tc.want {
					t.Errorf("library only %v: got\n%s\nwant\n%s", lib, got, tc.want)
				}
				if !errors.Is(err, ErrLimit) {
					t.Errorf("%v is not ErrLimit", err)
				}
			}
		})
	}
}

// TestLimitsLoadFile: LoadFile refuses a file larger than the limit before
// reading it.
func TestLimitsLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(path, []byte(bigMonitor("block", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path, WithLimits(Limits{FileSize: 1 << 10}))
	if got, want := errorText(err), "the file is larger than the limit of 1 KiB"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(err, ErrLimit) {
		t.Errorf("%v is not ErrLimit", err)
	}
}

// TestValuesLimitSameLine: the fast reader and the YAML library refuse a
// monitor over the limit on values at the same line, in every shape.
func TestValuesLimitSameLine(t *testing.T) {
	texts := []string{
		bigMonitor("block", 30),
		"monitors:\n- name: a\n  labels:\n    a: [1, 2, 3, 4]\n    b:\n    - x\n    - y: z\n      w: [5, 6]\n",
		"monitors:\n-\n  - 1\n  - [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\n",
	}
	for i, text := range texts {
		for limit := 2; limit < 20; limit++ {
			opts := []Option{WithLimits(Limits{Values: limit})}
			_, fast := load(t, text, opts...)
			_, lib := load(t, text, append(opts, optionFunc(func(o *options) { o.libraryOnly = true }))...)
			if errorText(fast) != errorText(lib) {
				t.Errorf("text %d, limit %d: fast reader %q, library %q", i, limit, errorText(fast), errorText(lib))
			}
		}
	}
}
