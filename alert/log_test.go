package alert

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLogWritesOneJSONLinePerAlert(t *testing.T) {
	var buf bytes.Buffer
	n := Log(&buf)
	a := redAlert()
	if err := n.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), withCode(a, Green)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	var p Payload
	if err := json.Unmarshal([]byte(lines[0]), &p); err != nil {
		t.Fatalf("line 1 is not JSON: %v", err)
	}
	if p.Version != PayloadVersion || p.Monitor != a.Monitor || p.Code != "red" || !p.Time.Equal(a.At) ||
		!p.Since.Equal(a.Since) || p.Error != a.Err.Error() || p.Failures != 3 || p.Attempt != 2 ||
		p.Labels["team"] != "payments" || p.ID == "" {
		t.Errorf("got payload %+v, want the fields of %+v", p, a)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &raw)
	if got, want := raw["time"], a.At.Format(time.RFC3339Nano); got != want {
		t.Errorf("got time %v, want %v", got, want)
	}
	var g map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &g); err != nil {
		t.Fatal(err)
	}
	if g["code"] != "green" {
		t.Errorf("got code %v, want green", g["code"])
	}
	if _, ok := g["error"]; ok {
		t.Errorf("green line has an error field: %s", lines[1])
	}
}

func TestLogFileAppendsConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.log")
	if err := os.WriteFile(path, []byte("earlier line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := LogFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				a := redAlert()
				a.Failures = w*1000 + i
				if err := n.Notify(context.Background(), a); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	err = n.Notify(context.Background(), redAlert())
	if !errors.Is(err, ErrClosed) || Retryable(err) {
		t.Errorf("Notify after Close: got %v (retryable %v), want ErrClosed, not retryable", err, Retryable(err))
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	if sc.Text() != "earlier line" {
		t.Fatalf("got first line %q, want the earlier content kept", sc.Text())
	}
	seen := map[int]bool{}
	for sc.Scan() {
		var p Payload
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("line %q is not one JSON object: %v", sc.Text(), err)
		}
		seen[p.Failures] = true
	}
	if len(seen) != writers*each {
		t.Errorf("got %d distinct lines, want %d", len(seen), writers*each)
	}
}

func TestLogHonoursCanceledContext(t *testing.T) {
	var buf bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Log(&buf).Notify(ctx, redAlert())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %q after cancel, want nothing", buf.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogWriteErrorIsRetryable(t *testing.T) {
	err := Log(failingWriter{}).Notify(context.Background(), redAlert())
	if de := deliveryError(t, err); !de.Retryable || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("got %v, want a retryable error naming the cause", err)
	}
}

func TestLogFileBadPath(t *testing.T) {
	if _, err := LogFile(filepath.Join(t.TempDir(), "missing", "a.log")); err == nil {
		t.Error("got nil error for a path in a missing directory")
	}
}

func TestLogFlapAndGroup(t *testing.T) {
	var buf bytes.Buffer
	n := Log(&buf)
	for _, a := range []Alert{redAlert(), flapStart(), flapEnd(Green), groupAlert(3, Red), groupAlert(1000, Red)} {
		if err := n.Notify(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want 5", len(lines))
	}
	raw := make([]map[string]any, len(lines))
	ps := make([]Payload, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &raw[i]); err != nil {
			t.Fatalf("line %d is not JSON: %v", i+1, err)
		}
		_ = json.Unmarshal([]byte(l), &ps[i])
	}
	for _, k := range []string{"flap", "members"} {
		if _, ok := raw[0][k]; ok {
			t.Errorf("a plain alert's line has %q: %s", k, lines[0])
		}
	}
	if ps[1].Flap != "flap-start" || ps[1].Code != "yellow" || ps[1].Headline() != "checkout-api is flapping" {
		t.Errorf("flap start: got %s", lines[1])
	}
	if ps[2].Flap != "flap-end" || ps[2].Code != "green" || ps[2].Headline() != "checkout-api stopped flapping (now green)" {
		t.Errorf("flap end: got %s", lines[2])
	}
	if _, ok := raw[1]["members"]; ok {
		t.Errorf("a flap alert's line has members: %s", lines[1])
	}
	for i, size := range map[int]int{3: 3, 4: 1000} {
		p := ps[i]
		if p.Monitor != "zone=eu-1" || p.Labels["zone"] != "eu-1" || len(p.Labels) != 1 || p.Flap != "" {
			t.Errorf("group of %d: got monitor %q labels %v flap %q", size, p.Monitor, p.Labels, p.Flap)
		}
		// The payload lists every member, the last as well as the first.
		if len(p.Members) != size {
			t.Fatalf("group of %d: got %d members", size, len(p.Members))
		}
		last := p.Members[size-1]
		if last.Monitor != fmt.Sprintf("api-%04d", size) || last.Failures != 3 || last.Error == "" ||
			last.Since.IsZero() || last.Time.IsZero() || last.Labels["team"] != "payments" {
			t.Errorf("group of %d: got last member %+v", size, last)
		}
		if _, ok := raw[i]["members"].([]any)[0].(map[string]any)["flap"]; ok {
			t.Errorf("group of %d: a member without flap has a flap field", size)
		}
	}
	if ps[3].ID == ps[4].ID {
		t.Errorf("two groups share id %s", ps[3].ID)
	}
}
