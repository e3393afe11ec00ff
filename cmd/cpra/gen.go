package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ziad/cpra/config"
)

// runGen writes a monitors file for a fleet served by "cpra mock".
func runGen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cpra gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		fl  config.Fleet
		out string
	)
	fs.IntVar(&fl.Count, "count", 0, "number of monitors (required)")
	fs.StringVar(&fl.BaseURL, "base-url", "http://127.0.0.1:8080", "server the monitors check: monitor i requests BASE/svc/i")
	fs.DurationVar(&fl.Interval, "interval", time.Minute, "interval of every monitor")
	fs.BoolVar(&fl.Remediate, "remediate", false, "give every monitor an HTTP intervention: POST BASE/svc/i/restart")
	fs.StringVar(&fl.AlertLog, "alert-log", "", "file the monitors log their red, cyan and green codes to (default: standard output)")
	fs.StringVar(&out, "out", "", "file to write (default: standard output)")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 || fl.Count <= 0 {
		fmt.Fprintln(stderr, "cpra gen: --count N (N > 0) is required, and no arguments")
		return 2
	}
	w := stdout
	var file *os.File
	if out != "" {
		var err error
		if file, err = os.Create(out); err != nil {
			fmt.Fprintln(stderr, "cpra gen:", err)
			return 1
		}
		w = file
	}
	err := config.Generate(w, fl)
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "cpra gen:", err)
		return 1
	}
	return 0
}
