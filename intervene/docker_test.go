package intervene

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDocker serves the container restart endpoint of the Docker Engine API
// on a unix socket: 204 for a known container, 404 with {"message"} for an
// unknown one, 500 for one that fails to restart.
type fakeDocker struct {
	socket string
	mu     sync.Mutex
	uris   []string
}

func newFakeDocker(t *testing.T) *fakeDocker {
	t.Helper()
	d := &fakeDocker{socket: filepath.Join(t.TempDir(), "d.sock")}
	ln, err := net.Listen("unix", d.socket)
	if err != nil {
		t.Fatal(err)
	}
	restart := func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.uris = append(d.uris, r.URL.RequestURI())
		d.mu.Unlock()
		reply := func(status int, msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
		}
		if v := r.URL.Query().Get("t"); v != "" {
			if _, err := strconv.Atoi(v); err != nil {
				reply(http.StatusBadRequest, "invalid t")
				return
			}
		}
		switch id := r.PathValue("id"); id {
		case "web", "4f2a9c1b7e3d":
			w.WriteHeader(http.StatusNoContent)
		case "broken":
			reply(http.StatusInternalServerError, "Cannot restart container broken: OCI runtime error")
		case "slow":
			<-r.Context().Done()
		default:
			reply(http.StatusNotFound, "No such container: "+id)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1.44/containers/{id}/restart", restart)
	mux.HandleFunc("POST /v1.47/containers/{id}/restart", restart)
	mux.HandleFunc("POST /containers/{id}/restart", restart)
	srv := &http.Server{Handler: mux}
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	t.Cleanup(func() { _ = srv.Close(); wg.Wait() })
	return d
}

func (d *fakeDocker) requests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.uris...)
}

func TestDockerRestart(t *testing.T) {
	d := newFakeDocker(t)
	tests := []struct {
		name      string
		container string
		opts      []Option
		wantURI   string
		wantErr   error
		status    int
	}{
		{"restart", "web", nil, "/v1.44/containers/web/restart", nil, 0},
		{"by id with stop timeout", "4f2a9c1b7e3d", []Option{WithStopTimeout(1500 * time.Millisecond)}, "/v1.44/containers/4f2a9c1b7e3d/restart?t=2", nil, 0},
		{"kill at once", "web", []Option{WithStopTimeout(0)}, "/v1.44/containers/web/restart?t=0", nil, 0},
		{"other API version", "web", []Option{WithAPIVersion("1.47")}, "/v1.47/containers/web/restart", nil, 0},
		{"unversioned", "web", []Option{WithAPIVersion("")}, "/containers/web/restart", nil, 0},
		{"no such container", "ghost", nil, "/v1.44/containers/ghost/restart", ErrNoSuchContainer, 404},
		{"daemon error", "broken", nil, "/v1.44/containers/broken/restart", nil, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(d.requests())
			r, err := DockerRestart(tt.container, append(tt.opts, WithSocket(d.socket))...)
			if err != nil {
				t.Fatal(err)
			}
			err = r.Remediate(context.Background(), incident())
			if got := d.requests(); len(got) != before+1 || got[before] != tt.wantURI {
				t.Errorf("got requests %q, want one more: %s", got[before:], tt.wantURI)
			}
			if tt.status == 0 {
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Status != tt.status {
				t.Fatalf("got %v, want a *StatusError with status %d", err, tt.status)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want it to wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(se.Message, tt.container) || strings.Contains(se.Message, "{") {
				t.Errorf("got message %q, want Docker's message", se.Message)
			}
		})
	}
}

func TestDockerRestartHonoursContext(t *testing.T) {
	d := newFakeDocker(t)
	r, err := DockerRestart("slow", WithSocket(d.socket))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Remediate(ctx, incident()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the deadline error", err)
	}
}

func TestDockerRestartNoDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "missing.sock")
	r, err := DockerRestart("web", WithSocket(sock))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Remediate(context.Background(), incident())
	if err == nil || !strings.Contains(err.Error(), sock) {
		t.Errorf("got %v, want an error naming the socket", err)
	}
}

func TestDockerRestartConfigErrors(t *testing.T) {
	for name, fn := range map[string]func() error{
		"empty name":       func() error { _, err := DockerRestart(""); return err },
		"path in name":     func() error { _, err := DockerRestart("../../images/x"); return err },
		"query in name":    func() error { _, err := DockerRestart("web?t=0"); return err },
		"bad version":      func() error { _, err := DockerRestart("web", WithAPIVersion("v1/../x")); return err },
		"negative timeout": func() error { _, err := DockerRestart("web", WithStopTimeout(-time.Second)); return err },
		"http option":      func() error { _, err := DockerRestart("web", WithExpectStatus(200)); return err },
	} {
		if err := fn(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}
