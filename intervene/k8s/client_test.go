package k8s

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/ziad/cpra/intervene"
)

// TestAPIServer runs the remediators with a client from a kubeconfig
// against the loopback API server and checks every request on the wire.
func TestAPIServer(t *testing.T) {
	frozen := deployment("shop", "frozen", 1, 3)
	frozen.paused = true
	a := newAPIServer(t, deployment("shop", "web", 2, 41), statefulSet("shop", "db", 3, 7), frozen, daemonSet("shop", "agent", 9))
	client := a.client(t)
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
		stamp := a.stamp("shop/deployments/web")
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
		if a.count("shop/statefulsets/db") != 4 {
			t.Errorf("got %d replicas, want 4", a.count("shop/statefulsets/db"))
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
		v := a.objs["shop/deployments/web"].version
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
		if a.count("shop/deployments/web") != 5 {
			t.Errorf("got %d replicas, want 5", a.count("shop/deployments/web"))
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

// TestAnswersWithoutStatus: something in front of the API server (a proxy,
// a load balancer) answers with a body of its own. The error still carries
// the answer's code, as the API server's errors do, so that apierrors'
// predicates and ErrNotFound hold, and it names the workload.
func TestAnswersWithoutStatus(t *testing.T) {
	for _, tt := range []struct {
		code int
		body string
		is   func(error) bool
		want string
	}{
		{502, "<html><body>502 Bad Gateway</body></html>", apierrors.IsInternalError, "502 Bad Gateway"},
		{429, "slow down", apierrors.IsTooManyRequests, "too many requests"},
		{404, "", apierrors.IsNotFound, "could not find the requested resource"},
		{403, "no", apierrors.IsForbidden, "scale deployment shop/api"},
	} {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3")
				w.WriteHeader(tt.code)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := must(ClientFor(&rest.Config{Host: srv.URL}))
			err := remediate(t, must(Scale(c, Deployment, "shop", "api", WithReplicas(2))))
			if !tt.is(err) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "deployment shop/api") {
				t.Errorf("got %v, want an error of code %d containing %q", err, tt.code, tt.want)
			}
			if tt.code == 404 && !errors.Is(err, ErrNotFound) {
				t.Errorf("got %v, want ErrNotFound", err)
			}
			if tt.code == 429 {
				if s, ok := apierrors.SuggestsClientDelay(err); !ok || s != 3 {
					t.Errorf("got a delay of %d s (%v), want the Retry-After's 3", s, ok)
				}
			}
		})
	}
}

// TestClientPaths: a server behind a proxy that moved it under a path is
// reached under that path; an answer too long to be a workload is an error.
func TestClientPaths(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("User-Agent"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("fieldManager") != "" {
			io.WriteString(w, `{}`)
			return
		}
		io.WriteString(w, `{"kind":"Deployment","spec":{"replicas":1},"metadata":{"annotations":{"big":"`)
		io.WriteString(w, strings.Repeat("x", maxObject))
		io.WriteString(w, `"}}}`)
	}))
	defer srv.Close()
	c := must(ClientFor(&rest.Config{Host: srv.URL + "/clusters/east", UserAgent: "ops-tool/2"}))
	if err := remediate(t, must(RolloutRestart(c, StatefulSet, "", "db"))); err != nil {
		t.Fatal(err)
	}
	err := remediate(t, must(RolloutRestart(c, Deployment, "shop", "web")))
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("got %v, want the answer refused as too long", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		"PATCH /clusters/east/apis/apps/v1/namespaces/default/statefulsets/db?fieldManager=cpra ops-tool/2",
		"GET /clusters/east/apis/apps/v1/namespaces/shop/deployments/web ops-tool/2",
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("got requests\n%s\nwant\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
	if _, err := ClientFor(nil); err == nil {
		t.Error("ClientFor(nil) gave no error")
	}
}
