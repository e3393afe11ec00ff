package config

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ziad/cpra/internal/heapwatch"
	"go.yaml.in/yaml/v3"
)

// fleetFile writes a generated fleet of n monitors into dir and returns its
// path.
func fleetFile(tb testing.TB, dir string, n int) string {
	tb.Helper()
	path := filepath.Join(dir, "fleet.yaml")
	fh, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	if err := Generate(fh, Fleet{Count: n, BaseURL: "http://127.0.0.1:8080", AlertLog: filepath.Join(dir, "alerts.log")}); err != nil {
		tb.Fatal(err)
	}
	return path
}

// benchmarkLoad measures LoadFile on a generated fleet: wall time per load,
// monitors per second, and the heap the loaded monitors keep.
func benchmarkLoad(b *testing.B, n int) {
	path := fleetFile(b, b.TempDir(), n)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	var perMonitor float64
	var peak uint64
	for b.Loop() {
		b.StopTimer()
		before := heapwatch.Live()
		b.StartTimer()
		stop := heapwatch.Peak()
		f, err := LoadFile(path)
		peak = max(peak, stop())
		if err != nil {
			b.Fatal(err)
		}
		if len(f.Monitors) != n {
			b.Fatalf("got %d monitors, want %d", len(f.Monitors), n)
		}
		b.StopTimer()
		after := heapwatch.Live()
		perMonitor = float64(int64(after)-int64(before)) / float64(n)
		runtime.KeepAlive(f)
		f.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "monitors/s")
	b.ReportMetric(perMonitor, "heap-B/monitor")
	b.ReportMetric(float64(peak)/float64(n), "peak-heap-B/monitor")
}

func BenchmarkLoad_10k(b *testing.B)  { benchmarkLoad(b, 10_000) }
func BenchmarkLoad_100k(b *testing.B) { benchmarkLoad(b, 100_000) }
func BenchmarkLoad_1M(b *testing.B)   { benchmarkLoad(b, 1_000_000) }

// genericMonitor is what a loader built on the YAML library's decoder into
// structs would read; it is the baseline of BenchmarkLoad.
type genericMonitor struct {
	Name       string            `yaml:"name"`
	Labels     map[string]string `yaml:"labels"`
	PulseCheck struct {
		Type             string         `yaml:"type"`
		Interval         string         `yaml:"interval"`
		Timeout          string         `yaml:"timeout"`
		MaxFailures      int            `yaml:"max_failures"`
		HealthyThreshold int            `yaml:"healthy_threshold"`
		Config           map[string]any `yaml:"config"`
	} `yaml:"pulse_check"`
	Codes map[string]struct {
		Dispatch bool           `yaml:"dispatch"`
		Notify   string         `yaml:"notify"`
		Config   map[string]any `yaml:"config"`
	} `yaml:"codes"`
}

// benchmarkLibDecode is the baseline: the whole file decoded into structs by
// the YAML library, without building a single checker.
func benchmarkLibDecode(b *testing.B, n int) {
	path := fleetFile(b, b.TempDir(), n)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		fh, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		var doc struct {
			Monitors []genericMonitor `yaml:"monitors"`
		}
		err = yaml.NewDecoder(fh).Decode(&doc)
		fh.Close()
		if err != nil && err != io.EOF {
			b.Fatal(err)
		}
		if len(doc.Monitors) != n {
			b.Fatalf("got %d monitors, want %d", len(doc.Monitors), n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "monitors/s")
}

func BenchmarkLibDecode_10k(b *testing.B)  { benchmarkLibDecode(b, 10_000) }
func BenchmarkLibDecode_100k(b *testing.B) { benchmarkLibDecode(b, 100_000) }

// benchmarkStream measures Stream on a generated fleet, each monitor
// dropped once handed over: wall time, monitors per second and the peak
// heap of the read, which holds one batch at a time rather than the file.
func benchmarkStream(b *testing.B, n int) {
	path := fleetFile(b, b.TempDir(), n)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		count := 0
		stop := heapwatch.Peak()
		f, err := StreamFile(path, func(*Streamed) { count++ })
		peak = max(peak, stop())
		if err != nil {
			b.Fatal(err)
		}
		if count != n {
			b.Fatalf("got %d monitors, want %d", count, n)
		}
		f.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "monitors/s")
	b.ReportMetric(float64(peak)/float64(n), "peak-heap-B/monitor")
}

func BenchmarkStream_100k(b *testing.B) { benchmarkStream(b, 100_000) }
func BenchmarkStream_1M(b *testing.B)   { benchmarkStream(b, 1_000_000) }
