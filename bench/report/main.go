// Command report runs the benchmark suite several times and prints its
// results as a Markdown table: per benchmark, size and metric, the median
// and the spread of the runs, under a line naming the Go version, CPU,
// platform and commit they were measured on.
//
//	go run ./bench/report -count 5 > perf.md
//	go run ./bench/report -short -count 1 -readme README.md
//
// With -readme it replaces the lines between <!-- perf:begin --> and
// <!-- perf:end --> in that file with the table. With -in it reads saved
// benchmark output instead of running the suite.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

func main() {
	count := flag.Int("count", 5, "runs of each benchmark")
	bench := flag.String("bench", ".", "benchmarks to run (go test -bench)")
	short := flag.Bool("short", false, "run the -short suite (10k sizes only)")
	in := flag.String("in", "", "read benchmark output from this file instead of running the suite")
	readme := flag.String("readme", "", "replace the perf block in this file with the table")
	drop := flag.String("drop", "ns/op", "comma-separated units to leave out of the table")
	flag.Parse()

	var out []byte
	var err error
	if *in != "" {
		out, err = os.ReadFile(*in)
	} else {
		out, err = runSuite(*bench, *count, *short)
	}
	if err != nil {
		fatal(err)
	}
	s, err := parse(bytes.NewReader(out))
	if err != nil {
		fatal(err)
	}
	if len(s.order) == 0 {
		fatal(errors.New("no benchmark results in the output"))
	}
	table := render(s, header(s), strings.Split(*drop, ","))
	if *readme == "" {
		fmt.Print(table)
		return
	}
	doc, err := os.ReadFile(*readme)
	if err != nil {
		fatal(err)
	}
	updated, err := splice(string(doc), table)
	if err != nil {
		fatal(fmt.Errorf("%s: %w", *readme, err))
	}
	if err := os.WriteFile(*readme, []byte(updated), 0o644); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}

// runSuite runs the benchmarks of ./bench/, echoing their output to stderr
// as it comes, and returns it.
func runSuite(bench string, count int, short bool) ([]byte, error) {
	args := []string{"test", "-run", "^$", "-bench", bench, "-benchtime=1x", "-count=" + strconv.Itoa(count), "-timeout=0"}
	if short {
		args = append(args, "-short")
	}
	args = append(args, "./bench/")
	var buf bytes.Buffer
	cmd := exec.Command("go", args...)
	cmd.Stdout = io.MultiWriter(&buf, os.Stderr)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return buf.Bytes(), nil
}

// header describes where the figures come from.
func header(s *suite) string {
	goVersion := "unknown Go"
	if out, err := exec.Command("go", "version").Output(); err == nil {
		if f := strings.Fields(string(out)); len(f) >= 3 {
			goVersion = f[2]
		}
	}
	commit := "unknown commit"
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			commit += "-dirty"
		}
	}
	cpu := s.cpu
	if cpu == "" {
		cpu = "unknown CPU"
	}
	return fmt.Sprintf("%s, %s, %s/%s, commit %s; %d run(s) of each benchmark, median and spread (min–max, and the larger distance from the median as a percentage of it).",
		goVersion, cpu, s.goos, s.goarch, commit, s.maxRuns())
}

// metric is one "value unit" pair of a benchmark line.
type metric struct {
	value float64
	unit  string
}

// line is one parsed benchmark result line.
type line struct {
	name  string // without the "Benchmark" prefix and the -GOMAXPROCS suffix
	iters int64
	ms    []metric
}

// parseLine parses a result line such as
//
//	BenchmarkAlertStorm/10k-2   1   1991778650 ns/op   0 alerts-failed   502.1 reds/s
func parseLine(text string) (line, bool) {
	f := strings.Fields(text)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return line{}, false
	}
	iters, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return line{}, false
	}
	l := line{name: trimProcs(strings.TrimPrefix(f[0], "Benchmark")), iters: iters}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return line{}, false
		}
		l.ms = append(l.ms, metric{v, f[i+1]})
	}
	return l, true
}

// trimProcs removes the -N suffix go test adds for GOMAXPROCS.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

// key names one figure of the table.
type key struct{ bench, size, unit string }

// suite is parsed benchmark output: every run's value per figure, in the
// order the figures first appeared.
type suite struct {
	cpu, goos, goarch string
	order             []key
	runs              map[key][]float64
}

func (s *suite) maxRuns() int {
	n := 0
	for _, v := range s.runs {
		n = max(n, len(v))
	}
	return n
}

func parse(r io.Reader) (*suite, error) {
	s := &suite{runs: map[key][]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		text := sc.Text()
		if v, ok := strings.CutPrefix(text, "cpu: "); ok {
			s.cpu = strings.TrimSpace(v)
			continue
		}
		if v, ok := strings.CutPrefix(text, "goos: "); ok {
			s.goos = strings.TrimSpace(v)
			continue
		}
		if v, ok := strings.CutPrefix(text, "goarch: "); ok {
			s.goarch = strings.TrimSpace(v)
			continue
		}
		l, ok := parseLine(text)
		if !ok {
			continue
		}
		bench, size := l.name, ""
		if i := strings.LastIndexByte(l.name, '/'); i >= 0 {
			bench, size = l.name[:i], l.name[i+1:]
		}
		for _, m := range l.ms {
			k := key{bench, size, m.unit}
			if _, seen := s.runs[k]; !seen {
				s.order = append(s.order, k)
			}
			s.runs[k] = append(s.runs[k], m.value)
		}
	}
	return s, sc.Err()
}

// stats summarises the runs of one figure.
type stats struct {
	median, min, max float64
	pct              float64 // larger distance of min or max from the median, in % of it
}

func summarize(vs []float64) stats {
	if len(vs) == 0 {
		return stats{}
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	st := stats{min: s[0], max: s[n-1], median: s[n/2]}
	if n%2 == 0 {
		st.median = (s[n/2-1] + s[n/2]) / 2
	}
	if st.median != 0 {
		st.pct = math.Max(st.max-st.median, st.median-st.min) / math.Abs(st.median) * 100
	}
	return st
}

// num formats a figure with about four significant digits and no exponent.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 3-int(math.Floor(math.Log10(a))), 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// render prints the table, leaving out the units in drop.
func render(s *suite, head string, drop []string) string {
	skip := map[string]bool{}
	for _, u := range drop {
		if u = strings.TrimSpace(u); u != "" {
			skip[u] = true
		}
	}
	var b strings.Builder
	b.WriteString(head + "\n\n")
	b.WriteString("| Benchmark | Size | Metric | Median | Spread |\n")
	b.WriteString("|---|---|---|---:|---:|\n")
	for _, k := range s.order {
		if skip[k.unit] {
			continue
		}
		st := summarize(s.runs[k])
		spread := "–"
		if len(s.runs[k]) > 1 {
			spread = fmt.Sprintf("%s–%s (±%.0f%%)", num(st.min), num(st.max), st.pct)
		}
		size := k.size
		if size == "" {
			size = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", k.bench, size, k.unit, num(st.median), spread)
	}
	return b.String()
}

const (
	beginMarker = "<!-- perf:begin -->"
	endMarker   = "<!-- perf:end -->"
)

// splice replaces the lines between the begin and end marker lines of doc
// with table, keeping the markers.
func splice(doc, table string) (string, error) {
	lines := strings.SplitAfter(doc, "\n")
	begin, end := -1, -1
	for i, l := range lines {
		switch strings.TrimSpace(l) {
		case beginMarker:
			if begin >= 0 {
				return "", errors.New("two " + beginMarker + " lines")
			}
			begin = i
		case endMarker:
			if end >= 0 {
				return "", errors.New("two " + endMarker + " lines")
			}
			end = i
		}
	}
	if begin < 0 || end < 0 {
		return "", fmt.Errorf("want a %s line and a %s line", beginMarker, endMarker)
	}
	if end < begin {
		return "", fmt.Errorf("%s comes before %s", endMarker, beginMarker)
	}
	if !strings.HasSuffix(lines[begin], "\n") {
		lines[begin] += "\n"
	}
	if table != "" && !strings.HasSuffix(table, "\n") {
		table += "\n"
	}
	var b strings.Builder
	for _, l := range lines[:begin+1] {
		b.WriteString(l)
	}
	b.WriteString(table)
	for _, l := range lines[end:] {
		b.WriteString(l)
	}
	return b.String(), nil
}
