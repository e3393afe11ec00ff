package k8s

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"github.com/ziad/cpra/intervene"
)

var restartBody = regexp.MustCompile(`^\{"spec":\{"template":\{"metadata":\{"annotations":\{"kubectl\.kubernetes\.io/restartedAt":"([^"]+)"\}\}\}\}\}$`)

// checkRestartPatch checks that a is the patch kubectl rollout restart
// sends, for resource ns/name, stamped between from and to, and returns the
// stamp.
func checkRestartPatch(t *testing.T, a k8stesting.Action, resource, ns, name string, from, to time.Time) string {
	t.Helper()
	p, ok := a.(k8stesting.PatchActionImpl)
	if !ok {
		t.Fatalf("got action %s %s, want a patch", a.GetVerb(), a.GetResource().Resource)
	}
	if p.GetResource().Resource != resource || p.GetResource().Group != "apps" || p.GetResource().Version != "v1" ||
		p.GetNamespace() != ns || p.GetName() != name || p.GetSubresource() != "" {
		t.Errorf("got patch of %v %s/%s (subresource %q), want apps/v1 %s %s/%s", p.GetResource(), p.GetNamespace(), p.GetName(), p.GetSubresource(), resource, ns, name)
	}
	if p.GetPatchType() != types.StrategicMergePatchType {
		t.Errorf("got patch type %s, want %s", p.GetPatchType(), types.StrategicMergePatchType)
	}
	if p.PatchOptions.FieldManager != DefaultFieldManager {
		t.Errorf("got field manager %q, want %q", p.PatchOptions.FieldManager, DefaultFieldManager)
	}
	m := restartBody.FindSubmatch(p.GetPatch())
	if m == nil {
		t.Fatalf("got patch body %s, want only the restartedAt annotation of the pod template", p.GetPatch())
	}
	at, err := time.Parse(time.RFC3339, string(m[1]))
	if err != nil || !strings.HasSuffix(string(m[1]), "Z") {
		t.Fatalf("got restartedAt %q, want RFC 3339 in UTC (%v)", m[1], err)
	}
	if at.Before(from.Truncate(time.Second)) || at.After(to) {
		t.Errorf("got restartedAt %v, want between %v and %v", at, from, to)
	}
	return string(m[1])
}

func TestRolloutRestart(t *testing.T) {
	tests := []struct {
		kind     Kind
		resource string
		verbs    []string // the actions, in order
		template func(runtime.Object) map[string]string
	}{
		{Deployment, "deployments", []string{"get", "patch"}, func(o runtime.Object) map[string]string { return o.(*appsv1.Deployment).Spec.Template.Annotations }},
		{StatefulSet, "statefulsets", []string{"patch"}, func(o runtime.Object) map[string]string { return o.(*appsv1.StatefulSet).Spec.Template.Annotations }},
		{DaemonSet, "daemonsets", []string{"patch"}, func(o runtime.Object) map[string]string { return o.(*appsv1.DaemonSet).Spec.Template.Annotations }},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			c := newCluster(t, deployment("shop", "web", 2), statefulSet("shop", "web", 3), daemonSet("shop", "web"))
			r := must(RolloutRestart(c, tt.kind, "shop", "web"))
			from := time.Now()
			if err := remediate(t, r); err != nil {
				t.Fatal(err)
			}
			to := time.Now()
			acts := c.Actions()
			var verbs []string
			for _, a := range acts {
				verbs = append(verbs, a.GetVerb())
				if a.GetResource().Resource != tt.resource || a.GetNamespace() != "shop" {
					t.Errorf("got %s on %s in %q, want %s in shop", a.GetVerb(), a.GetResource().Resource, a.GetNamespace(), tt.resource)
				}
			}
			if strings.Join(verbs, ",") != strings.Join(tt.verbs, ",") {
				t.Fatalf("got actions %q, want %q", verbs, tt.verbs)
			}
			stamp := checkRestartPatch(t, acts[len(acts)-1], tt.resource, "shop", "web", from, to)
			// The object tracker applied the strategic merge patch: the
			// annotation is set and the template's own is kept.
			obj, err := c.Tracker().Get(appsv1.SchemeGroupVersion.WithResource(tt.resource), "shop", "web")
			if err != nil {
				t.Fatal(err)
			}
			ann := tt.template(obj)
			if ann[RestartedAtAnnotation] != stamp || ann["prometheus.io/scrape"] != "true" {
				t.Errorf("got pod template annotations %v, want restartedAt %s and the template's own", ann, stamp)
			}
		})
	}
}

func TestRolloutRestartErrors(t *testing.T) {
	paused := deployment("shop", "frozen", 2)
	paused.Spec.Paused = true
	for _, tt := range []struct {
		name    string
		kind    Kind
		target  string
		target2 error // wrapped
		verbs   string
		want    string
	}{
		{"deployment not found", Deployment, "ghost", ErrNotFound, "get", `deployment shop/ghost: k8s: no such workload: deployments.apps "ghost" not found`},
		{"statefulset not found", StatefulSet, "ghost", ErrNotFound, "patch", `statefulset shop/ghost`},
		{"daemonset not found", DaemonSet, "ghost", ErrNotFound, "patch", `daemonset shop/ghost`},
		{"paused", Deployment, "frozen", ErrPaused, "get", "rollout resume"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, paused)
			err := remediate(t, must(RolloutRestart(c, tt.kind, "shop", tt.target)))
			if !errors.Is(err, tt.target2) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error wrapping %v containing %q", err, tt.target2, tt.want)
			}
			if tt.target2 == ErrNotFound && !apierrors.IsNotFound(err) {
				t.Errorf("got %v, want apierrors.IsNotFound to hold", err)
			}
			var verbs []string
			for _, a := range c.Actions() {
				verbs = append(verbs, a.GetVerb())
			}
			if strings.Join(verbs, ",") != tt.verbs {
				t.Errorf("got actions %q, want %q", verbs, tt.verbs)
			}
		})
	}

	t.Run("forbidden", func(t *testing.T) {
		c := newCluster(t, statefulSet("shop", "db", 1))
		c.PrependReactor("patch", "statefulsets", func(a k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(a.GetResource().GroupResource(), "db", errors.New(`User "system:serviceaccount:ops:cpra" cannot patch resource`))
		})
		err := remediate(t, must(RolloutRestart(c, StatefulSet, "shop", "db")))
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "rollout restart statefulset shop/db") {
			t.Errorf("got %v, want the API server's forbidden error naming the workload", err)
		}
	})
}

func TestRolloutRestartContext(t *testing.T) {
	t.Run("cancelled before", func(t *testing.T) {
		c := newCluster(t, deployment("shop", "web", 2))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := must(RolloutRestart(c, Deployment, "shop", "web")).Remediate(ctx, incident())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if n := len(c.Actions()); n != 0 {
			t.Errorf("got %d actions, want none", n)
		}
	})
	t.Run("cancelled after the read", func(t *testing.T) {
		c := newCluster(t, deployment("shop", "web", 2))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		c.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
			cancel() // the deadline passes while the API server answers
			return false, nil, nil
		})
		err := must(RolloutRestart(c, Deployment, "shop", "web")).Remediate(ctx, incident())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		for _, a := range c.Actions() {
			if a.GetVerb() == "patch" {
				t.Errorf("got a patch after the context ended")
			}
		}
	})
}

func TestConstructorErrors(t *testing.T) {
	c := newCluster(t)
	for name, fn := range map[string]func() error{
		"restart, nil client":    func() error { _, err := RolloutRestart(nil, Deployment, "a", "b"); return err },
		"restart, replicaset":    func() error { _, err := RolloutRestart(c, Kind("ReplicaSet"), "a", "b"); return err },
		"restart, empty name":    func() error { _, err := RolloutRestart(c, Deployment, "a", ""); return err },
		"restart, bad name":      func() error { _, err := RolloutRestart(c, Deployment, "a", "Web_1"); return err },
		"restart, path in name":  func() error { _, err := RolloutRestart(c, Deployment, "a", "../secrets"); return err },
		"restart, bad namespace": func() error { _, err := RolloutRestart(c, Deployment, "a.b", "web"); return err },
		"restart, scale option":  func() error { _, err := RolloutRestart(c, Deployment, "a", "web", WithReplicas(2)); return err },
		"restart, empty manager": func() error { _, err := RolloutRestart(c, Deployment, "a", "web", WithFieldManager("")); return err },
		"scale, nil client":      func() error { _, err := Scale(nil, Deployment, "a", "b", WithReplicas(1)); return err },
		"scale, daemonset":       func() error { _, err := Scale(c, DaemonSet, "a", "b", WithReplicas(1)); return err },
		"scale, no count":        func() error { _, err := Scale(c, Deployment, "a", "b"); return err },
		"scale, both counts": func() error {
			_, err := Scale(c, Deployment, "a", "b", WithReplicas(1), WithAddReplicas(1, 3))
			return err
		},
		"scale, negative replicas": func() error { _, err := Scale(c, Deployment, "a", "b", WithReplicas(-1)); return err },
		"scale, zero step":         func() error { _, err := Scale(c, Deployment, "a", "b", WithAddReplicas(0, 3)); return err },
		"scale, zero ceiling":      func() error { _, err := Scale(c, StatefulSet, "a", "b", WithAddReplicas(1, 0)); return err },
		"scale, bad name":          func() error { _, err := Scale(c, StatefulSet, "a", "b c", WithReplicas(1)); return err },
		"scale, only a nil option": func() error { _, err := Scale(c, Deployment, "a", "b", nil); return err },
	} {
		if err := fn(); !errors.Is(err, intervene.ErrConfig) {
			t.Errorf("%s: got %v, want intervene.ErrConfig", name, err)
		}
	}
	if r, err := RolloutRestart(c, Deployment, "", "web"); err != nil || r.String() != "k8s.RolloutRestart(deployment default/web)" {
		t.Errorf("got %v, %v, want the default namespace", r, err)
	}
}
