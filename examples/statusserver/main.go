// Statusserver embeds CPRA in an HTTP service. It starts three target
// services on loopback, monitors them, and serves the engine's view of them:
//
//	GET /status          every monitor, as a JSON list (Engine.Statuses)
//	GET /status/{name}   one monitor (Engine.Lookup, Engine.Status)
//	GET /page/           the status page of package statuspage
//
// The program then asks its own /status endpoint a few times while one target
// breaks and recovers, prints the answers, and shuts down. It needs no outside
// network and exits by itself.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/pulse"
	"github.com/ziad/cpra/statuspage"
)

// target is a loopback HTTP service whose /health answers 200 or 503.
type target struct {
	url     string
	healthy atomic.Bool
	srv     *http.Server
}

func startTarget() (*target, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &target{url: "http://" + ln.Addr().String() + "/health"}
	t.healthy.Store(true)
	t.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !t.healthy.Load() {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	}), ReadHeaderTimeout: 5 * time.Second}
	go t.srv.Serve(ln)
	return t, nil
}

func httpCheck(url string) pulse.CheckerFunc {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d, want 200", resp.StatusCode)
		}
		return nil
	}
}

// monitorStatus is the JSON form of a cpra.Status.
type monitorStatus struct {
	Name      string     `json:"name"`
	State     string     `json:"state"`
	Code      string     `json:"code,omitempty"`
	Failures  int        `json:"failures"`
	LastError string     `json:"last_error,omitempty"`
	LastCheck *time.Time `json:"last_check,omitempty"` // nil before the first check
}

func toJSON(s cpra.Status) monitorStatus {
	m := monitorStatus{
		Name:     s.Name,
		State:    s.State.String(),
		Failures: s.ConsecutiveFailures,
	}
	if !s.LastCheck.IsZero() {
		t := s.LastCheck.UTC().Truncate(time.Millisecond)
		m.LastCheck = &t
	}
	if s.Code != 0 {
		m.Code = s.Code.String()
	}
	if s.LastError != nil {
		m.LastError = s.LastError.Error()
	}
	return m
}

// statusHandler serves the engine's view of its monitors. The engine
// finds monitors by name and lists them itself, so the handler keeps
// nothing of its own.
type statusHandler struct {
	engine *cpra.Engine
}

func (h *statusHandler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", h.list)
	mux.HandleFunc("GET /status/{name}", h.one)
	// The ready-made status page, in HTML or JSON.
	mux.Handle("/page/", http.StripPrefix("/page", statuspage.New(h.engine)))
	return mux
}

func (h *statusHandler) list(w http.ResponseWriter, r *http.Request) {
	out := []monitorStatus{}
	for _, s := range h.engine.Statuses(cpra.StatusFilter{}) {
		out = append(out, toJSON(s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, out)
}

func (h *statusHandler) one(w http.ResponseWriter, r *http.Request) {
	id, ok := h.engine.Lookup(r.PathValue("name"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such monitor"})
		return
	}
	s, err := h.engine.Status(id)
	if errors.Is(err, cpra.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such monitor"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, toJSON(s))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	engine, err := cpra.New()
	if err != nil {
		return err
	}
	h := &statusHandler{engine: engine}

	targets := map[string]*target{}
	for _, name := range []string{"billing", "inventory", "search"} {
		t, err := startTarget()
		if err != nil {
			return err
		}
		defer t.srv.Close()
		targets[name] = t
		if _, err := engine.Add(cpra.Monitor{
			Name:             name,
			Check:            httpCheck(t.url),
			Interval:         100 * time.Millisecond,
			Timeout:          time.Second,
			FailureThreshold: 2,
			SuccessThreshold: 2,
		}); err != nil {
			return err
		}
	}
	if err := engine.Start(context.Background()); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h.routes(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	fmt.Println("serving", base+"/status")

	show := func(what, path string) error {
		resp, err := http.Get(base + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		fmt.Printf("\n== %s: GET %s -> %s\n%s", what, path, resp.Status, body)
		return nil
	}
	// waitFor polls the engine until the named monitor reaches state.
	waitFor := func(name string, state cpra.State) error {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			id, ok := engine.Lookup(name)
			if !ok {
				return fmt.Errorf("no monitor %s", name)
			}
			s, err := engine.Status(id)
			if err != nil {
				return err
			}
			if s.State == state {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return fmt.Errorf("%s did not become %s within 5s", name, state)
	}

	steps := []struct {
		what   string
		before func()
		name   string
		state  cpra.State
		path   string
	}{
		{"all healthy", nil, "inventory", cpra.StateUp, "/status"},
		{"inventory broken", func() { targets["inventory"].healthy.Store(false) }, "inventory", cpra.StateDown, "/status"},
		{"one monitor", nil, "inventory", cpra.StateDown, "/status/inventory"},
		{"inventory recovered", func() { targets["inventory"].healthy.Store(true) }, "inventory", cpra.StateUp, "/status"},
		{"unknown monitor", nil, "inventory", cpra.StateUp, "/status/nope"},
	}
	for name := range targets {
		if err := waitFor(name, cpra.StateUp); err != nil {
			return err
		}
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		if err := waitFor(st.name, st.state); err != nil {
			return err
		}
		if err := show(st.what, st.path); err != nil {
			return err
		}
	}
	// The status page answers JSON at the same paths when asked.
	req, _ := http.NewRequest("GET", base+"/page/", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	var page statuspage.Overview
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil {
		return err
	}
	fmt.Printf("\n== the status page: GET /page/ (JSON) -> %d monitors: %d up, %d down\n",
		page.Counts.Monitors, page.Counts.Up, page.Counts.Down)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := engine.Shutdown(ctx); err != nil {
		return err
	}
	st := engine.Stats()
	fmt.Fprintf(os.Stdout, "\nshut down cleanly after %d checks (%d failed)\n", st.ChecksRun, st.ChecksFailed)
	return nil
}
