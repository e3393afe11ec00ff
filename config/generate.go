package config

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// Fleet describes a generated monitors file of HTTP monitors: see Generate.
type Fleet struct {
	// Count is the number of monitors.
	Count int
	// BaseURL is the server the monitors check: monitor i (from 0) is named
	// "svc-<i>" and requests BaseURL + "/svc/<i>".
	BaseURL string
	// Interval and Timeout of every monitor (0: 60s and 5s).
	Interval, Timeout time.Duration
	// AlertLog is the file the monitors' red, cyan and green codes are logged
	// to; empty logs them to standard output.
	AlertLog string
	// Remediate gives every monitor an HTTP intervention that POSTs to
	// BaseURL + "/svc/<i>/restart".
	Remediate bool
}

// Generate writes f as a YAML monitors file that Load reads. It suits test
// fleets and benchmarks. The settings every monitor shares (schedule,
// thresholds, attempts, codes) are written once, in the defaults block: a
// million monitors make a file of about 150 MB (250 MB with Remediate).
func Generate(w io.Writer, f Fleet) error {
	if f.Count < 0 {
		return errors.New("config: negative monitor count")
	}
	if f.BaseURL == "" {
		return errors.New("config: empty base URL")
	}
	iv, to := f.Interval, f.Timeout
	if iv == 0 {
		iv = time.Minute
	}
	if to == 0 {
		to = 5 * time.Second
	}
	base := strings.TrimRight(f.BaseURL, "/")
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("# Generated monitors file: ")
	bw.WriteString(strconv.Itoa(f.Count))
	bw.WriteString(" HTTP monitors of ")
	bw.WriteString(base)
	bw.WriteString("\ndefaults:\n  pulse_check:\n    interval: ")
	bw.WriteString(iv.String())
	bw.WriteString("\n    timeout: ")
	bw.WriteString(to.String())
	bw.WriteString("\n    max_failures: 2\n    healthy_threshold: 1\n")
	if f.Remediate {
		bw.WriteString("  intervention:\n    max_attempts: 2\n")
	}
	bw.WriteString("  codes:\n")
	for _, code := range []string{"red", "cyan", "green"} {
		if code == "cyan" && !f.Remediate {
			continue
		}
		bw.WriteString("    ")
		bw.WriteString(code)
		bw.WriteString(":\n      notify: log\n")
		if f.AlertLog != "" {
			bw.WriteString("      config:\n        file: ")
			bw.WriteString(strconv.Quote(f.AlertLog))
			bw.WriteString("\n")
		}
	}
	bw.WriteString("monitors:\n")
	var num []byte
	for i := range f.Count {
		num = strconv.AppendInt(num[:0], int64(i), 10)
		bw.WriteString("  - name: svc-")
		bw.Write(num)
		bw.WriteString("\n    labels:\n      fleet: generated\n    pulse_check:\n      type: http\n      config:\n        url: ")
		bw.WriteString(base)
		bw.WriteString("/svc/")
		bw.Write(num)
		bw.WriteString("\n")
		if f.Remediate {
			bw.WriteString("    intervention:\n      type: http\n      config:\n        url: ")
			bw.WriteString(base)
			bw.WriteString("/svc/")
			bw.Write(num)
			bw.WriteString("/restart\n")
		}
	}
	return bw.Flush()
}
