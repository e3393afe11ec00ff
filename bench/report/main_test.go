package main

import (
	"math"
	"strings"
	"testing"
)

// fixture is real output of the suite, two runs of three benchmarks and
// one of a fourth (the second storm run reports more metrics), with
// the noise go test prints around the results.
const fixture = `goos: linux
goarch: amd64
pkg: github.com/ziad/cpra/bench
cpu: Intel(R) Xeon(R) Processor
BenchmarkTickerPerMonitorMemory/10k-2  	       1	  31039107 ns/op	      3134 B/monitor
BenchmarkAfterFuncPerMonitorMemory/10k-2         	       1	   3816465 ns/op	       205.0 B/monitor
BenchmarkAlertStorm/10k-2         	       1	1999723553 ns/op	         4.000 alert-workers	         0 alerts-failed	         0 dup-reds	       500.1 reds/s	         2.000 s-to-all-reds
BenchmarkTickerPerMonitorMemory/10k-2             	       1	  23639613 ns/op	      2943 B/monitor
BenchmarkAfterFuncPerMonitorMemory/10k-2          	       1	   2694817 ns/op	       192.7 B/monitor
BenchmarkAlertStorm/10k-2               	       1	2001547731 ns/op	         2.000 alert-workers	         0 alerts-failed	         0 dup-reds	         3.334 red-delay-max-ms	         0.1281 red-delay-p50-ms	         0.7838 red-delay-p99-ms	       499.6 reds/s	         2.002 s-to-all-reds
BenchmarkHTTPThroughput-2                         	       1	2519329394 ns/op	     64714 bare-checks/s	     61118 checks/s	         0.9444 engine/bare
PASS
ok  	github.com/ziad/cpra/bench	35.162s
`

func TestParseLine(t *testing.T) {
	l, ok := parseLine("BenchmarkAlertStorm/1M-2           	       1	3760630821 ns/op	       447.0 alert-workers	         0 alerts-failed	      26591 reds/s	         3.761 s-to-all-reds")
	if !ok {
		t.Fatal("line not parsed")
	}
	if l.name != "AlertStorm/1M" || l.iters != 1 {
		t.Errorf("name %q iters %d", l.name, l.iters)
	}
	want := []metric{{3760630821, "ns/op"}, {447, "alert-workers"}, {0, "alerts-failed"}, {26591, "reds/s"}, {3.761, "s-to-all-reds"}}
	if len(l.ms) != len(want) {
		t.Fatalf("metrics %v, want %v", l.ms, want)
	}
	for i := range want {
		if l.ms[i] != want[i] {
			t.Errorf("metric %d: %v, want %v", i, l.ms[i], want[i])
		}
	}
	for _, bad := range []string{
		"PASS",
		"ok  	github.com/ziad/cpra/bench	14.266s",
		"BenchmarkAlertStorm/10k-2         	--- FAIL: something",
		"BenchmarkX-2 1 12 ns/op 7", // a value without its unit
		"BenchmarkX-2 one 12 ns/op",
	} {
		if _, ok := parseLine(bad); ok {
			t.Errorf("parsed %q", bad)
		}
	}
	if l, _ := parseLine("BenchmarkHTTPThroughput 1 5 ns/op"); l.name != "HTTPThroughput" {
		t.Errorf("name without a GOMAXPROCS suffix: %q", l.name)
	}
}

func TestParse(t *testing.T) {
	s, err := parse(strings.NewReader(fixture))
	if err != nil {
		t.Fatal(err)
	}
	if s.cpu != "Intel(R) Xeon(R) Processor" || s.goos != "linux" || s.goarch != "amd64" {
		t.Errorf("cpu %q goos %q goarch %q", s.cpu, s.goos, s.goarch)
	}
	if got := s.runs[key{"TickerPerMonitorMemory", "10k", "B/monitor"}]; len(got) != 2 || got[0] != 3134 || got[1] != 2943 {
		t.Errorf("ticker B/monitor runs %v", got)
	}
	if got := s.runs[key{"HTTPThroughput", "", "engine/bare"}]; len(got) != 1 || got[0] != 0.9444 {
		t.Errorf("HTTP engine/bare runs %v", got)
	}
	if s.order[0] != (key{"TickerPerMonitorMemory", "10k", "ns/op"}) || len(s.order) != 2+2+9+4 {
		t.Errorf("order %v", s.order)
	}
	if s.maxRuns() != 2 {
		t.Errorf("maxRuns %d", s.maxRuns())
	}
}

func TestSummarize(t *testing.T) {
	for _, c := range []struct {
		in                    []float64
		median, min, max, pct float64
	}{
		{[]float64{5}, 5, 5, 5, 0},
		{[]float64{3, 1, 2}, 2, 1, 3, 50},
		{[]float64{10, 40, 20, 30}, 25, 10, 40, 60},
		{[]float64{100, 90, 110, 100, 130}, 100, 90, 130, 30},
		{[]float64{0, 0, 0}, 0, 0, 0, 0},
		{[]float64{-2, -4, -3}, -3, -4, -2, 100.0 / 3},
	} {
		st := summarize(c.in)
		if st.median != c.median || st.min != c.min || st.max != c.max || math.Abs(st.pct-c.pct) > 1e-9 {
			t.Errorf("summarize(%v) = %+v, want median %v min %v max %v pct %v", c.in, st, c.median, c.min, c.max, c.pct)
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 26591.4: "26591", 1762: "1762", 205: "205.0", 3.761: "3.761", 11.03: "11.03", 0.2210: "0.221", 0.01734: "0.0173"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestRender(t *testing.T) {
	s, _ := parse(strings.NewReader(fixture))
	out := render(s, "HEAD", []string{"ns/op"})
	for _, want := range []string{
		"HEAD\n\n| Benchmark | Size | Metric | Median | Spread |\n",
		"| TickerPerMonitorMemory | 10k | B/monitor | 3038 | 2943–3134 (±3%) |\n",
		"| AlertStorm | 10k | s-to-all-reds | 2.001 | 2.000–2.002 (±0%) |\n",
		"| AlertStorm | 10k | red-delay-p99-ms | 0.784 | – |\n",
		"| HTTPThroughput | – | engine/bare | 0.944 | – |\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ns/op") {
		t.Errorf("dropped unit in the table:\n%s", out)
	}
}

func TestSplice(t *testing.T) {
	doc := "# Title\n\nIntro.\n\n<!-- perf:begin -->\n| old | table |\n|---|---|\n<!-- perf:end -->\n\nAfter.\n"
	got, err := splice(doc, "new table\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Title\n\nIntro.\n\n<!-- perf:begin -->\nnew table\n<!-- perf:end -->\n\nAfter.\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Splicing again gives the same document; an empty block fills in.
	if again, _ := splice(got, "new table"); again != want {
		t.Errorf("second splice changed the document:\n%s", again)
	}
	empty := "a\n<!-- perf:begin -->\n<!-- perf:end -->\n"
	if got, _ := splice(empty, "t\n"); got != "a\n<!-- perf:begin -->\nt\n<!-- perf:end -->\n" {
		t.Errorf("empty block: %q", got)
	}
	for _, bad := range []string{
		"no markers\n",
		"<!-- perf:begin -->\nonly the start\n",
		"<!-- perf:end -->\n<!-- perf:begin -->\n",
		"<!-- perf:begin -->\n<!-- perf:begin -->\n<!-- perf:end -->\n",
	} {
		if _, err := splice(bad, "t\n"); err == nil {
			t.Errorf("splice(%q) succeeded", bad)
		}
	}
}
