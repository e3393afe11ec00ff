package config

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/pulse"
)

// TestEngineRunsLoadedMonitors builds an engine from a loaded file and runs
// it against a loopback server: the failing monitor goes red in the log, the
// healthy one sends nothing.
func TestEngineRunsLoadedMonitors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer func() {
		srv.Close()
		pulse.CloseIdleConnections()
	}()
	text := `monitors:
  - name: up
    pulse_check: {type: http, interval: 20ms, timeout: 1s, max_failures: 1, config: {url: "%[1]s/up"}}
    codes: &codes
      red: {notify: log}
      green: {notify: log}
  - name: down
    pulse_check: {type: http, interval: 20ms, timeout: 1s, max_failures: 1, config: {url: "%[1]s/down"}}
    codes: *codes
`
	out := &syncBuffer{wrote: make(chan struct{}, 1)}
	f, err := Load(strings.NewReader(fmt.Sprintf(text, srv.URL)), WithStdout(out))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	ids, err := f.AddTo(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.AddTo(e); err == nil || !strings.Contains(err.Error(), `monitors[0] "up": name: name already in use (line 2)`) {
		t.Errorf("adding twice: got %v, want the duplicate named with its line", err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for !strings.Contains(out.String(), `"monitor":"down","code":"red"`) {
		select {
		case <-out.wrote:
		case <-deadline.C:
			t.Fatalf("no red alert for the failing monitor; log: %s", out.String())
		}
	}
	st, err := e.Status(ids[1])
	if err != nil || st.State != cpra.StateDown {
		t.Errorf("status of down: %+v, %v", st, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), `"monitor":"up"`) {
		t.Errorf("the healthy monitor sent alerts: %s", out.String())
	}
}
