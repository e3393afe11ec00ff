package k8s

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/ziad/cpra/intervene"
)

// scaleCalls renders the requests as "get scale" and "update scale
// replicas=N rv=V", and checks that each is on the scale subresource of
// resource ns/name, a write with the default field manager.
func scaleCalls(t *testing.T, reqs []string, resource, ns, name string) []string {
	t.Helper()
	path := "/apis/apps/v1/namespaces/" + ns + "/" + resource + "/" + name + "/scale"
	var out []string
	for _, r := range reqs {
		method, rest, _ := strings.Cut(r, " ")
		uri, body, _ := strings.Cut(rest, " ")
		switch {
		case method == "GET" && uri == path && body == "":
			out = append(out, "get scale")
		case method == "PUT" && uri == path+"?fieldManager="+DefaultFieldManager:
			var s struct {
				Metadata struct{ Name, Namespace, ResourceVersion string }
				Spec     struct{ Replicas *int32 }
			}
			if err := json.Unmarshal([]byte(body), &s); err != nil || s.Spec.Replicas == nil {
				t.Fatalf("got body %s (%v), want a Scale with its replicas", body, err)
			}
			if s.Metadata.Name != name || s.Metadata.Namespace != ns {
				t.Errorf("got update of scale %s/%s, want %s/%s", s.Metadata.Namespace, s.Metadata.Name, ns, name)
			}
			out = append(out, fmt.Sprintf("update scale replicas=%d rv=%s", *s.Spec.Replicas, s.Metadata.ResourceVersion))
		default:
			t.Errorf("got request %s, want a read or write of %s", r, path)
			out = append(out, method+" ?")
		}
	}
	return out
}

func TestScale(t *testing.T) {
	for _, w := range []struct {
		kind     Kind
		resource string
		obj      func() *held
		rv       int // the object's resourceVersion at the start
	}{
		{Deployment, "deployments", func() *held { return deployment("shop", "api", 2, 100) }, 100},
		{StatefulSet, "statefulsets", func() *held { return statefulSet("shop", "api", 2, 200) }, 200},
	} {
		t.Run(string(w.kind), func(t *testing.T) {
			a := newAPIServer(t, w.obj())
			c := a.client(t)
			key := "shop/" + w.resource + "/api"
			rv := func(d int) string { return fmt.Sprint(w.rv + d) }
			steps := []struct {
				name     string
				opt      Option
				replicas int32
				calls    []string
				err      error
			}{
				{"set", WithReplicas(3), 3, []string{"get scale", "update scale replicas=3 rv=" + rv(0)}, nil},
				{"set to the current count", WithReplicas(3), 3, []string{"get scale"}, nil},
				{"add", WithAddReplicas(2, 6), 5, []string{"get scale", "update scale replicas=5 rv=" + rv(1)}, nil},
				{"add up to the ceiling", WithAddReplicas(2, 6), 6, []string{"get scale", "update scale replicas=6 rv=" + rv(2)}, nil},
				{"at the ceiling", WithAddReplicas(2, 6), 6, []string{"get scale"}, intervene.ErrScaleLimit},
				{"above the ceiling", WithAddReplicas(1, 4), 6, []string{"get scale"}, intervene.ErrScaleLimit},
				{"scale down", WithReplicas(1), 1, []string{"get scale", "update scale replicas=1 rv=" + rv(3)}, nil},
				{"to zero", WithReplicas(0), 0, []string{"get scale", "update scale replicas=0 rv=" + rv(4)}, nil},
				{"add from zero", WithAddReplicas(5, 3), 3, []string{"get scale", "update scale replicas=3 rv=" + rv(5)}, nil},
			}
			for _, st := range steps {
				t.Run(st.name, func(t *testing.T) {
					a.clear()
					err := remediate(t, must(Scale(c, w.kind, "shop", "api", st.opt)))
					if st.err == nil && err != nil || st.err != nil && !errors.Is(err, st.err) {
						t.Fatalf("got %v, want %v", err, st.err)
					}
					if got := scaleCalls(t, a.requests(), w.resource, "shop", "api"); strings.Join(got, "\n") != strings.Join(st.calls, "\n") {
						t.Errorf("got calls\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(st.calls, "\n"))
					}
					if n := a.count(key); n != st.replicas {
						t.Errorf("got %d replicas, want %d", n, st.replicas)
					}
				})
			}
		})
	}
}

func TestScaleCeilingMessage(t *testing.T) {
	a := newAPIServer(t, statefulSet("db", "pg", 4, 200))
	err := remediate(t, must(Scale(a.client(t), StatefulSet, "db", "pg", WithAddReplicas(1, 4))))
	want := "k8s: scale statefulset db/pg: intervene: scale ceiling reached: it runs 4 replicas, the ceiling is 4"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestScaleErrors(t *testing.T) {
	t.Run("not found", func(t *testing.T) {
		a := newAPIServer(t)
		err := remediate(t, must(Scale(a.client(t), Deployment, "shop", "ghost", WithReplicas(2))))
		if !errors.Is(err, ErrNotFound) || !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "scale deployment shop/ghost") {
			t.Errorf("got %v, want ErrNotFound naming the deployment", err)
		}
		if got := scaleCalls(t, a.requests(), "deployments", "shop", "ghost"); len(got) != 1 {
			t.Errorf("got calls %q, want only the read", got)
		}
	})
	t.Run("changed between read and write", func(t *testing.T) {
		a := newAPIServer(t, deployment("shop", "api", 2, 100))
		a.raceNext = 1 // another client writes right after the first read
		if err := remediate(t, must(Scale(a.client(t), Deployment, "shop", "api", WithAddReplicas(1, 5)))); err != nil {
			t.Fatal(err)
		}
		want := []string{"get scale", "update scale replicas=3 rv=100", "get scale", "update scale replicas=3 rv=101"}
		if got := scaleCalls(t, a.requests(), "deployments", "shop", "api"); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got calls\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if n := a.count("shop/deployments/api"); n != 3 {
			t.Errorf("got %d replicas, want 3: one step, not two", n)
		}
	})
	t.Run("changed twice", func(t *testing.T) {
		a := newAPIServer(t, deployment("shop", "api", 2, 100))
		a.raceNext = 2
		err := remediate(t, must(Scale(a.client(t), Deployment, "shop", "api", WithReplicas(4))))
		if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "scale deployment shop/api") {
			t.Errorf("got %v, want the conflict naming the deployment", err)
		}
		if got := scaleCalls(t, a.requests(), "deployments", "shop", "api"); len(got) != 4 {
			t.Errorf("got calls %q, want two reads and two writes", got)
		}
		if n := a.count("shop/deployments/api"); n != 2 {
			t.Errorf("got %d replicas, want 2 (unchanged)", n)
		}
	})
	t.Run("refused", func(t *testing.T) {
		a := newAPIServer(t, deployment("shop", "api", 2, 100))
		a.hook = func(method, key, sub string) (int, string, string) {
			if method == "PUT" {
				return 422, "Invalid", `Scale.autoscaling "api" is invalid: spec.replicas: Invalid value: 4: must be less than or equal to 3`
			}
			return 0, "", ""
		}
		err := remediate(t, must(Scale(a.client(t), Deployment, "shop", "api", WithReplicas(4))))
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "must be less than or equal to 3") {
			t.Errorf("got %v, want the API server's error", err)
		}
		if a.count("shop/deployments/api") != 2 {
			t.Errorf("the refused write was applied")
		}
	})
}

func TestScaleContext(t *testing.T) {
	t.Run("cancelled before", func(t *testing.T) {
		a := newAPIServer(t, deployment("shop", "api", 2, 100))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := must(Scale(a.client(t), Deployment, "shop", "api", WithReplicas(3))).Remediate(ctx, incident())
		if !errors.Is(err, context.Canceled) || len(a.requests()) != 0 {
			t.Errorf("got %v after %d requests, want context.Canceled and none", err, len(a.requests()))
		}
	})
	t.Run("cancelled after the read", func(t *testing.T) {
		a := newAPIServer(t, deployment("shop", "api", 2, 100))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		a.hook = func(method, key, sub string) (int, string, string) {
			if method == "GET" {
				cancel()
			}
			return 0, "", ""
		}
		err := must(Scale(a.client(t), Deployment, "shop", "api", WithReplicas(3))).Remediate(ctx, incident())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if got := scaleCalls(t, a.requests(), "deployments", "shop", "api"); len(got) != 1 {
			t.Errorf("got calls %q, want only the read", got)
		}
		if n := a.count("shop/deployments/api"); n != 2 {
			t.Errorf("got %d replicas, want 2 (unchanged)", n)
		}
	})
}

func TestPrinting(t *testing.T) {
	c := must(ClientFor(&rest.Config{Host: "https://127.0.0.1:1", BearerToken: token}))
	for _, tt := range []struct {
		r    intervene.Remediator
		want string
	}{
		{must(RolloutRestart(c, DaemonSet, "kube-system", "node-agent")), "k8s.RolloutRestart(daemonset kube-system/node-agent)"},
		{must(Scale(c, Deployment, "shop", "api", WithReplicas(3))), "k8s.Scale(deployment shop/api replicas=3)"},
		{must(Scale(c, StatefulSet, "", "pg", WithAddReplicas(1, 5))), "k8s.Scale(statefulset default/pg add=1 max=5)"},
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if got := fmt.Sprintf(verb, tt.r); got != tt.want {
				t.Errorf("%s: got %s, want %s", verb, got, tt.want)
			}
		}
	}
}
