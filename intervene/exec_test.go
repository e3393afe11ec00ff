package intervene

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var since = time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)

func incident() Incident {
	return Incident{
		Monitor:  "checkout-api",
		Attempt:  2,
		Err:      errors.New("dial tcp: connection refused\nsecond line"),
		Since:    since,
		Failures: 4,
		Labels:   map[string]string{"team-name": "payments", "a.b": "first", "a_b": "second", "Zone": "eu-1"},
	}
}

func TestExecPassesArgsAndEnvironment(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"$(touch /tmp/pwned)", "two words", "*", "; exit 3"}
	r, err := Exec(self(t), args,
		WithEnv(helperEnv, "env"), WithEnv("CPRA_TEST_OUT", out), WithEnv("CUSTOM", "1"),
		WithEnv("CPRA_MONITOR", "overridden by the incident"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Remediate(context.Background(), incident()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var gotArgs []string
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, q, _ := strings.Cut(line, "=")
		v, err := strconv.Unquote(q)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		if k == "arg" {
			gotArgs = append(gotArgs, v)
			continue
		}
		name, value, _ := strings.Cut(v, "=")
		if _, dup := env[name]; dup {
			t.Errorf("variable %s appears twice", name)
		}
		env[name] = value
	}
	if strings.Join(gotArgs, "|") != strings.Join(args, "|") {
		t.Errorf("got args %q, want %q verbatim", gotArgs, args)
	}
	want := map[string]string{
		helperEnv:              "env",
		"CPRA_TEST_OUT":        out,
		"CUSTOM":               "1",
		"CPRA_MONITOR":         "checkout-api",
		"CPRA_ATTEMPT":         "2",
		"CPRA_ERROR":           "dial tcp: connection refused\nsecond line",
		"CPRA_SINCE":           "2025-01-02T15:04:05Z",
		"CPRA_FAILURES":        "4",
		"CPRA_LABEL_TEAM_NAME": "payments",
		"CPRA_LABEL_A_B":       "second",
		"CPRA_LABEL_ZONE":      "eu-1",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("got %s=%q, want %q", k, env[k], v)
		}
	}
	for k := range env {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected variable %s in the explicit environment", k)
		}
	}
}

func TestExecInheritEnv(t *testing.T) {
	t.Setenv("CPRA_TEST_INHERITED", "yes")
	r, err := Exec(self(t), nil, WithInheritEnv("CPRA_TEST_INHERITED", "CPRA_TEST_UNSET_VARIABLE"))
	if err != nil {
		t.Fatal(err)
	}
	env := r.environ(incident())
	if env[0] != "CPRA_TEST_INHERITED=yes" {
		t.Errorf("got %q first, want the inherited variable", env[0])
	}
	for _, e := range env {
		if strings.HasPrefix(e, "CPRA_TEST_UNSET_VARIABLE") {
			t.Errorf("unset variable passed as %q", e)
		}
	}
}

func TestExecNonZeroExit(t *testing.T) {
	r, err := Exec(self(t), nil, WithEnv(helperEnv, "exit"), WithEnv("CPRA_TEST_CODE", "3"))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Remediate(context.Background(), incident())
	var xe *ExecError
	if !errors.As(err, &xe) {
		t.Fatalf("got %v, want an *ExecError", err)
	}
	if xe.ExitCode != 3 || xe.Killed {
		t.Errorf("got exit code %d killed %v, want 3 false", xe.ExitCode, xe.Killed)
	}
	if !strings.Contains(xe.Output, "restart failed: unit not found") || !strings.Contains(err.Error(), "unit not found") {
		t.Errorf("got output %q / error %q, want the program's stderr", xe.Output, err)
	}
}

func TestExecMissingProgram(t *testing.T) {
	r, err := Exec(filepath.Join(t.TempDir(), "no-such-program"), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Remediate(context.Background(), incident())
	var xe *ExecError
	if !errors.As(err, &xe) || xe.ExitCode != -1 || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want an *ExecError for a missing file", err)
	}
}

func TestExecOutputBounded(t *testing.T) {
	r, err := Exec(self(t), nil, WithEnv(helperEnv, "flood"), WithOutputLimit(1024))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Remediate(context.Background(), incident())
	var xe *ExecError
	if !errors.As(err, &xe) {
		t.Fatalf("got %v, want an *ExecError", err)
	}
	if len(xe.Output) != 1024 {
		t.Errorf("kept %d bytes of output, want the last 1024", len(xe.Output))
	}
	if !strings.HasSuffix(xe.Output, "-TAIL") || strings.Contains(xe.Output, "HEAD-") {
		t.Errorf("got output ...%q, want only its tail", xe.Output[max(0, len(xe.Output)-40):])
	}
	if want := int64(len("HEAD-") + 1<<20 + len("-TAIL") - 1024); xe.Dropped != want {
		t.Errorf("got %d bytes dropped, want %d", xe.Dropped, want)
	}
	if !strings.Contains(err.Error(), "earlier bytes dropped") {
		t.Errorf("error %.120q... does not say output was dropped", err)
	}
	if len(err.Error()) > 1024+200 {
		t.Errorf("error message is %d bytes long", len(err.Error()))
	}
}

func TestExecDeadlineKillsProgram(t *testing.T) {
	r, err := Exec(self(t), nil, WithEnv(helperEnv, "sleep"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = r.Remediate(ctx, incident())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the deadline error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Remediate returned %v after the deadline", d)
	}
}

func TestExecConfigErrors(t *testing.T) {
	for name, fn := range map[string]func() error{
		"empty path":   func() error { _, err := Exec("", nil); return err },
		"NUL argument": func() error { _, err := Exec("/bin/true", []string{"a\x00b"}); return err },
		"bad env key":  func() error { _, err := Exec("/bin/true", nil, WithEnv("A=B", "c")); return err },
		"neg limit":    func() error { _, err := Exec("/bin/true", nil, WithOutputLimit(-1)); return err },
		"huge limit":   func() error { _, err := Exec("/bin/true", nil, WithOutputLimit(1<<20+1)); return err },
		"http option":  func() error { _, err := Exec("/bin/true", nil, WithHeader("A", "b")); return err },
	} {
		if err := fn(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}
