package intervene

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// realDocker is a Docker Engine reachable on this machine, driven over its
// API for the test's own setup.
type realDocker struct {
	t      *testing.T
	socket string
	client *http.Client
}

// reachableDocker returns the daemon on $CPRA_DOCKER_SOCKET, on DOCKER_HOST
// (unix:// only) or on DefaultDockerSocket, or skips the test saying which
// sockets it tried.
func reachableDocker(t *testing.T) *realDocker {
	t.Helper()
	var tried []string
	for _, s := range []string{os.Getenv("CPRA_DOCKER_SOCKET"), strings.TrimPrefix(os.Getenv("DOCKER_HOST"), "unix://"), DefaultDockerSocket} {
		if s == "" || strings.Contains(s, "://") {
			continue
		}
		d := &realDocker{t: t, socket: s, client: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dl net.Dialer
				return dl.DialContext(ctx, "unix", s)
			},
			DisableKeepAlives: true,
		}}}
		if status, _, err := d.try(http.MethodGet, "/_ping", nil, nil); err == nil && status == http.StatusOK {
			return d
		} else {
			tried = append(tried, fmt.Sprintf("%s (%v, status %d)", s, err, status))
		}
	}
	t.Skipf("no Docker daemon reachable: tried %s; start dockerd or set CPRA_DOCKER_SOCKET to run this test", strings.Join(tried, ", "))
	return nil
}

func (d *realDocker) try(method, path string, query url.Values, body io.Reader) (int, []byte, error) {
	u := "http://docker" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// do calls the daemon and fails the test unless the status is one of want.
func (d *realDocker) do(method, path string, query url.Values, body any, want ...int) []byte {
	d.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		rd = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			d.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	status, out, err := d.try(method, path, query, rd)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	for _, w := range want {
		if status == w {
			return out
		}
	}
	d.t.Fatalf("%s %s: status %d, want %v: %s", method, path, status, want, out)
	return nil
}

// pauseImage builds a program that waits for SIGTERM, without cgo, and
// imports it as a one-file image: no registry is needed.
func (d *realDocker) pauseImage(tag string) string {
	d.t.Helper()
	dir := d.t.TempDir()
	src := "package main\n\nimport (\n\t\"os\"\n\t\"os/signal\"\n\t\"syscall\"\n)\n\nfunc main() {\n\tc := make(chan os.Signal, 1)\n\tsignal.Notify(c, syscall.SIGTERM, syscall.SIGINT)\n\t<-c\n}\n"
	for name, text := range map[string]string{"main.go": src, "go.mod": "module pause\n\ngo 1.21\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			d.t.Fatal(err)
		}
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "pause")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		d.t.Skipf("cannot build the container's program: %v: %s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		d.t.Fatal(err)
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "pause", Mode: 0o755, Size: int64(len(exe)), Typeflag: tar.TypeReg})
	tw.Write(exe)
	tw.Close()
	image := "cpra-test-pause:" + tag
	out := d.do(http.MethodPost, "/images/create", url.Values{
		"fromSrc": {"-"}, "repo": {"cpra-test-pause"}, "tag": {tag}, "changes": {`CMD ["/pause"]`},
	}, &tb, http.StatusOK)
	if bytes.Contains(out, []byte(`"error"`)) {
		d.t.Fatalf("importing the image: %s", out)
	}
	d.t.Cleanup(func() { d.try(http.MethodDelete, "/images/"+image, url.Values{"force": {"1"}}, nil) })
	return image
}

type inspected struct {
	State struct {
		Running   bool
		StartedAt time.Time
	}
	HostConfig struct {
		NanoCpus, Memory, MemorySwap int64
	}
}

func (d *realDocker) inspect(name string) inspected {
	d.t.Helper()
	var c inspected
	if err := json.Unmarshal(d.do(http.MethodGet, "/containers/"+name+"/json", nil, nil, http.StatusOK), &c); err != nil {
		d.t.Fatal(err)
	}
	return c
}

// TestDockerRealDaemon runs the Docker remediators against a real dockerd,
// when one is reachable: restart (by a name with a leading "/"), resource
// update, and, when the daemon is a swarm manager, service scaling. The
// API version is negotiated with whatever daemon it is.
func TestDockerRealDaemon(t *testing.T) {
	d := reachableDocker(t)
	var ver struct{ Version, APIVersion, MinAPIVersion string }
	json.Unmarshal(d.do(http.MethodGet, "/version", nil, nil, http.StatusOK), &ver)
	t.Logf("daemon on %s: Docker %s, API %s (min %s)", d.socket, ver.Version, ver.APIVersion, ver.MinAPIVersion)

	tag := fmt.Sprintf("t%08x", rand.Uint32())
	image := d.pauseImage(tag)
	name := "cpra-test-" + tag
	d.do(http.MethodPost, "/containers/create", url.Values{"name": {name}}, map[string]any{
		"Image":      image,
		"HostConfig": map[string]any{"NetworkMode": "none", "Memory": 64 << 20},
	}, http.StatusCreated)
	t.Cleanup(func() { d.try(http.MethodDelete, "/containers/"+name, url.Values{"force": {"1"}}, nil) })
	d.do(http.MethodPost, "/containers/"+name+"/start", nil, nil, http.StatusNoContent)
	ctx := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		t.Cleanup(cancel)
		return ctx
	}

	t.Run("restart", func(t *testing.T) {
		before := d.inspect(name)
		r := must(DockerRestart("/"+name, WithSocket(d.socket), WithStopTimeout(5*time.Second)))
		if err := r.Remediate(ctx(), incident()); err != nil {
			t.Fatal(err)
		}
		after := d.inspect(name)
		if !after.State.Running || !after.State.StartedAt.After(before.State.StartedAt) {
			t.Errorf("got running %v, started %v (before %v), want a new start", after.State.Running, after.State.StartedAt, before.State.StartedAt)
		}
	})
	t.Run("update", func(t *testing.T) {
		r := must(DockerUpdate(name, WithSocket(d.socket), WithCPUs(0.5), WithMemory(128<<20), WithMemorySwap(256<<20)))
		if err := r.Remediate(ctx(), incident()); err != nil {
			t.Fatal(err)
		}
		hc := d.inspect(name).HostConfig
		if hc.NanoCpus != 5e8 || hc.Memory != 128<<20 || hc.MemorySwap != 256<<20 {
			t.Errorf("got NanoCpus %d, Memory %d, MemorySwap %d, want 5e8, 128 MiB, 256 MiB", hc.NanoCpus, hc.Memory, hc.MemorySwap)
		}
		// Memory above the memory+swap limit, without raising that.
		err := must(DockerUpdate(name, WithSocket(d.socket), WithMemory(512<<20))).Remediate(ctx(), incident())
		var se *StatusError
		if !errors.As(err, &se) || se.Status < 400 || se.Message == "" {
			t.Errorf("got %v, want a *StatusError with Docker's message", err)
		}
		t.Logf("memory above memory+swap: %v", err)
	})
	t.Run("no such container", func(t *testing.T) {
		err := must(DockerRestart(name+"-gone", WithSocket(d.socket))).Remediate(ctx(), incident())
		if !errors.Is(err, ErrNoSuchContainer) {
			t.Errorf("got %v, want ErrNoSuchContainer", err)
		}
	})
	t.Run("swarm scale", func(t *testing.T) {
		var info struct {
			Swarm struct {
				LocalNodeState   string
				ControlAvailable bool
			}
		}
		json.Unmarshal(d.do(http.MethodGet, "/info", nil, nil, http.StatusOK), &info)
		if info.Swarm.LocalNodeState != "active" || !info.Swarm.ControlAvailable {
			err := must(DockerScale(name, WithSocket(d.socket), WithReplicas(2))).Remediate(ctx(), incident())
			t.Logf("not a swarm manager: %v", err)
			t.Skipf("the daemon is not a swarm manager (swarm state %q); run docker swarm init to test service scaling", info.Swarm.LocalNodeState)
		}
		var created struct{ ID string }
		json.Unmarshal(d.do(http.MethodPost, "/services/create", nil, map[string]any{
			"Name":         name,
			"Labels":       map[string]string{"cpra.test": "scale"},
			"TaskTemplate": map[string]any{"ContainerSpec": map[string]any{"Image": image}},
			"Mode":         map[string]any{"Replicated": map[string]any{"Replicas": 1}},
		}, http.StatusCreated), &created)
		t.Cleanup(func() { d.try(http.MethodDelete, "/services/"+created.ID, nil, nil) })
		spec := func() (replicas uint64, labels map[string]string, image string) {
			var s struct {
				Spec struct {
					Labels       map[string]string
					TaskTemplate struct{ ContainerSpec struct{ Image string } }
					Mode         struct{ Replicated struct{ Replicas uint64 } }
				}
			}
			json.Unmarshal(d.do(http.MethodGet, "/services/"+created.ID, nil, nil, http.StatusOK), &s)
			return s.Spec.Mode.Replicated.Replicas, s.Spec.Labels, s.Spec.TaskTemplate.ContainerSpec.Image
		}
		for _, step := range []struct {
			opt  Option
			want uint64
			err  error
		}{
			{WithReplicas(2), 2, nil},
			{WithAddReplicas(2, 3), 3, nil},
			{WithAddReplicas(2, 3), 3, ErrScaleLimit},
		} {
			r := must(DockerScale(name, WithSocket(d.socket), step.opt))
			err := r.Remediate(ctx(), incident())
			if step.err == nil && err != nil || step.err != nil && !errors.Is(err, step.err) {
				t.Fatalf("%v: got %v, want %v", r, err, step.err)
			}
			n, labels, img := spec()
			if n != step.want || labels["cpra.test"] != "scale" || img != image {
				t.Errorf("%v: got %d replicas, labels %v, image %q; want %d and the rest unchanged", r, n, labels, img, step.want)
			}
			// The swarm acts on it: as many tasks run as the count says.
			if got := d.runningTasks(created.ID, int(step.want)); got != int(step.want) {
				t.Errorf("%v: %d tasks running after a minute, want %d", r, got, step.want)
			}
		}
		err := must(DockerScale(name+"-gone", WithSocket(d.socket), WithReplicas(1))).Remediate(ctx(), incident())
		if !errors.Is(err, ErrNoSuchService) {
			t.Errorf("got %v, want ErrNoSuchService", err)
		}
	})
}

// runningTasks waits up to a minute for want tasks of the service to run,
// and returns how many run.
func (d *realDocker) runningTasks(service string, want int) int {
	d.t.Helper()
	filters, _ := json.Marshal(map[string][]string{"service": {service}, "desired-state": {"running"}})
	n := 0
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var tasks []struct{ Status struct{ State string } }
		json.Unmarshal(d.do(http.MethodGet, "/tasks", url.Values{"filters": {string(filters)}}, nil, http.StatusOK), &tasks)
		n = 0
		for _, task := range tasks {
			if task.Status.State == "running" {
				n++
			}
		}
		if n == want || time.Now().After(deadline) {
			return n
		}
	}
}
