package config

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ziad/cpra/intervene"
)

// dockerSocket serves, on a unix socket, a Docker Engine that speaks API
// 1.41 and accepts every call, recording what it was sent.
func dockerSocket(t *testing.T) (socket string, calls func() []string) {
	t.Helper()
	socket = filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
		mu.Unlock()
		w.Header().Set("Api-Version", "1.41")
		switch {
		case r.URL.Path == "/_ping":
			io.WriteString(w, "OK")
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1.41/services/"):
			io.WriteString(w, `{"ID":"svc1","Version":{"Index":7},"Spec":{"Name":"api","Mode":{"Replicated":{"Replicas":2}}}}`)
		default:
			io.WriteString(w, `{"Warnings":null}`)
		}
	})}
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	t.Cleanup(func() { _ = srv.Close(); wg.Wait() })
	return socket, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// TestDockerInterventions loads the Docker interventions and runs them
// against a daemon on a unix socket, checking the calls they make.
func TestDockerInterventions(t *testing.T) {
	socket, calls := dockerSocket(t)
	text := fmt.Sprintf(`monitors:
  - name: restart
    pulse_check: {type: tcp, config: {address: "h:1"}}
    intervention:
      type: docker_restart
      config: {container: /web-1, socket: %[1]s, stop_timeout: 5s}
  - name: resize
    pulse_check: {type: tcp, config: {address: "h:1"}}
    intervention:
      type: docker_update
      config: {container: /web-1, cpus: 1.5, memory: 512m, memory_swap: unlimited, memory_reservation: 256MiB, socket: %[1]s}
  - name: scale-set
    pulse_check: {type: tcp, config: {address: "h:1"}}
    intervention:
      type: docker_scale
      config: {service: api, replicas: 5, socket: %[1]s}
  - name: scale-add
    pulse_check: {type: tcp, config: {address: "h:1"}}
    intervention:
      type: docker-scale
      max_attempts: 3
      config: {service: api, add: 2, max_replicas: 3, socket: %[1]s, timeout: 5s}
`, socket)
	f := mustLoad(t, text)
	want := [][]string{
		{"GET /_ping", "POST /v1.41/containers/web-1/restart?t=5"},
		{`POST /v1.41/containers/web-1/update {"NanoCpus":1500000000,"Memory":536870912,"MemorySwap":-1,"MemoryReservation":268435456}`},
		{"GET /v1.41/services/api", `POST /v1.41/services/svc1/update?version=7 {"Mode":{"Replicated":{"Replicas":5}},"Name":"api"}`},
		{"GET /v1.41/services/api", `POST /v1.41/services/svc1/update?version=7 {"Mode":{"Replicated":{"Replicas":3}},"Name":"api"}`},
	}
	for i, m := range f.Monitors {
		before := len(calls())
		if err := m.Remediate.Remediate(t.Context(), intervene.Incident{Monitor: m.Name, Attempt: 1}); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if got := calls()[before:]; strings.Join(got, "\n") != strings.Join(want[i], "\n") {
			t.Errorf("%s: got calls\n%s\nwant\n%s", m.Name, strings.Join(got, "\n"), strings.Join(want[i], "\n"))
		}
	}
	if got := f.Monitors[3].MaxRemediations; got != 3 {
		t.Errorf("got max attempts %d, want 3", got)
	}
}

func TestDockerSizes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"1073741824", 1 << 30, false},
		{"512m", 512 << 20, false},
		{"512MiB", 512 << 20, false},
		{"2g", 2 << 30, false},
		{"1.5G", 3 << 29, false},
		{"64kb", 64 << 10, false},
		{"12 parsecs", 0, true},
		{"-1g", 0, true},
		{"g", 0, true},
	}
	for _, tt := range tests {
		text := fmt.Sprintf(`monitors:
  - name: m
    pulse_check: {type: tcp, config: {address: "h:1"}}
    intervention: {type: docker_update, config: {container: web, memory_reservation: %q}}
`, tt.in)
		f, err := load(t, text)
		if tt.err {
			if err == nil || !strings.Contains(err.Error(), "is not a size") {
				t.Errorf("%q: got %v, want a size error", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if s, want := fmt.Sprint(f.Monitors[0].Remediate), fmt.Sprintf("memory_reservation=%d)", tt.want); !strings.HasSuffix(s, want) {
			t.Errorf("%q: got %s, want it to end in %s", tt.in, s, want)
		}
		f.Close()
	}
}
