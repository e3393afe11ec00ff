package intervene

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// dockerProfile is how one Docker release answers: its API version range,
// its Server header and how it writes an empty warnings list.
type dockerProfile struct {
	name, api, minAPI, server, warnings string
}

var (
	// Debian 12's docker.io.
	docker2010 = dockerProfile{"Docker 20.10", "1.41", "1.12", "Docker/20.10.24+dfsg1 (linux)", "null"}
	docker27   = dockerProfile{"Docker 27", "1.47", "1.24", "Docker/27.5.1 (linux)", "[]"}
)

// dockerReq is one request the fake daemon saw.
type dockerReq struct{ method, uri, body string }

func (r dockerReq) String() string {
	if r.body == "" {
		return r.method + " " + r.uri
	}
	return r.method + " " + r.uri + " " + r.body
}

type fakeContainer struct {
	id                                     string
	nanoCPUs, memory, memorySwap, memReser int64
	restarts                               int
}

type fakeService struct {
	id      string
	version uint64
	spec    json.RawMessage
}

// fakeDockerd answers on a unix socket the way the Docker Engine of its
// profile does, for the calls the remediators make: GET /_ping, the
// version prefix (refused beyond the profile's range with Docker's words),
// container restart and update, and service inspect and update with swarm's
// version check. It keeps containers and services as state.
type fakeDockerd struct {
	p      dockerProfile
	socket string
	stop   func() // ends the daemon (and removes its socket)

	mu         sync.Mutex
	reqs       []dockerReq
	containers map[string]*fakeContainer
	services   map[string]*fakeService
	swarm      bool
	raceUpdate int // versions bumped after the next service reads, as by another client
}

var versionPrefix = regexp.MustCompile(`^/v([0-9.]+)(/.*)$`)

func newFakeDockerd(t *testing.T, p dockerProfile) *fakeDockerd {
	t.Helper()
	return startFakeDockerd(t, p, filepath.Join(t.TempDir(), "docker.sock"))
}

func startFakeDockerd(t *testing.T, p dockerProfile, socket string) *fakeDockerd {
	t.Helper()
	d := &fakeDockerd{
		p: p, socket: socket, swarm: true,
		containers: map[string]*fakeContainer{},
		services:   map[string]*fakeService{},
	}
	web := &fakeContainer{id: "4f2a9c1b7e3d5a6b", memory: 64 << 20, memorySwap: 128 << 20}
	d.containers["web"], d.containers[web.id] = web, web
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux() // cleans paths with a 301, as the daemon's router does
	mux.HandleFunc("/", d.serve)
	srv := &http.Server{Handler: mux}
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	var once sync.Once
	d.stop = func() { once.Do(func() { _ = srv.Close(); wg.Wait() }) }
	t.Cleanup(d.stop)
	return d
}

// addService adds a replicated service (or a global one when replicas < 0)
// with a spec that has more than the scale touches.
func (d *fakeDockerd) addService(name string, replicas int) *fakeService {
	mode := `{"Global":{}}`
	if replicas >= 0 {
		mode = fmt.Sprintf(`{"Replicated":{"Replicas":%d}}`, replicas)
	}
	spec := `{"Name":"` + name + `","Labels":{"team":"payments"},` +
		`"TaskTemplate":{"ContainerSpec":{"Image":"registry.test/` + name + `:1.4","Env":["MODE=prod"],"Init":false},` +
		`"Resources":{"Limits":{"MemoryBytes":268435456},"Reservations":{}},"RestartPolicy":{"Condition":"any","MaxAttempts":0},"ForceUpdate":0,"Runtime":"container"},` +
		`"Mode":` + mode + `,"UpdateConfig":{"Parallelism":1,"FailureAction":"pause","Order":"stop-first"},"EndpointSpec":{"Mode":"vip"}}`
	s := &fakeService{id: "q8sm2yd3m7lh0z7e4c0h9tgwb" + name, version: 11, spec: json.RawMessage(spec)}
	d.mu.Lock()
	d.services[name], d.services[s.id] = s, s
	d.mu.Unlock()
	return s
}

func (d *fakeDockerd) requests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, len(d.reqs))
	for i, r := range d.reqs {
		out[i] = r.String()
	}
	return out
}

func (d *fakeDockerd) reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Api-Version", d.p.api)
	w.Header().Set("Server", d.p.server)
	if body == "" {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body+"\n")
}

func (d *fakeDockerd) fail(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"message": msg})
	d.reply(w, status, string(b))
}

func (d *fakeDockerd) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reqs = append(d.reqs, dockerReq{r.Method, r.URL.RequestURI(), strings.TrimSpace(string(body))})
	path := r.URL.Path
	if m := versionPrefix.FindStringSubmatch(path); m != nil {
		switch v := m[1]; {
		case versionLess(d.p.api, v):
			d.fail(w, http.StatusBadRequest, "client version "+v+" is too new. Maximum supported API version is "+d.p.api)
			return
		case versionLess(v, d.p.minAPI):
			d.fail(w, http.StatusBadRequest, "client version "+v+" is too old. Minimum supported API version is "+d.p.minAPI+", please upgrade your client to a newer version")
			return
		}
		path = m[2]
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && path == "/_ping":
		w.Header().Set("Docker-Experimental", "false")
		w.Header().Set("Ostype", "linux")
		w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		d.reply(w, http.StatusOK, "")
		io.WriteString(w, "OK")
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "containers" && parts[2] == "restart":
		c := d.containers[parts[1]]
		if v := r.URL.Query().Get("t"); v != "" {
			if _, err := strconv.Atoi(v); err != nil {
				d.fail(w, http.StatusBadRequest, "invalid t")
				return
			}
		}
		switch {
		case parts[1] == "broken":
			d.fail(w, http.StatusInternalServerError, "Cannot restart container broken: OCI runtime error")
		case parts[1] == "slow":
			d.mu.Unlock()
			<-r.Context().Done()
			d.mu.Lock()
		case c == nil:
			d.fail(w, http.StatusNotFound, "No such container: "+parts[1])
		default:
			c.restarts++
			d.reply(w, http.StatusNoContent, "")
		}
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "containers" && parts[2] == "update":
		c := d.containers[parts[1]]
		if c == nil {
			d.fail(w, http.StatusNotFound, "No such container: "+parts[1])
			return
		}
		var u struct{ NanoCpus, Memory, MemorySwap, MemoryReservation int64 }
		dec := json.NewDecoder(strings.NewReader(string(body)))
		if err := dec.Decode(&u); err != nil {
			d.fail(w, http.StatusBadRequest, err.Error())
			return
		}
		if u.Memory != 0 && u.MemorySwap == 0 && c.memorySwap > 0 && u.Memory > c.memorySwap {
			d.fail(w, http.StatusConflict, "Cannot update container "+c.id+": Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time")
			return
		}
		if u.NanoCpus != 0 {
			c.nanoCPUs = u.NanoCpus
		}
		if u.Memory != 0 {
			c.memory = u.Memory
		}
		if u.MemorySwap != 0 {
			c.memorySwap = u.MemorySwap
		}
		if u.MemoryReservation != 0 {
			c.memReser = u.MemoryReservation
		}
		d.reply(w, http.StatusOK, `{"Warnings":`+d.p.warnings+`}`)
	case len(parts) >= 2 && parts[0] == "services":
		if !d.swarm {
			d.fail(w, http.StatusServiceUnavailable, `This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.`)
			return
		}
		s := d.services[parts[1]]
		if s == nil {
			d.fail(w, http.StatusNotFound, "service "+parts[1]+" not found")
			return
		}
		switch {
		case r.Method == http.MethodGet && len(parts) == 2:
			out := fmt.Sprintf(`{"ID":%q,"Version":{"Index":%d},"CreatedAt":"2026-11-30T09:12:44.1Z","UpdatedAt":"2026-11-30T09:12:44.1Z","Spec":%s,"Endpoint":{"Spec":{}}}`,
				s.id, s.version, s.spec)
			if d.raceUpdate > 0 {
				d.raceUpdate--
				s.version += 3
			}
			d.reply(w, http.StatusOK, out)
		case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "update":
			v := r.URL.Query().Get("version")
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				d.fail(w, http.StatusBadRequest, fmt.Sprintf("invalid service version '%s': %v", v, err))
				return
			}
			if n != s.version {
				d.fail(w, http.StatusInternalServerError, "rpc error: code = Unknown desc = update out of sequence")
				return
			}
			if !json.Valid(body) {
				d.fail(w, http.StatusBadRequest, "invalid JSON")
				return
			}
			s.spec = json.RawMessage(body)
			s.version++
			d.reply(w, http.StatusOK, `{"Warnings":`+d.p.warnings+`}`)
		default:
			d.fail(w, http.StatusNotFound, "page not found")
		}
	default:
		d.fail(w, http.StatusNotFound, "page not found")
	}
}

func mustRemediate(t *testing.T, r Remediator) error {
	t.Helper()
	return r.Remediate(t.Context(), incident())
}

// wantStatusErr checks that err is a *StatusError with status and Docker's
// message, wrapping sentinel when it is not nil.
func wantStatusErr(t *testing.T, err error, status int, sentinel error, msg string) {
	t.Helper()
	var se *StatusError
	if !errors.As(err, &se) || se.Status != status {
		t.Fatalf("got %v, want a *StatusError with status %d", err, status)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("got %v, want it to wrap %v", err, sentinel)
	}
	if !strings.Contains(se.Message, msg) || strings.Contains(se.Message, "{") {
		t.Errorf("got message %q, want Docker's message containing %q", se.Message, msg)
	}
}

func TestDockerRestart(t *testing.T) {
	for _, p := range []struct {
		dockerProfile
		prefix string // the negotiated version
	}{{docker2010, "/v1.41"}, {docker27, "/v1.44"}} {
		t.Run(p.name, func(t *testing.T) {
			d := newFakeDockerd(t, p.dockerProfile)
			tests := []struct {
				name      string
				container string
				opts      []Option
				wantURI   string
				status    int
				sentinel  error
				msg       string
			}{
				{"restart", "web", nil, "POST " + p.prefix + "/containers/web/restart", 0, nil, ""},
				{"name as docker inspect prints it", "/web", nil, "POST " + p.prefix + "/containers/web/restart", 0, nil, ""},
				{"by id with stop timeout", "4f2a9c1b7e3d5a6b", []Option{WithStopTimeout(1500 * time.Millisecond)},
					"POST " + p.prefix + "/containers/4f2a9c1b7e3d5a6b/restart?t=2", 0, nil, ""},
				{"kill at once", "web", []Option{WithStopTimeout(0)}, "POST " + p.prefix + "/containers/web/restart?t=0", 0, nil, ""},
				{"fixed API version", "web", []Option{WithAPIVersion("1.40")}, "POST /v1.40/containers/web/restart", 0, nil, ""},
				{"unversioned", "web", []Option{WithAPIVersion("")}, "POST /containers/web/restart", 0, nil, ""},
				{"no such container", "ghost", nil, "POST " + p.prefix + "/containers/ghost/restart", 404, ErrNoSuchContainer, "No such container: ghost"},
				{"daemon error", "broken", nil, "POST " + p.prefix + "/containers/broken/restart", 500, nil, "OCI runtime error"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := len(d.requests())
					r, err := DockerRestart(tt.container, append(tt.opts, WithSocket(d.socket))...)
					if err != nil {
						t.Fatal(err)
					}
					err = mustRemediate(t, r)
					got := d.requests()[before:]
					if len(got) == 0 || got[len(got)-1] != tt.wantURI {
						t.Errorf("got requests %q, want the last one %s", got, tt.wantURI)
					}
					if tt.status == 0 {
						if err != nil {
							t.Errorf("got %v, want nil", err)
						}
						return
					}
					wantStatusErr(t, err, tt.status, tt.sentinel, tt.msg)
				})
			}
			if got := d.requests(); got[0] != "GET /_ping" || strings.Count(strings.Join(got, "\n"), "/_ping") != 1 {
				t.Errorf("got requests %q, want one GET /_ping first", got)
			}
		})
	}
}

// TestDockerNegotiation checks that the API version is asked once per
// daemon and shared by its remediators, that a fixed version is not
// negotiated, and that a daemon replaced on the same socket by an older one
// is negotiated with again when it refuses the version.
func TestDockerNegotiation(t *testing.T) {
	d := newFakeDockerd(t, docker2010)
	restart := must(DockerRestart("web", WithSocket(d.socket)))
	update := must(DockerUpdate("web", WithSocket(d.socket), WithCPUs(2)))
	for _, r := range []Remediator{restart, update, restart} {
		if err := mustRemediate(t, r); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"GET /_ping",
		"POST /v1.41/containers/web/restart",
		`POST /v1.41/containers/web/update {"NanoCpus":2000000000}`,
		"POST /v1.41/containers/web/restart",
	}
	if got := d.requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	t.Run("fixed version too new", func(t *testing.T) {
		before := len(d.requests())
		err := mustRemediate(t, must(DockerRestart("web", WithSocket(d.socket), WithAPIVersion("1.44"))))
		wantStatusErr(t, err, 400, nil, "client version 1.44 is too new. Maximum supported API version is 1.41")
		if got := d.requests()[before:]; len(got) != 1 {
			t.Errorf("got requests %q, want only the refused one", got)
		}
	})

	t.Run("daemon replaced", func(t *testing.T) {
		socket := filepath.Join(t.TempDir(), "docker.sock")
		newer := startFakeDockerd(t, docker27, socket)
		r := must(DockerRestart("web", WithSocket(socket)))
		if err := mustRemediate(t, r); err != nil {
			t.Fatal(err)
		}
		if got := newer.requests(); len(got) != 2 || got[1] != "POST /v1.44/containers/web/restart" {
			t.Fatalf("got requests %q, want a ping and a restart at 1.44", got)
		}
		newer.stop()
		older := startFakeDockerd(t, docker2010, socket)
		if err := mustRemediate(t, r); err != nil {
			t.Fatal(err)
		}
		want := []string{"POST /v1.44/containers/web/restart", "GET /_ping", "POST /v1.41/containers/web/restart"}
		if got := older.requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestDockerUpdate(t *testing.T) {
	for _, p := range []struct {
		dockerProfile
		prefix string
	}{{docker2010, "/v1.41"}, {docker27, "/v1.44"}} {
		t.Run(p.name, func(t *testing.T) {
			d := newFakeDockerd(t, p.dockerProfile)
			tests := []struct {
				name      string
				container string
				opts      []Option
				want      string // the last request
				status    int
				sentinel  error
				msg       string
			}{
				{"cpus", "web", []Option{WithCPUs(1.5)},
					`POST ` + p.prefix + `/containers/web/update {"NanoCpus":1500000000}`, 0, nil, ""},
				{"memory with swap", "/web", []Option{WithMemory(512 << 20), WithMemorySwap(1 << 30)},
					`POST ` + p.prefix + `/containers/web/update {"Memory":536870912,"MemorySwap":1073741824}`, 0, nil, ""},
				{"all limits", "4f2a9c1b7e3d5a6b", []Option{WithCPUs(0.25), WithMemory(256 << 20), WithMemorySwap(-1), WithMemoryReservation(128 << 20)},
					`POST ` + p.prefix + `/containers/4f2a9c1b7e3d5a6b/update {"NanoCpus":250000000,"Memory":268435456,"MemorySwap":-1,"MemoryReservation":134217728}`, 0, nil, ""},
				{"no such container", "ghost", []Option{WithCPUs(1)},
					`POST ` + p.prefix + `/containers/ghost/update {"NanoCpus":1000000000}`, 404, ErrNoSuchContainer, "No such container: ghost"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r, err := DockerUpdate(tt.container, append(tt.opts, WithSocket(d.socket))...)
					if err != nil {
						t.Fatal(err)
					}
					err = mustRemediate(t, r)
					if got := d.requests(); got[len(got)-1] != tt.want {
						t.Errorf("got request %s, want %s", got[len(got)-1], tt.want)
					}
					if tt.status == 0 {
						if err != nil {
							t.Errorf("got %v, want nil", err)
						}
						return
					}
					wantStatusErr(t, err, tt.status, tt.sentinel, tt.msg)
				})
			}
			d.mu.Lock()
			web := *d.containers["web"]
			d.mu.Unlock()
			if web.nanoCPUs != 250000000 || web.memory != 256<<20 || web.memorySwap != -1 || web.memReser != 128<<20 {
				t.Errorf("got container limits %+v, want those of the last update", web)
			}
		})
	}
	t.Run("memory above memory+swap", func(t *testing.T) {
		d := newFakeDockerd(t, docker2010) // web: 64 MiB memory, 128 MiB with swap
		err := mustRemediate(t, must(DockerUpdate("web", WithSocket(d.socket), WithMemory(256<<20))))
		wantStatusErr(t, err, 409, nil, "update the memoryswap at the same time")
	})
}

func TestDockerScale(t *testing.T) {
	for _, p := range []struct {
		dockerProfile
		prefix string
	}{{docker2010, "/v1.41"}, {docker27, "/v1.44"}} {
		t.Run(p.name, func(t *testing.T) {
			d := newFakeDockerd(t, p.dockerProfile)
			api := d.addService("api", 2)
			original := api.spec
			scale := func(opts ...Option) error {
				return mustRemediate(t, must(DockerScale("api", append(opts, WithSocket(d.socket))...)))
			}
			replicas := func() (n uint64) {
				d.mu.Lock()
				defer d.mu.Unlock()
				var spec struct {
					Mode struct{ Replicated struct{ Replicas uint64 } }
				}
				if err := json.Unmarshal(api.spec, &spec); err != nil {
					t.Fatal(err)
				}
				return spec.Mode.Replicated.Replicas
			}
			steps := []struct {
				name     string
				opts     []Option
				replicas uint64
				reqs     []string // after the negotiation
				sentinel error
			}{
				{"set", []Option{WithReplicas(3)}, 3, []string{
					"GET " + p.prefix + "/services/api",
					"POST " + p.prefix + "/services/" + api.id + "/update?version=11 SPEC",
				}, nil},
				{"set to the current count", []Option{WithReplicas(3)}, 3, []string{"GET " + p.prefix + "/services/api"}, nil},
				{"add", []Option{WithAddReplicas(2, 6)}, 5, []string{
					"GET " + p.prefix + "/services/api",
					"POST " + p.prefix + "/services/" + api.id + "/update?version=12 SPEC",
				}, nil},
				{"add up to the ceiling", []Option{WithAddReplicas(2, 6)}, 6, []string{
					"GET " + p.prefix + "/services/api",
					"POST " + p.prefix + "/services/" + api.id + "/update?version=13 SPEC",
				}, nil},
				{"at the ceiling", []Option{WithAddReplicas(2, 6)}, 6, []string{"GET " + p.prefix + "/services/api"}, ErrScaleLimit},
				{"scale down", []Option{WithReplicas(1)}, 1, []string{
					"GET " + p.prefix + "/services/api",
					"POST " + p.prefix + "/services/" + api.id + "/update?version=14 SPEC",
				}, nil},
			}
			for _, st := range steps {
				t.Run(st.name, func(t *testing.T) {
					before := len(d.requests())
					err := scale(st.opts...)
					if st.sentinel == nil && err != nil || st.sentinel != nil && !errors.Is(err, st.sentinel) {
						t.Fatalf("got %v, want %v", err, st.sentinel)
					}
					got := d.requests()[before:]
					if before == 0 && len(got) > 0 && got[0] == "GET /_ping" {
						got = got[1:]
					}
					for i := range got {
						if i < len(st.reqs) && strings.HasSuffix(st.reqs[i], " SPEC") {
							// The body is checked below, on the stored spec.
							got[i] = got[i][:strings.LastIndex(got[i], " ")] + " SPEC"
						}
					}
					if strings.Join(got, "\n") != strings.Join(st.reqs, "\n") {
						t.Errorf("got requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(st.reqs, "\n"))
					}
					if n := replicas(); n != st.replicas {
						t.Errorf("got %d replicas, want %d", n, st.replicas)
					}
				})
			}
			// The spec went back whole: only the count changed.
			var before, after map[string]any
			json.Unmarshal(original, &before)
			d.mu.Lock()
			json.Unmarshal(api.spec, &after)
			d.mu.Unlock()
			before["Mode"].(map[string]any)["Replicated"].(map[string]any)["Replicas"] = float64(1)
			if b, a := fmt.Sprint(before), fmt.Sprint(after); a != b {
				t.Errorf("got spec\n%s\nwant\n%s", a, b)
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		d := newFakeDockerd(t, docker27)
		d.addService("agent", -1)
		tests := []struct {
			name    string
			service string
			status  int
			target  error
			want    string
		}{
			{"no such service", "ghost", 404, ErrNoSuchService, "service ghost not found"},
			{"global service", "agent", 0, nil, "service agent is in global mode, which has no replica count to scale"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := mustRemediate(t, must(DockerScale(tt.service, WithSocket(d.socket), WithReplicas(2))))
				if tt.status != 0 {
					wantStatusErr(t, err, tt.status, tt.target, tt.want)
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("got %v, want an error containing %q", err, tt.want)
				}
			})
		}
		t.Run("not a swarm manager", func(t *testing.T) {
			d := newFakeDockerd(t, docker2010)
			d.swarm = false
			err := mustRemediate(t, must(DockerScale("api", WithSocket(d.socket), WithReplicas(2))))
			wantStatusErr(t, err, 503, nil, "This node is not a swarm manager")
		})
	})

	t.Run("updated meanwhile", func(t *testing.T) {
		d := newFakeDockerd(t, docker2010)
		api := d.addService("api", 2)
		d.raceUpdate = 1 // another client updates the service right after the first read
		if err := mustRemediate(t, must(DockerScale("api", WithSocket(d.socket), WithReplicas(4)))); err != nil {
			t.Fatal(err)
		}
		got := d.requests()
		want := []string{
			"GET /_ping",
			"GET /v1.41/services/api",
			"POST /v1.41/services/" + api.id + "/update?version=11",
			"GET /v1.41/services/api",
			"POST /v1.41/services/" + api.id + "/update?version=14",
		}
		for i := range got {
			if strings.HasPrefix(got[i], "POST") {
				got[i] = got[i][:strings.Index(got[i], " {")]
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestDockerRestartHonoursContext(t *testing.T) {
	d := newFakeDockerd(t, docker27)
	r := must(DockerRestart("slow", WithSocket(d.socket)))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Remediate(ctx, incident()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the deadline error", err)
	}
}

func TestDockerNoDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "missing.sock")
	for _, r := range []Remediator{
		must(DockerRestart("web", WithSocket(sock))),
		must(DockerUpdate("web", WithSocket(sock), WithCPUs(1))),
		must(DockerScale("api", WithSocket(sock), WithReplicas(1))),
	} {
		err := r.Remediate(context.Background(), incident())
		if err == nil || !strings.Contains(err.Error(), sock) || !strings.Contains(err.Error(), "docker ping") {
			t.Errorf("%v: got %v, want an error naming the ping and the socket", r, err)
		}
	}
}

func TestDockerConfigErrors(t *testing.T) {
	for name, fn := range map[string]func() error{
		"empty name":            func() error { _, err := DockerRestart(""); return err },
		"only a slash":          func() error { _, err := DockerRestart("/"); return err },
		"path in name":          func() error { _, err := DockerRestart("../../images/x"); return err },
		"query in name":         func() error { _, err := DockerRestart("web?t=0"); return err },
		"bad version":           func() error { _, err := DockerRestart("web", WithAPIVersion("v1/../x")); return err },
		"negative timeout":      func() error { _, err := DockerRestart("web", WithStopTimeout(-time.Second)); return err },
		"http option":           func() error { _, err := DockerRestart("web", WithExpectStatus(200)); return err },
		"update without limits": func() error { _, err := DockerUpdate("web"); return err },
		"update, zero cpus":     func() error { _, err := DockerUpdate("web", WithCPUs(0)); return err },
		"update, tiny memory":   func() error { _, err := DockerUpdate("web", WithMemory(1<<20)); return err },
		"update, swap < memory": func() error { _, err := DockerUpdate("web", WithMemory(1<<30), WithMemorySwap(512<<20)); return err },
		"update, reservation": func() error {
			_, err := DockerUpdate("web", WithMemory(256<<20), WithMemoryReservation(512<<20))
			return err
		},
		"update, stop timeout":   func() error { _, err := DockerUpdate("web", WithCPUs(1), WithStopTimeout(time.Second)); return err },
		"update, bad name":       func() error { _, err := DockerUpdate("a b", WithCPUs(1)); return err },
		"scale without count":    func() error { _, err := DockerScale("api"); return err },
		"scale, both":            func() error { _, err := DockerScale("api", WithReplicas(2), WithAddReplicas(1, 3)); return err },
		"scale, zero step":       func() error { _, err := DockerScale("api", WithAddReplicas(0, 3)); return err },
		"scale, zero ceiling":    func() error { _, err := DockerScale("api", WithAddReplicas(1, 0)); return err },
		"scale, resource option": func() error { _, err := DockerScale("api", WithReplicas(2), WithCPUs(1)); return err },
		"restart, scale option":  func() error { _, err := DockerRestart("web", WithReplicas(2)); return err },
	} {
		if err := fn(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}
