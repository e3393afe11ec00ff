package intervene

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// ErrNoSuchContainer is wrapped by the error of [DockerRestart] and
// [DockerUpdate] when Docker knows no container by that name or id (status
// 404).
var ErrNoSuchContainer = errors.New("intervene: no such container")

// ErrNoSuchService is wrapped by the error of [DockerScale] when the swarm
// knows no service by that name or id (status 404).
var ErrNoSuchService = errors.New("intervene: no such service")

// ErrScaleLimit is wrapped by the error of [DockerScale] with
// [WithAddReplicas] when the service already runs the ceiling's number of
// replicas (or more): there is nothing left to add.
var ErrScaleLimit = errors.New("intervene: scale ceiling reached")

// dockerDaemon is one Docker Engine, by socket path, shared by every Docker
// remediator that talks to it: one client, and the API version negotiated
// with it once.
type dockerDaemon struct {
	socket string
	client *http.Client
	sem    chan struct{} // one negotiation at a time

	mu      sync.Mutex
	version string // negotiated: the path prefix is "/v"+version, or none when ""
	known   bool
}

var daemons struct {
	sync.Mutex
	m map[string]*dockerDaemon
}

// daemonAt returns the shared daemon of socket.
func daemonAt(socket string) *dockerDaemon {
	daemons.Lock()
	defer daemons.Unlock()
	if d := daemons.m[socket]; d != nil {
		return d
	}
	if daemons.m == nil {
		daemons.m = make(map[string]*dockerDaemon)
	}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		// A connection per call: remediations are rare, and no idle
		// connection outlives them.
		DisableKeepAlives: true,
	}
	d := &dockerDaemon{
		socket: socket,
		client: &http.Client{Transport: transport, CheckRedirect: noRedirect},
		sem:    make(chan struct{}, 1),
	}
	daemons.m[socket] = d
	return d
}

// negotiated returns the API version to use, asking the daemon's /_ping
// for its own the first time: the lower of that and
// [DefaultDockerAPIVersion], as Docker's own client does. A daemon whose
// ping names no version is spoken to on unversioned paths.
func (d *dockerDaemon) negotiated(ctx context.Context) (string, error) {
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-d.sem }()
	d.mu.Lock()
	v, known := d.version, d.known
	d.mu.Unlock()
	if known {
		return v, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", dockerUserAgent)
	resp, err := d.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("docker ping via %s: %w", d.socket, unwrapURLError(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &StatusError{Endpoint: "docker ping", Status: resp.StatusCode}
	}
	v = resp.Header.Get("Api-Version")
	if v != "" && !validVersion(v) {
		v = ""
	}
	if v != "" && versionLess(DefaultDockerAPIVersion, v) {
		v = DefaultDockerAPIVersion
	}
	d.mu.Lock()
	d.version, d.known = v, true
	d.mu.Unlock()
	return v, nil
}

// forget drops the negotiated version v (another daemon may answer on the
// socket now, say after an upgrade).
func (d *dockerDaemon) forget(v string) {
	d.mu.Lock()
	if d.known && d.version == v {
		d.known = false
	}
	d.mu.Unlock()
}

// versionLess compares API versions "1.41" < "1.44".
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func validVersion(v string) bool {
	if v == "" {
		return false
	}
	for _, r := range v {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}

const dockerUserAgent = "cpra-intervene/1"

// dockerAPI is what every Docker remediator holds: the daemon and, when
// [WithAPIVersion] fixed one, the version.
type dockerAPI struct {
	d       *dockerDaemon
	version string
	fixed   bool
}

func newDockerAPI(cfg *config) dockerAPI {
	socket := DefaultDockerSocket
	if cfg.socket != "" {
		socket = cfg.socket
	}
	return dockerAPI{d: daemonAt(socket), version: cfg.apiVersion, fixed: cfg.hasVersion}
}

// dockerAnswer is a daemon's answer: its status and the start of its body.
type dockerAnswer struct {
	status int
	body   []byte
}

// message returns Docker's {"message": ...}, or the start of the body.
func (a dockerAnswer) message() string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(a.body, &m) == nil && m.Message != "" {
		return m.Message
	}
	s := a.body
	if len(s) > 512 {
		s = s[:512]
	}
	return strings.ToValidUTF8(strings.TrimSpace(string(s)), "?")
}

// versionRefused reports the daemon's answer to a version it does not
// serve ("client version 1.44 is too new. Maximum supported API version is
// 1.41", or "too old" from daemons that dropped old versions).
func (a dockerAnswer) versionRefused() bool {
	if a.status != http.StatusBadRequest {
		return false
	}
	m := a.message()
	return strings.Contains(m, "client version") &&
		(strings.Contains(m, "is too new") || strings.Contains(m, "is too old"))
}

// maxDockerAnswer bounds the body read from the daemon; a service's
// inspection is a few KiB.
const maxDockerAnswer = 1 << 20

// call sends method path?query with body (JSON, or none when nil) on the
// negotiated version. Once, when the daemon refuses a negotiated version
// (it was replaced by an older or newer one), it negotiates again and
// retries: a refused version means the request did nothing.
func (a dockerAPI) call(ctx context.Context, op, method, path, query string, body any) (dockerAnswer, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return dockerAnswer{}, fmt.Errorf("intervene: %s: %w", op, err)
		}
	}
	for attempt := 0; ; attempt++ {
		version := a.version
		if !a.fixed {
			var err error
			if version, err = a.d.negotiated(ctx); err != nil {
				return dockerAnswer{}, fmt.Errorf("intervene: %s: %w", op, err)
			}
		}
		u := "http://docker" + path
		if version != "" {
			u = "http://docker/v" + version + path
		}
		if query != "" {
			u += "?" + query
		}
		var rd io.Reader
		if raw != nil {
			rd = bytes.NewReader(raw)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return dockerAnswer{}, fmt.Errorf("intervene: %s: %w", op, err)
		}
		req.Header.Set("User-Agent", dockerUserAgent)
		if raw != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := a.d.client.Do(req)
		if err != nil {
			return dockerAnswer{}, fmt.Errorf("intervene: %s via %s: %w", op, a.d.socket, unwrapURLError(err))
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxDockerAnswer))
		resp.Body.Close()
		if err != nil {
			return dockerAnswer{}, fmt.Errorf("intervene: %s via %s: reading the answer: %w", op, a.d.socket, err)
		}
		ans := dockerAnswer{status: resp.StatusCode, body: b}
		if !a.fixed && attempt == 0 && ans.versionRefused() {
			a.d.forget(version)
			continue
		}
		return ans, nil
	}
}

// statusErr is the error for an answer with an unexpected status.
func (a dockerAnswer) statusErr(op string, notFound error) error {
	se := &StatusError{Endpoint: op, Status: a.status, Message: a.message()}
	if a.status == http.StatusNotFound {
		se.Err = notFound
	}
	return se
}

// dockerName checks a container or service name or id and returns it
// without the leading "/" that docker inspect prints before names.
func dockerName(s string) (string, bool) {
	s = strings.TrimPrefix(s, "/")
	if s == "" {
		return "", false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return "", false
		}
	}
	return s, true
}

// DockerRemediator restarts a container through the Docker Engine API.
// Create it with [DockerRestart].
type DockerRemediator struct {
	api       dockerAPI
	container string
	query     string
}

// DockerRestart returns a remediator that restarts container (a name, with
// or without the leading "/" that docker inspect prints, or an id) through
// the Docker Engine API on its unix socket ([DefaultDockerSocket], or
// [WithSocket]): it sends
//
//	POST /v{version}/containers/{container}/restart?t={seconds}
//
// with the t parameter only when [WithStopTimeout] is given. The version is
// negotiated once per daemon: the lower of the daemon's own (from GET
// /_ping) and [DefaultDockerAPIVersion], so that Docker 20.10 (API 1.41)
// and current daemons are both served; [WithAPIVersion] fixes it instead.
// Docker answers 204 when the container was restarted; 404 is an error
// wrapping [ErrNoSuchContainer]; other statuses (500: the daemon failed)
// are a [*StatusError] with Docker's message. No Docker SDK is involved,
// only net/http over the socket; a connection is opened per call.
//
// Options: [WithSocket], [WithStopTimeout], [WithAPIVersion].
func DockerRestart(container string, opts ...Option) (*DockerRemediator, error) {
	name, ok := dockerName(container)
	if !ok {
		return nil, errorf("DockerRestart: invalid container name or id %q", container)
	}
	cfg, err := newConfig(kindDocker, opts)
	if err != nil {
		return nil, err
	}
	r := &DockerRemediator{api: newDockerAPI(cfg), container: name}
	if cfg.hasStop {
		r.query = "t=" + strconv.Itoa(int(math.Ceil(cfg.stopTimeout.Seconds())))
	}
	return r, nil
}

// Remediate restarts the container. It honours ctx.
func (d *DockerRemediator) Remediate(ctx context.Context, _ Incident) error {
	op := "docker restart " + d.container
	ans, err := d.api.call(ctx, op, http.MethodPost, "/containers/"+url.PathEscape(d.container)+"/restart", d.query, nil)
	if err != nil {
		return err
	}
	if ans.status == http.StatusNoContent || ans.status == http.StatusOK {
		return nil
	}
	return ans.statusErr(op, ErrNoSuchContainer)
}

// String describes the remediator.
func (d *DockerRemediator) String() string {
	return "intervene.DockerRestart(" + d.container + ")"
}

// dockerResources are the limits [DockerUpdate] sets, in the Engine API's
// field names; absent ones are left as they are.
type dockerResources struct {
	NanoCpus          int64 `json:"NanoCpus,omitempty"`
	Memory            int64 `json:"Memory,omitempty"`
	MemorySwap        int64 `json:"MemorySwap,omitempty"`
	MemoryReservation int64 `json:"MemoryReservation,omitempty"`
}

// DockerUpdateRemediator changes a container's resource limits through the
// Docker Engine API. Create it with [DockerUpdate].
type DockerUpdateRemediator struct {
	api       dockerAPI
	container string
	res       dockerResources
}

// DockerUpdate returns a remediator that sets the resource limits of a
// running container (name, with or without a leading "/", or id), as
// docker update does, without restarting it:
//
//	POST /v{version}/containers/{container}/update
//	{"NanoCpus": 2000000000, "Memory": 1073741824, ...}
//
// with the fields of the options given: [WithCPUs], [WithMemory],
// [WithMemorySwap], [WithMemoryReservation]; at least one is required.
// Docker refuses a memory limit above the container's current memory+swap
// limit unless the swap limit is raised with it (status 409); give
// [WithMemorySwap] too when raising memory. Statuses and the API version
// are as for [DockerRestart]; 404 wraps [ErrNoSuchContainer].
//
// Options: [WithCPUs], [WithMemory], [WithMemorySwap],
// [WithMemoryReservation], [WithSocket], [WithAPIVersion].
func DockerUpdate(container string, opts ...Option) (*DockerUpdateRemediator, error) {
	name, ok := dockerName(container)
	if !ok {
		return nil, errorf("DockerUpdate: invalid container name or id %q", container)
	}
	cfg, err := newConfig(kindDockerUpdate, opts)
	if err != nil {
		return nil, err
	}
	if cfg.res == (dockerResources{}) {
		return nil, errorf("DockerUpdate(%s): no limit to set (WithCPUs, WithMemory, WithMemorySwap, WithMemoryReservation)", name)
	}
	r := cfg.res
	if r.Memory > 0 && r.MemorySwap > 0 && r.MemorySwap < r.Memory {
		return nil, errorf("DockerUpdate(%s): WithMemorySwap(%d) is below WithMemory(%d); it is memory plus swap", name, r.MemorySwap, r.Memory)
	}
	if r.Memory > 0 && r.MemoryReservation > r.Memory {
		return nil, errorf("DockerUpdate(%s): WithMemoryReservation(%d) is above WithMemory(%d)", name, r.MemoryReservation, r.Memory)
	}
	return &DockerUpdateRemediator{api: newDockerAPI(cfg), container: name, res: r}, nil
}

// Remediate sets the limits. It honours ctx.
func (d *DockerUpdateRemediator) Remediate(ctx context.Context, _ Incident) error {
	op := "docker update " + d.container
	ans, err := d.api.call(ctx, op, http.MethodPost, "/containers/"+url.PathEscape(d.container)+"/update", "", d.res)
	if err != nil {
		return err
	}
	if ans.status == http.StatusOK || ans.status == http.StatusNoContent {
		return nil
	}
	return ans.statusErr(op, ErrNoSuchContainer)
}

// String describes the remediator and its limits.
func (d *DockerUpdateRemediator) String() string {
	var b strings.Builder
	b.WriteString("intervene.DockerUpdate(" + d.container)
	if d.res.NanoCpus != 0 {
		fmt.Fprintf(&b, " cpus=%g", float64(d.res.NanoCpus)/1e9)
	}
	if d.res.Memory != 0 {
		fmt.Fprintf(&b, " memory=%d", d.res.Memory)
	}
	if d.res.MemorySwap != 0 {
		fmt.Fprintf(&b, " memory_swap=%d", d.res.MemorySwap)
	}
	if d.res.MemoryReservation != 0 {
		fmt.Fprintf(&b, " memory_reservation=%d", d.res.MemoryReservation)
	}
	b.WriteString(")")
	return b.String()
}

// dockerScale is what [DockerScale] sets: replicas, or add up to ceiling.
type dockerScale struct {
	replicas uint64
	set      bool
	add      uint64
	ceiling  uint64
}

// DockerScaleRemediator changes the replica count of a swarm service
// through the Docker Engine API. Create it with [DockerScale].
type DockerScaleRemediator struct {
	api     dockerAPI
	service string
	scale   dockerScale
}

// DockerScale returns a remediator that scales a replicated swarm service
// (name or id), as docker service scale does: it reads the service
//
//	GET /v{version}/services/{service}
//
// and sends its spec back, unchanged but for the replica count, with the
// version it read
//
//	POST /v{version}/services/{id}/update?version={index}
//
// The count is [WithReplicas]' or the current one plus [WithAddReplicas]'
// step, at most its ceiling; exactly one of the two is required. A service
// already at the count is left alone; one at or above the ceiling is an
// error wrapping [ErrScaleLimit], so that the engine sees the repair could
// not be made. If the service changed between the two calls (Docker: "update
// out of sequence") both are made once more. 404 wraps [ErrNoSuchService];
// a daemon that is not a swarm manager answers 503, a [*StatusError] with
// Docker's message. The engine's remediation policy and budgets bound how
// often this runs.
//
// Options: [WithReplicas], [WithAddReplicas], [WithSocket],
// [WithAPIVersion].
func DockerScale(service string, opts ...Option) (*DockerScaleRemediator, error) {
	name, ok := dockerName(service)
	if !ok {
		return nil, errorf("DockerScale: invalid service name or id %q", service)
	}
	cfg, err := newConfig(kindDockerScale, opts)
	if err != nil {
		return nil, err
	}
	switch sc := cfg.scale; {
	case sc.set && sc.ceiling > 0:
		return nil, errorf("DockerScale(%s): WithReplicas and WithAddReplicas exclude each other", name)
	case !sc.set && sc.ceiling == 0:
		return nil, errorf("DockerScale(%s): want WithReplicas or WithAddReplicas", name)
	}
	return &DockerScaleRemediator{api: newDockerAPI(cfg), service: name, scale: cfg.scale}, nil
}

// swarmService is the part of GET /services/{id} the scale needs; the spec
// is kept as sent, to send it back whole.
type swarmService struct {
	ID      string `json:"ID"`
	Version struct {
		Index uint64 `json:"Index"`
	} `json:"Version"`
	Spec json.RawMessage `json:"Spec"`
}

// Remediate scales the service. It honours ctx.
func (d *DockerScaleRemediator) Remediate(ctx context.Context, _ Incident) error {
	op := "docker service scale " + d.service
	for attempt := 0; ; attempt++ {
		ans, err := d.api.call(ctx, op, http.MethodGet, "/services/"+url.PathEscape(d.service), "", nil)
		if err != nil {
			return err
		}
		if ans.status != http.StatusOK {
			return ans.statusErr(op, ErrNoSuchService)
		}
		var svc swarmService
		if err := json.Unmarshal(ans.body, &svc); err != nil || svc.ID == "" || len(svc.Spec) == 0 {
			return fmt.Errorf("intervene: %s: unreadable service from the daemon", op)
		}
		spec, err := d.respec(svc.Spec)
		if err != nil {
			return fmt.Errorf("intervene: %s: %w", op, err)
		}
		if spec == nil {
			return nil // already at the count
		}
		ans, err = d.api.call(ctx, op, http.MethodPost, "/services/"+url.PathEscape(svc.ID)+"/update",
			"version="+strconv.FormatUint(svc.Version.Index, 10), spec)
		if err != nil {
			return err
		}
		switch {
		case ans.status == http.StatusOK:
			return nil
		case attempt == 0 && strings.Contains(ans.message(), "update out of sequence"):
			continue // changed since it was read: read it again
		}
		return ans.statusErr(op, ErrNoSuchService)
	}
}

// respec returns spec with the new replica count, or nil when the service
// already has it.
func (d *DockerScaleRemediator) respec(raw json.RawMessage) (json.RawMessage, error) {
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, errors.New("unreadable service spec from the daemon")
	}
	var mode map[string]json.RawMessage
	if err := json.Unmarshal(spec["Mode"], &mode); err != nil || mode == nil {
		return nil, errors.New("service spec without a mode")
	}
	rep, ok := mode["Replicated"]
	if !ok {
		for m := range mode {
			return nil, fmt.Errorf("service %s is in %s mode, which has no replica count to scale", d.service, strings.ToLower(m))
		}
	}
	var replicated map[string]json.RawMessage
	if err := json.Unmarshal(rep, &replicated); err != nil || replicated == nil {
		replicated = map[string]json.RawMessage{}
	}
	cur := uint64(1) // Docker's default when the count is absent
	if r, ok := replicated["Replicas"]; ok {
		if err := json.Unmarshal(r, &cur); err != nil {
			return nil, errors.New("unreadable replica count in the service spec")
		}
	}
	want := d.scale.replicas
	if !d.scale.set {
		if cur >= d.scale.ceiling {
			return nil, fmt.Errorf("%w: service %s runs %d replicas, the ceiling is %d", ErrScaleLimit, d.service, cur, d.scale.ceiling)
		}
		want = min(cur+d.scale.add, d.scale.ceiling)
	}
	if want == cur {
		return nil, nil
	}
	replicated["Replicas"] = json.RawMessage(strconv.FormatUint(want, 10))
	var err error
	if mode["Replicated"], err = json.Marshal(replicated); err != nil {
		return nil, err
	}
	if spec["Mode"], err = json.Marshal(mode); err != nil {
		return nil, err
	}
	out, err := json.Marshal(spec)
	return out, err
}

// String describes the remediator and its scale.
func (d *DockerScaleRemediator) String() string {
	if d.scale.set {
		return fmt.Sprintf("intervene.DockerScale(%s replicas=%d)", d.service, d.scale.replicas)
	}
	return fmt.Sprintf("intervene.DockerScale(%s add=%d max=%d)", d.service, d.scale.add, d.scale.ceiling)
}

var (
	_ Remediator = (*DockerRemediator)(nil)
	_ Remediator = (*DockerUpdateRemediator)(nil)
	_ Remediator = (*DockerScaleRemediator)(nil)
)

// WithCPUs sets the CPUs a container may use (docker update --cpus): 1.5 is
// one and a half CPUs. It must be positive.
//
// Applies to [DockerUpdate].
func WithCPUs(cpus float64) Option {
	return option{"WithCPUs", kindDockerUpdate, func(c *config) error {
		if !(cpus > 0) || cpus > 1<<20 {
			return errorf("WithCPUs(%g): want a positive number of CPUs", cpus)
		}
		c.res.NanoCpus = int64(math.Round(cpus * 1e9))
		return nil
	}}
}

// WithMemory sets a container's memory limit in bytes (docker update
// --memory); Docker's minimum is 6 MiB.
//
// Applies to [DockerUpdate].
func WithMemory(bytes int64) Option {
	return option{"WithMemory", kindDockerUpdate, func(c *config) error {
		if bytes < 6<<20 {
			return errorf("WithMemory(%d): below Docker's minimum of 6 MiB", bytes)
		}
		c.res.Memory = bytes
		return nil
	}}
}

// WithMemorySwap sets a container's memory plus swap limit in bytes
// (docker update --memory-swap), at least the memory limit; -1 allows
// unlimited swap.
//
// Applies to [DockerUpdate].
func WithMemorySwap(bytes int64) Option {
	return option{"WithMemorySwap", kindDockerUpdate, func(c *config) error {
		if bytes != -1 && bytes < 6<<20 {
			return errorf("WithMemorySwap(%d): want -1 (unlimited) or at least 6 MiB", bytes)
		}
		c.res.MemorySwap = bytes
		return nil
	}}
}

// WithMemoryReservation sets a container's soft memory limit in bytes
// (docker update --memory-reservation), below the memory limit.
//
// Applies to [DockerUpdate].
func WithMemoryReservation(bytes int64) Option {
	return option{"WithMemoryReservation", kindDockerUpdate, func(c *config) error {
		if bytes <= 0 {
			return errorf("WithMemoryReservation(%d): want a positive size", bytes)
		}
		c.res.MemoryReservation = bytes
		return nil
	}}
}

// WithReplicas scales the service to n replicas (0 stops all its tasks).
//
// Applies to [DockerScale].
func WithReplicas(n uint64) Option {
	return option{"WithReplicas", kindDockerScale, func(c *config) error {
		c.scale.replicas, c.scale.set = n, true
		return nil
	}}
}

// WithAddReplicas scales the service up by n replicas at each attempt,
// never beyond ceiling replicas. n and ceiling must be positive.
//
// Applies to [DockerScale].
func WithAddReplicas(n, ceiling uint64) Option {
	return option{"WithAddReplicas", kindDockerScale, func(c *config) error {
		if n == 0 || ceiling == 0 {
			return errorf("WithAddReplicas(%d, %d): want a positive step and ceiling", n, ceiling)
		}
		c.scale.add, c.scale.ceiling = n, ceiling
		return nil
	}}
}
