package k8s

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/ziad/cpra/intervene"
)

// checkRestartPatch checks that req is the patch kubectl rollout restart
// sends, for resource ns/name, stamped between from and to, and returns the
// stamp.
func checkRestartPatch(t *testing.T, req, resource, ns, name string, from, to time.Time) string {
	t.Helper()
	line, body, _ := strings.Cut(req, " {")
	if want := "PATCH /apis/apps/v1/namespaces/" + ns + "/" + resource + "/" + name + "?fieldManager=" + DefaultFieldManager; line != want {
		t.Errorf("got %s, want %s", line, want)
	}
	m := restartBody.FindStringSubmatch("{" + body)
	if m == nil {
		t.Fatalf("got patch body {%s, want only the restartedAt annotation of the pod template", body)
	}
	at, err := time.Parse(time.RFC3339, m[1])
	if err != nil || !strings.HasSuffix(m[1], "Z") {
		t.Fatalf("got restartedAt %q, want RFC 3339 in UTC (%v)", m[1], err)
	}
	if at.Before(from.Truncate(time.Second)) || at.After(to) {
		t.Errorf("got restartedAt %v, want between %v and %v", at, from, to)
	}
	return m[1]
}

// methods returns the methods of the requests.
func methods(reqs []string) string {
	var out []string
	for _, r := range reqs {
		m, _, _ := strings.Cut(r, " ")
		out = append(out, m)
	}
	return strings.Join(out, ",")
}

func TestRolloutRestart(t *testing.T) {
	for _, tt := range []struct {
		kind     Kind
		resource string
		methods  string // of the requests, in order
	}{
		{Deployment, "deployments", "GET,PATCH"},
		{StatefulSet, "statefulsets", "PATCH"},
		{DaemonSet, "daemonsets", "PATCH"},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			a := newAPIServer(t, deployment("shop", "web", 2, 100), statefulSet("shop", "web", 3, 200), daemonSet("shop", "web", 300))
			r := must(RolloutRestart(a.client(t), tt.kind, "shop", "web"))
			from := time.Now()
			if err := remediate(t, r); err != nil {
				t.Fatal(err)
			}
			to := time.Now()
			reqs := a.requests()
			if got := methods(reqs); got != tt.methods {
				t.Fatalf("got requests %q, want %s", reqs, tt.methods)
			}
			if tt.kind == Deployment && reqs[0] != "GET /apis/apps/v1/namespaces/shop/deployments/web" {
				t.Errorf("got %s, want the read of the deployment", reqs[0])
			}
			stamp := checkRestartPatch(t, reqs[len(reqs)-1], tt.resource, "shop", "web", from, to)
			if got := a.stamp("shop/" + tt.resource + "/web"); got != stamp {
				t.Errorf("the server has restartedAt %q, want %q", got, stamp)
			}
			for _, other := range []string{"deployments", "statefulsets", "daemonsets"} {
				if other != tt.resource && a.stamp("shop/"+other+"/web") != "" {
					t.Errorf("the %s of the same name was restarted too", other)
				}
			}
		})
	}
}

func TestRolloutRestartErrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		kind    Kind
		target  string
		target2 error // wrapped
		methods string
		want    string
	}{
		{"deployment not found", Deployment, "ghost", ErrNotFound, "GET", `deployment shop/ghost: k8s: no such workload: deployments.apps "ghost" not found`},
		{"statefulset not found", StatefulSet, "ghost", ErrNotFound, "PATCH", `statefulset shop/ghost`},
		{"daemonset not found", DaemonSet, "ghost", ErrNotFound, "PATCH", `daemonset shop/ghost`},
		{"paused", Deployment, "frozen", ErrPaused, "GET", "rollout resume"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			paused := deployment("shop", "frozen", 2, 100)
			paused.paused = true
			a := newAPIServer(t, paused)
			err := remediate(t, must(RolloutRestart(a.client(t), tt.kind, "shop", tt.target)))
			if !errors.Is(err, tt.target2) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error wrapping %v containing %q", err, tt.target2, tt.want)
			}
			if tt.target2 == ErrNotFound && !apierrors.IsNotFound(err) {
				t.Errorf("got %v, want apierrors.IsNotFound to hold", err)
			}
			if got := methods(a.requests()); got != tt.methods {
				t.Errorf("got requests %q, want %s", a.requests(), tt.methods)
			}
		})
	}

	t.Run("forbidden", func(t *testing.T) {
		a := newAPIServer(t, statefulSet("shop", "db", 1, 200))
		a.hook = func(method, key, sub string) (int, string, string) {
			if method == "PATCH" {
				return 403, "Forbidden", `statefulsets.apps "db" is forbidden: User "system:serviceaccount:ops:cpra" cannot patch resource "statefulsets" in API group "apps" in the namespace "shop"`
			}
			return 0, "", ""
		}
		err := remediate(t, must(RolloutRestart(a.client(t), StatefulSet, "shop", "db")))
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "rollout restart statefulset shop/db") ||
			!strings.Contains(err.Error(), "cannot patch resource") {
			t.Errorf("got %v, want the API server's forbidden error naming the workload", err)
		}
		if a.stamp("shop/statefulsets/db") != "" {
			t.Errorf("the refused patch was applied")
		}
	})
}

func TestRolloutRestartContext(t *testing.T) {
	t.Run("cancelled before", func(t *testing.T) {
		a := newAPIServer(t, deployment("shop", "web", 2, 100))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := must(RolloutRestart(a.client(t), Deployment, "shop", "web")).Remediate(ctx, incident())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if n := len(a.requests()); n != 0 {
			t.Errorf("got %d requests, want none", n)
		}
	})
	t.Run("cancelled after the read", func(t *testing.T) {
		a := newAPIServer(t, deployment("shop", "web", 2, 100))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		a.hook = func(method, key, sub string) (int, string, string) {
			if method == "GET" {
				cancel() // the deadline passes while the API server answers
			}
			return 0, "", ""
		}
		err := must(RolloutRestart(a.client(t), Deployment, "shop", "web")).Remediate(ctx, incident())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if got := methods(a.requests()); strings.Contains(got, "PATCH") {
			t.Errorf("got requests %s: a patch after the context ended", got)
		}
	})
}

func TestConstructorErrors(t *testing.T) {
	c := must(ClientFor(&rest.Config{Host: "https://127.0.0.1:1"}))
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
