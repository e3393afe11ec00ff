package k8s

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/ziad/cpra/intervene"
)

// scaleCalls renders the actions as "get scale", "update scale replicas=N
// rv=V", and checks that each is on the scale subresource of resource
// ns/name with the default field manager.
func scaleCalls(t *testing.T, acts []k8stesting.Action, resource, ns, name string) []string {
	t.Helper()
	var out []string
	for _, a := range acts {
		if a.GetResource().Resource != resource || a.GetResource().Group != "apps" || a.GetNamespace() != ns || a.GetSubresource() != "scale" {
			t.Errorf("got %s on %v in %s subresource %q, want the scale of apps %s in %s", a.GetVerb(), a.GetResource(), a.GetNamespace(), a.GetSubresource(), resource, ns)
		}
		switch a := a.(type) {
		case k8stesting.GetActionImpl:
			if a.GetName() != name {
				t.Errorf("got get of %q, want %q", a.GetName(), name)
			}
			out = append(out, "get scale")
		case k8stesting.UpdateActionImpl:
			s := a.GetObject().(*autoscalingv1.Scale)
			if s.Name != name || s.Namespace != ns {
				t.Errorf("got update of scale %s/%s, want %s/%s", s.Namespace, s.Name, ns, name)
			}
			if a.UpdateOptions.FieldManager != DefaultFieldManager {
				t.Errorf("got field manager %q, want %q", a.UpdateOptions.FieldManager, DefaultFieldManager)
			}
			out = append(out, fmt.Sprintf("update scale replicas=%d rv=%s", s.Spec.Replicas, s.ResourceVersion))
		default:
			out = append(out, a.GetVerb()+" ?")
		}
	}
	return out
}

func TestScale(t *testing.T) {
	for _, w := range []struct {
		kind     Kind
		resource string
		obj      func() runtime.Object
		rv       int // the object's resourceVersion at the start
	}{
		{Deployment, "deployments", func() runtime.Object { return deployment("shop", "api", 2) }, 100},
		{StatefulSet, "statefulsets", func() runtime.Object { return statefulSet("shop", "api", 2) }, 200},
	} {
		t.Run(string(w.kind), func(t *testing.T) {
			c := newCluster(t, w.obj())
			gvr := deploymentsGVR
			if w.kind == StatefulSet {
				gvr = statefulSetsGVR
			}
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
					c.ClearActions()
					err := remediate(t, must(Scale(c, w.kind, "shop", "api", st.opt)))
					if st.err == nil && err != nil || st.err != nil && !errors.Is(err, st.err) {
						t.Fatalf("got %v, want %v", err, st.err)
					}
					if got := scaleCalls(t, c.Actions(), w.resource, "shop", "api"); strings.Join(got, "\n") != strings.Join(st.calls, "\n") {
						t.Errorf("got calls\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(st.calls, "\n"))
					}
					if n := c.replicasOf(t, gvr, "shop", "api"); n != st.replicas {
						t.Errorf("got %d replicas, want %d", n, st.replicas)
					}
				})
			}
		})
	}
}

func TestScaleCeilingMessage(t *testing.T) {
	c := newCluster(t, statefulSet("db", "pg", 4))
	err := remediate(t, must(Scale(c, StatefulSet, "db", "pg", WithAddReplicas(1, 4))))
	want := "k8s: scale statefulset db/pg: intervene: scale ceiling reached: it runs 4 replicas, the ceiling is 4"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestScaleErrors(t *testing.T) {
	t.Run("not found", func(t *testing.T) {
		c := newCluster(t)
		err := remediate(t, must(Scale(c, Deployment, "shop", "ghost", WithReplicas(2))))
		if !errors.Is(err, ErrNotFound) || !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "scale deployment shop/ghost") {
			t.Errorf("got %v, want ErrNotFound naming the deployment", err)
		}
		if got := scaleCalls(t, c.Actions(), "deployments", "shop", "ghost"); len(got) != 1 {
			t.Errorf("got calls %q, want only the read", got)
		}
	})
	t.Run("changed between read and write", func(t *testing.T) {
		c := newCluster(t, deployment("shop", "api", 2))
		c.bumpNext = 1 // another client writes right after the first read
		if err := remediate(t, must(Scale(c, Deployment, "shop", "api", WithAddReplicas(1, 5)))); err != nil {
			t.Fatal(err)
		}
		want := []string{"get scale", "update scale replicas=3 rv=100", "get scale", "update scale replicas=3 rv=101"}
		if got := scaleCalls(t, c.Actions(), "deployments", "shop", "api"); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got calls\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if n := c.replicasOf(t, deploymentsGVR, "shop", "api"); n != 3 {
			t.Errorf("got %d replicas, want 3: one step, not two", n)
		}
	})
	t.Run("changed twice", func(t *testing.T) {
		c := newCluster(t, deployment("shop", "api", 2))
		c.bumpNext = 2
		err := remediate(t, must(Scale(c, Deployment, "shop", "api", WithReplicas(4))))
		if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "scale deployment shop/api") {
			t.Errorf("got %v, want the conflict naming the deployment", err)
		}
		if got := scaleCalls(t, c.Actions(), "deployments", "shop", "api"); len(got) != 4 {
			t.Errorf("got calls %q, want two reads and two writes", got)
		}
		if n := c.replicasOf(t, deploymentsGVR, "shop", "api"); n != 2 {
			t.Errorf("got %d replicas, want 2 (unchanged)", n)
		}
	})
	t.Run("refused", func(t *testing.T) {
		c := newCluster(t, deployment("shop", "api", 2))
		c.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewInvalid(autoscalingv1.SchemeGroupVersion.WithKind("Scale").GroupKind(), "api", nil)
		})
		err := remediate(t, must(Scale(c, Deployment, "shop", "api", WithReplicas(4))))
		if !apierrors.IsInvalid(err) {
			t.Errorf("got %v, want the API server's error", err)
		}
	})
}

func TestScaleContext(t *testing.T) {
	t.Run("cancelled before", func(t *testing.T) {
		c := newCluster(t, deployment("shop", "api", 2))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := must(Scale(c, Deployment, "shop", "api", WithReplicas(3))).Remediate(ctx, incident())
		if !errors.Is(err, context.Canceled) || len(c.Actions()) != 0 {
			t.Errorf("got %v after %d actions, want context.Canceled and none", err, len(c.Actions()))
		}
	})
	t.Run("cancelled after the read", func(t *testing.T) {
		c := newCluster(t, deployment("shop", "api", 2))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		c.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
			cancel()
			return false, nil, nil
		})
		err := must(Scale(c, Deployment, "shop", "api", WithReplicas(3))).Remediate(ctx, incident())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if got := scaleCalls(t, c.Actions(), "deployments", "shop", "api"); len(got) != 1 {
			t.Errorf("got calls %q, want only the read", got)
		}
		if n := c.replicasOf(t, deploymentsGVR, "shop", "api"); n != 2 {
			t.Errorf("got %d replicas, want 2 (unchanged)", n)
		}
	})
}

func TestPrinting(t *testing.T) {
	c := newCluster(t)
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
