package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignals builds the program and stops it with real signals.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "cpra")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	mockOut, _, stopMock := started(t, "mock", "--count", "10", "--fail-rate", "0.2")
	base := waitFor(t, mockOut, baseURL)
	file := filepath.Join(t.TempDir(), "m.yaml")
	if code, _, stderr := runSync("gen", "--count", "10", "--base-url", base, "--interval", "100ms", "--out", file); code != 0 {
		t.Fatalf("gen: exit %d\n%s", code, stderr)
	}

	for _, tc := range []struct {
		name  string
		args  []string
		sig   os.Signal
		ready *regexp.Regexp
	}{
		{"yaml SIGTERM", []string{"--yaml", file}, syscall.SIGTERM, regexp.MustCompile(`msg="monitors added" monitors=10`)},
		{"demo SIGINT", nil, os.Interrupt, regexp.MustCompile(`msg=status monitors=200`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr buffer
			cmd := exec.Command(bin, tc.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			waitFor(t, &stderr, tc.ready)
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit: %v; stderr:\n%s", err, stderr.String())
				}
			case <-time.After(40 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatal("did not exit within 40s of the signal")
			}
			if !strings.Contains(stderr.String(), "msg=stopped") {
				t.Errorf("no clean stop; stderr:\n%s", stderr.String())
			}
		})
	}
	stopMock()
}
