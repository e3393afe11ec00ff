package k8s

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ziad/cpra/intervene"
)

// token is the bearer token of the test kubeconfig: no error may show it.
const token = "k8s-test-token-9f2c41d7e0b3"

// apiServer answers on loopback, over TLS, the calls the remediators make
// the way the Kubernetes API server does: deployments, stateful sets and
// daemon sets by namespace and name, their scale subresource with
// optimistic concurrency on resourceVersion, strategic merge patches of
// the pod template annotations (the template's own annotation is kept),
// and Status objects for errors. It checks the bearer token, the content
// types, the field manager and the bodies, and records each request as
// "METHOD URI BODY".
type apiServer struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	reqs     []string
	problems []string
	objs     map[string]*held // "shop/deployments/web"
	raceNext int              // scale reads after which another writer changes the workload
	// hook, when set, sees each request first (with mu held, and the
	// workload's key and subresource); a code other than 0 answers the
	// request with that Status instead.
	hook func(method, key, sub string) (code int, reason, message string)
}

// held is what the server keeps of a workload.
type held struct {
	key         string
	replicas    int32
	version     int
	paused      bool
	restartedAt string
}

// The workloads of the tests: namespace, resource, name, replicas and
// resourceVersion.
func deployment(ns, name string, replicas int32, version int) *held {
	return &held{key: ns + "/deployments/" + name, replicas: replicas, version: version}
}

func statefulSet(ns, name string, replicas int32, version int) *held {
	return &held{key: ns + "/statefulsets/" + name, replicas: replicas, version: version}
}

func daemonSet(ns, name string, version int) *held {
	return &held{key: ns + "/daemonsets/" + name, version: version}
}

var apiPath = regexp.MustCompile(`^/apis/apps/v1/namespaces/([a-z0-9-]+)/(deployments|statefulsets|daemonsets)/([a-z0-9.-]+)(/scale)?$`)

var restartBody = regexp.MustCompile(`^\{"spec":\{"template":\{"metadata":\{"annotations":\{"kubectl\.kubernetes\.io/restartedAt":"([^"]+)"\}\}\}\}\}$`)

// newAPIServer starts a server that holds the workloads given.
func newAPIServer(t *testing.T, objs ...*held) *apiServer {
	a := &apiServer{t: t, objs: map[string]*held{}}
	for _, o := range objs {
		a.objs[o.key] = o
	}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	t.Cleanup(a.checkNoProblems)
	return a
}

// client returns a client for the server from a kubeconfig file.
func (a *apiServer) client(t *testing.T) *Client {
	t.Helper()
	c, err := NewClient(a.kubeconfig(t), "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (a *apiServer) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.reqs...)
}

// clear forgets the requests recorded.
func (a *apiServer) clear() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reqs = nil
}

func (a *apiServer) checkNoProblems() {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.problems {
		a.t.Error(p)
	}
}

// status writes a metav1.Status as the API server does for errors.
func status(w http.ResponseWriter, code int, reason, message string, details map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "details": details, "code": code})
	w.Write(b)
}

func (a *apiServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reqs = append(a.reqs, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
	problem := func(format string, args ...any) {
		a.problems = append(a.problems, fmt.Sprintf("%s %s: ", r.Method, r.URL.Path)+fmt.Sprintf(format, args...))
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+token {
		status(w, 401, "Unauthorized", "Unauthorized", nil)
		return
	}
	if acc := r.Header.Get("Accept"); !strings.HasPrefix(acc, "application/json") {
		problem("Accept %q, want application/json", acc)
	}
	if ua := r.Header.Get("User-Agent"); ua != userAgent {
		problem("User-Agent %q, want %q", ua, userAgent)
	}
	m := apiPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		status(w, 404, "NotFound", "the server could not find the requested resource", nil)
		return
	}
	resource, name, sub := m[2], m[3], strings.TrimPrefix(m[4], "/")
	key := m[1] + "/" + resource + "/" + name
	if a.hook != nil {
		if code, reason, msg := a.hook(r.Method, key, sub); code != 0 {
			status(w, code, reason, msg, map[string]string{"name": name, "group": "apps", "kind": resource})
			return
		}
	}
	if name == "slow" {
		// Answer nothing until the client gives up, then drop the
		// stream: a server that hangs.
		a.mu.Unlock()
		<-r.Context().Done()
		a.mu.Lock()
		panic(http.ErrAbortHandler)
	}
	o, exists := a.objs[key]
	if !exists {
		status(w, 404, "NotFound", fmt.Sprintf("%s.apps %q not found", resource, name), map[string]string{"name": name, "group": "apps", "kind": resource})
		return
	}
	kind := map[string]string{"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet"}[resource]
	object := func() {
		w.Header().Set("Content-Type", "application/json")
		ann := map[string]string{"prometheus.io/scrape": "true"}
		if o.restartedAt != "" {
			ann[RestartedAtAnnotation] = o.restartedAt
		}
		spec := map[string]any{"selector": map[string]any{"matchLabels": map[string]string{"app": name}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]string{"app": name}, "annotations": ann},
				"spec": map[string]any{"containers": []any{map[string]any{"name": name, "image": "registry.test/" + name + ":1.4"}}}}}
		if kind != "DaemonSet" {
			spec["replicas"] = o.replicas
		}
		if o.paused {
			spec["paused"] = true
		}
		json.NewEncoder(w).Encode(map[string]any{"kind": kind, "apiVersion": "apps/v1",
			"metadata": map[string]any{"name": name, "namespace": m[1], "uid": "6f1c2f9e-0b7d-4d8e-9c1a-" + fmt.Sprintf("%012d", o.version), "resourceVersion": fmt.Sprint(o.version), "generation": 4},
			"spec":     spec, "status": map[string]any{"observedGeneration": 4}})
	}
	scale := func() {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"kind": "Scale", "apiVersion": "autoscaling/v1",
			"metadata": map[string]any{"name": name, "namespace": m[1], "resourceVersion": fmt.Sprint(o.version), "creationTimestamp": "2026-11-30T09:12:44Z"},
			"spec":     map[string]any{"replicas": o.replicas}, "status": map[string]any{"replicas": o.replicas, "selector": "app=" + name}})
	}
	switch {
	case r.Method == http.MethodGet && sub == "":
		object()
	case r.Method == http.MethodPatch && sub == "":
		if ct := r.Header.Get("Content-Type"); ct != "application/strategic-merge-patch+json" {
			status(w, 415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml", nil)
			return
		}
		if fm := r.URL.Query().Get("fieldManager"); fm != DefaultFieldManager {
			problem("fieldManager %q, want %q", fm, DefaultFieldManager)
		}
		pm := restartBody.FindSubmatch(body)
		if pm == nil {
			problem("body %s, want the restartedAt patch", body)
			status(w, 400, "BadRequest", "bad patch", nil)
			return
		}
		o.restartedAt = string(pm[1])
		o.version++
		object()
	case r.Method == http.MethodGet && sub == "scale" && kind != "DaemonSet":
		scale()
		if a.raceNext > 0 {
			a.raceNext--
			o.version++
		}
	case r.Method == http.MethodPut && sub == "scale" && kind != "DaemonSet":
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			problem("Content-Type %q, want application/json", ct)
		}
		if fm := r.URL.Query().Get("fieldManager"); fm != DefaultFieldManager {
			problem("fieldManager %q, want %q", fm, DefaultFieldManager)
		}
		var s struct {
			Kind, APIVersion string
			Metadata         struct{ Name, Namespace, ResourceVersion string }
			Spec             struct{ Replicas *int32 }
		}
		if err := json.Unmarshal(body, &s); err != nil || s.Spec.Replicas == nil {
			status(w, 400, "BadRequest", fmt.Sprintf("invalid Scale: %v", err), nil)
			return
		}
		if s.Kind != "Scale" || s.APIVersion != "autoscaling/v1" {
			status(w, 400, "BadRequest", fmt.Sprintf("kind %q, apiVersion %q: want a Scale of autoscaling/v1", s.Kind, s.APIVersion), nil)
			return
		}
		if s.Metadata.Name != name || s.Metadata.Namespace != m[1] {
			status(w, 400, "BadRequest", "the name of the object does not match the name on the URL", nil)
			return
		}
		if s.Metadata.ResourceVersion != fmt.Sprint(o.version) {
			status(w, 409, "Conflict", fmt.Sprintf("Operation cannot be fulfilled on %s.apps %q: the object has been modified; please apply your changes to the latest version and try again", resource, name),
				map[string]string{"name": name, "group": "apps", "kind": resource})
			return
		}
		o.replicas = *s.Spec.Replicas
		o.version++
		scale()
	default:
		status(w, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource", nil)
	}
}

// kubeconfig writes a kubeconfig for the server, with the server's CA and
// the bearer token, in a context named test (the current one).
func (a *apiServer) kubeconfig(t *testing.T) string {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.srv.Certificate().Raw})
	text := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: loopback
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: cpra
  user:
    token: %s
contexts:
- name: test
  context: {cluster: loopback, user: cpra, namespace: shop}
- name: elsewhere
  context: {cluster: nowhere, user: cpra}
current-context: test
`, a.srv.URL, base64.StdEncoding.EncodeToString(ca), token)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// count returns the workload's replicas.
func (a *apiServer) count(key string) int32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.objs[key].replicas
}

// stamp returns the workload's restartedAt annotation.
func (a *apiServer) stamp(key string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.objs[key].restartedAt
}

func incident() intervene.Incident { return intervene.Incident{Monitor: "web", Attempt: 1} }

func remediate(t *testing.T, r intervene.Remediator) error {
	t.Helper()
	return r.Remediate(t.Context(), incident())
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
