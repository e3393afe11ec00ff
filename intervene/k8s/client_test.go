package k8s

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
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
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/ziad/cpra/intervene"
)

// token is the bearer token of the test kubeconfig: no error may show it.
const token = "k8s-test-token-9f2c41d7e0b3"

// apiServer answers on loopback, over TLS, the calls the remediators make
// the way the Kubernetes API server does: deployments and stateful sets by
// name in namespace shop, their scale subresource with optimistic
// concurrency on resourceVersion, strategic merge patches of the pod
// template annotations, and Status objects for errors. It checks the
// bearer token, the content types and the bodies, and records each
// request as "METHOD URI BODY".
type apiServer struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	reqs      []string
	problems  []string
	replicas  map[string]int32 // "deployments/web"
	versions  map[string]int
	annotated map[string]string // restartedAt per workload
	paused    map[string]bool
	raceNext  int // scale reads after which another writer changes the workload
}

var apiPath = regexp.MustCompile(`^/apis/apps/v1/namespaces/shop/(deployments|statefulsets|daemonsets)/([a-z0-9-]+)(/scale)?$`)

func newAPIServer(t *testing.T) *apiServer {
	a := &apiServer{t: t,
		replicas:  map[string]int32{"deployments/web": 2, "statefulsets/db": 3, "deployments/frozen": 1},
		versions:  map[string]int{"deployments/web": 41, "statefulsets/db": 7, "deployments/frozen": 3, "daemonsets/agent": 9},
		annotated: map[string]string{},
		paused:    map[string]bool{"deployments/frozen": true},
	}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *apiServer) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.reqs...)
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
	m := apiPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		status(w, 404, "NotFound", "the server could not find the requested resource", nil)
		return
	}
	resource, name, sub := m[1], m[2], m[3]
	key := resource + "/" + name
	if name == "slow" {
		// Answer nothing until the client gives up, then drop the
		// stream: a server that hangs.
		a.mu.Unlock()
		<-r.Context().Done()
		a.mu.Lock()
		panic(http.ErrAbortHandler)
	}
	version, exists := a.versions[key]
	if !exists {
		kind := resource
		status(w, 404, "NotFound", fmt.Sprintf("%s.apps %q not found", kind, name), map[string]string{"name": name, "group": "apps", "kind": kind})
		return
	}
	kind := map[string]string{"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet"}[resource]
	object := func() {
		w.Header().Set("Content-Type", "application/json")
		ann := map[string]string{"prometheus.io/scrape": "true"}
		if s, ok := a.annotated[key]; ok {
			ann["kubectl.kubernetes.io/restartedAt"] = s
		}
		spec := map[string]any{"selector": map[string]any{"matchLabels": map[string]string{"app": name}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]string{"app": name}, "annotations": ann},
				"spec": map[string]any{"containers": []any{map[string]any{"name": name, "image": "registry.test/" + name + ":1.4"}}}}}
		if kind != "DaemonSet" {
			spec["replicas"] = a.replicas[key]
		}
		if a.paused[key] {
			spec["paused"] = true
		}
		json.NewEncoder(w).Encode(map[string]any{"kind": kind, "apiVersion": "apps/v1",
			"metadata": map[string]any{"name": name, "namespace": "shop", "uid": "6f1c2f9e-0b7d-4d8e-9c1a-" + fmt.Sprintf("%012d", version), "resourceVersion": fmt.Sprint(version), "generation": 4},
			"spec":     spec, "status": map[string]any{"observedGeneration": 4}})
	}
	scale := func() {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"kind": "Scale", "apiVersion": "autoscaling/v1",
			"metadata": map[string]any{"name": name, "namespace": "shop", "resourceVersion": fmt.Sprint(version), "creationTimestamp": "2026-11-30T09:12:44Z"},
			"spec":     map[string]any{"replicas": a.replicas[key]}, "status": map[string]any{"replicas": a.replicas[key], "selector": "app=" + name}})
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
		m := restartBody.FindSubmatch(body)
		if m == nil {
			problem("body %s, want the restartedAt patch", body)
			status(w, 400, "BadRequest", "bad patch", nil)
			return
		}
		a.annotated[key] = string(m[1])
		a.versions[key]++
		version++
		object()
	case r.Method == http.MethodGet && sub == "/scale" && kind != "DaemonSet":
		scale()
		if a.raceNext > 0 {
			a.raceNext--
			a.versions[key]++
		}
	case r.Method == http.MethodPut && sub == "/scale" && kind != "DaemonSet":
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
		if s.Metadata.Name != name || s.Metadata.Namespace != "shop" {
			status(w, 400, "BadRequest", "the name of the object does not match the name on the URL", nil)
			return
		}
		if s.Metadata.ResourceVersion != fmt.Sprint(version) {
			status(w, 409, "Conflict", fmt.Sprintf("Operation cannot be fulfilled on %s.apps %q: the object has been modified; please apply your changes to the latest version and try again", resource, name),
				map[string]string{"name": name, "group": "apps", "kind": resource})
			return
		}
		a.replicas[key] = *s.Spec.Replicas
		a.versions[key]++
		version++
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
	return a.replicas[key]
}

// stamp returns the workload's restartedAt annotation.
func (a *apiServer) stamp(key string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.annotated[key]
}

// TestAPIServer runs the remediators with a client from a kubeconfig
// against the loopback API server and checks every request on the wire.
func TestAPIServer(t *testing.T) {
	a := newAPIServer(t)
	client := must(NewClient(a.kubeconfig(t), ""))
	defer a.checkNoProblems()
	run := func(t *testing.T, r intervene.Remediator) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		return r.Remediate(ctx, incident())
	}
	last := func(n int) []string {
		reqs := a.requests()
		if len(reqs) < n {
			t.Fatalf("got requests %q, want at least %d", reqs, n)
		}
		return reqs[len(reqs)-n:]
	}
	const dep, sts = "/apis/apps/v1/namespaces/shop/deployments/", "/apis/apps/v1/namespaces/shop/statefulsets/"

	t.Run("rollout restart", func(t *testing.T) {
		from := time.Now()
		if err := run(t, must(RolloutRestart(client, Deployment, "shop", "web"))); err != nil {
			t.Fatal(err)
		}
		got := last(2)
		stamp := a.stamp("deployments/web")
		want := []string{
			"GET " + dep + "web",
			"PATCH " + dep + "web?fieldManager=cpra " + string(restartPatch(mustParse(t, stamp))),
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if at := mustParse(t, stamp); at.Before(from.Truncate(time.Second)) || at.After(time.Now()) {
			t.Errorf("got restartedAt %s, want now", stamp)
		}
		if err := run(t, must(RolloutRestart(client, DaemonSet, "shop", "agent"))); err != nil {
			t.Fatal(err)
		}
		if got := last(1)[0]; !strings.HasPrefix(got, "PATCH /apis/apps/v1/namespaces/shop/daemonsets/agent?fieldManager=cpra {") {
			t.Errorf("got request %s, want the patch of the daemon set", got)
		}
	})
	t.Run("paused", func(t *testing.T) {
		err := run(t, must(RolloutRestart(client, Deployment, "shop", "frozen")))
		if !errors.Is(err, ErrPaused) || last(1)[0] != "GET "+dep+"frozen" {
			t.Errorf("got %v after %q, want ErrPaused after the read only", err, last(1))
		}
	})
	t.Run("scale", func(t *testing.T) {
		if err := run(t, must(Scale(client, StatefulSet, "shop", "db", WithAddReplicas(2, 4)))); err != nil {
			t.Fatal(err)
		}
		got := last(2)
		if got[0] != "GET "+sts+"db/scale" {
			t.Errorf("got %s, want GET %sdb/scale", got[0], sts)
		}
		put, body, _ := strings.Cut(got[1], " {")
		if put != "PUT "+sts+"db/scale?fieldManager=cpra" {
			t.Errorf("got %s, want PUT %sdb/scale?fieldManager=cpra", put, sts)
		}
		var s map[string]any
		if err := json.Unmarshal([]byte("{"+body), &s); err != nil {
			t.Fatal(err)
		}
		meta, spec := s["metadata"].(map[string]any), s["spec"].(map[string]any)
		if s["kind"] != "Scale" || s["apiVersion"] != "autoscaling/v1" || meta["name"] != "db" || meta["namespace"] != "shop" ||
			meta["resourceVersion"] != "7" || spec["replicas"] != float64(4) {
			t.Errorf("got Scale %s, want kind Scale, autoscaling/v1, shop/db at resourceVersion 7 with 4 replicas", "{"+body)
		}
		if a.count("statefulsets/db") != 4 {
			t.Errorf("got %d replicas, want 4", a.count("statefulsets/db"))
		}
		err := run(t, must(Scale(client, StatefulSet, "shop", "db", WithAddReplicas(2, 4))))
		if !errors.Is(err, intervene.ErrScaleLimit) || last(1)[0] != "GET "+sts+"db/scale" {
			t.Errorf("got %v after %q, want ErrScaleLimit after the read only", err, last(1))
		}
	})
	t.Run("conflict", func(t *testing.T) {
		// The API server's 409 is retried once, after a new read.
		a.mu.Lock()
		a.raceNext = 1 // another writer right after the first read
		v := a.versions["deployments/web"]
		a.mu.Unlock()
		if err := run(t, must(Scale(client, Deployment, "shop", "web", WithReplicas(5)))); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range last(4) {
			method, rest, _ := strings.Cut(r, " ")
			uri, body, _ := strings.Cut(rest, " ")
			var s struct {
				Metadata struct{ ResourceVersion string }
				Spec     struct{ Replicas int }
			}
			json.Unmarshal([]byte(body), &s)
			got = append(got, fmt.Sprintf("%s %s rv=%s replicas=%d", method, uri, s.Metadata.ResourceVersion, s.Spec.Replicas))
		}
		want := []string{
			"GET " + dep + "web/scale rv= replicas=0",
			fmt.Sprintf("PUT %sweb/scale?fieldManager=cpra rv=%d replicas=5", dep, v),
			"GET " + dep + "web/scale rv= replicas=0",
			fmt.Sprintf("PUT %sweb/scale?fieldManager=cpra rv=%d replicas=5", dep, v+1),
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if a.count("deployments/web") != 5 {
			t.Errorf("got %d replicas, want 5", a.count("deployments/web"))
		}
		a.mu.Lock()
		a.raceNext = 2 // and again after the second
		a.mu.Unlock()
		err := run(t, must(Scale(client, Deployment, "shop", "web", WithReplicas(6))))
		if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "the object has been modified") {
			t.Errorf("got %v, want the API server's conflict", err)
		}
	})
	t.Run("not found", func(t *testing.T) {
		for _, r := range []intervene.Remediator{
			must(RolloutRestart(client, StatefulSet, "shop", "ghost")),
			must(Scale(client, Deployment, "shop", "ghost", WithReplicas(1))),
		} {
			err := run(t, r)
			if !errors.Is(err, ErrNotFound) || !apierrors.IsNotFound(err) {
				t.Errorf("%v: got %v, want ErrNotFound", r, err)
			}
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		err := must(Scale(client, Deployment, "shop", "slow", WithReplicas(1))).Remediate(ctx, incident())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the deadline", err)
		}
	})
	t.Run("no secret in errors", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "kubeconfig")
		os.WriteFile(bad, []byte("apiVersion: v1\nkind: Config\nusers:\n- name: cpra\n  user:\n    token: ["+token+"]\n"), 0o600)
		_, err := NewClient(bad, "")
		if err == nil || strings.Contains(err.Error(), token) {
			t.Errorf("got %v, want an error without the token", err)
		}
		for _, r := range []intervene.Remediator{must(RolloutRestart(client, Deployment, "shop", "ghost"))} {
			for _, verb := range []string{"%v", "%+v", "%#v"} {
				if s := fmt.Sprintf(verb, r); strings.Contains(s, token) {
					t.Errorf("%s prints the token: %s", verb, s)
				}
			}
		}
	})
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.reqs {
		if strings.Contains(r, token) {
			t.Errorf("a request carries the token outside its header: %s", r)
		}
	}
}

func mustParse(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("restartedAt %q: %v", s, err)
	}
	return at
}

func TestClientConfig(t *testing.T) {
	a := newAPIServer(t)
	path := a.kubeconfig(t)
	for _, tt := range []struct {
		name, path, context, want string
	}{
		{"missing file", filepath.Join(t.TempDir(), "none"), "", "no such file"},
		{"unknown context", path, "nope", `context "nope" does not exist`},
		{"context without cluster", path, "elsewhere", "invalid configuration"},
		{"context without file", "", "test", "needs a kubeconfig file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient(tt.path, tt.context)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("not in a cluster", func(t *testing.T) {
		t.Setenv("KUBERNETES_SERVICE_HOST", "")
		t.Setenv("KUBERNETES_SERVICE_PORT", "")
		_, err := NewClient("", "")
		if err == nil || !strings.Contains(err.Error(), "in-cluster configuration") {
			t.Errorf("got %v, want the in-cluster error", err)
		}
	})
	t.Run("json", func(t *testing.T) {
		cfg, err := RESTConfig(path, "test")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ContentType != "application/json" || cfg.Host != a.srv.URL || cfg.BearerToken != token {
			t.Errorf("got content type %q, host %q, want JSON to %s with the token", cfg.ContentType, cfg.Host, a.srv.URL)
		}
	})
}
