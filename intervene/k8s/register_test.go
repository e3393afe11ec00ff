package k8s

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ziad/cpra/config"
	"github.com/ziad/cpra/intervene"
)

// monitorsFile is a monitors file whose one monitor has the given
// intervention block (indented to sit under intervention:, from line 5).
func monitorsFile(block string) string {
	return "monitors:\n  - name: shop-api\n    pulse_check: {type: tcp, config: {address: \"127.0.0.1:1\"}}\n    intervention:\n" + block
}

// TestConfig loads the Kubernetes interventions from monitors files and
// runs them against the loopback API server.
func TestConfig(t *testing.T) {
	Register()
	Register() // a second call is harmless
	a := newAPIServer(t, deployment("shop", "web", 2, 41), statefulSet("shop", "db", 3, 7), daemonSet("shop", "agent", 9))
	kc := a.kubeconfig(t)
	tests := []struct {
		name   string
		block  string
		want   string // the remediator
		calls  []string
		policy intervene.Policy
	}{
		{"restart", `      type: k8s_rollout_restart
      config: {name: web, namespace: shop, kubeconfig: ` + kc + `}
`, "k8s.RolloutRestart(deployment shop/web)", []string{"GET", "PATCH"}, intervene.Policy{}},
		{"restart a daemon set, alias", `      type: K8S-Restart
      config: {kind: ds, name: agent, namespace: shop, kubeconfig: ` + kc + `, context: test, timeout: 20s}
`, "k8s.RolloutRestart(daemonset shop/agent)", []string{"PATCH"}, intervene.Policy{Timeout: 20e9}},
		{"scale to a count", `      type: k8s_scale
      config: {kind: StatefulSet, name: db, namespace: shop, replicas: 5, kubeconfig: ` + kc + `}
`, "k8s.Scale(statefulset shop/db replicas=5)", []string{"GET", "PUT"}, intervene.Policy{}},
		{"scale by a step", `      type: k8s-scale
      max_attempts: 3
      policy: {cooldown: 5m}
      config:
        name: web
        namespace: shop
        add: 2
        max_replicas: 10
        kubeconfig: ` + kc + `
        field_manager: cpra
`, "k8s.Scale(deployment shop/web add=2 max=10)", []string{"GET", "PUT"}, intervene.Policy{Cooldown: 300e9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.Load(strings.NewReader(monitorsFile(tt.block)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m := f.Monitors[0]
			if got := fmt.Sprint(m.Remediate); got != tt.want {
				t.Errorf("got remediator %s, want %s", got, tt.want)
			}
			if m.Policy != tt.policy {
				t.Errorf("got policy %+v, want %+v", m.Policy, tt.policy)
			}
			before := len(a.requests())
			if err := m.Remediate.Remediate(t.Context(), incident()); err != nil {
				t.Fatal(err)
			}
			var methods []string
			for _, r := range a.requests()[before:] {
				methods = append(methods, r[:strings.Index(r, " ")])
			}
			if strings.Join(methods, " ") != strings.Join(tt.calls, " ") {
				t.Errorf("got requests %q, want methods %q", a.requests()[before:], tt.calls)
			}
		})
	}
}

// TestConfigErrors checks that each bad field is reported with the
// monitor, the field and its line.
func TestConfigErrors(t *testing.T) {
	Register()
	a := newAPIServer(t)
	kc := a.kubeconfig(t)
	tests := []struct {
		name  string
		block string
		want  []string // the errors, whole
	}{
		{"unknown type", `      type: k8s_rolout_restart
      config: {name: web}
`, []string{`monitors[0] "shop-api": intervention.type: "k8s_rolout_restart" is not an intervention type (script, http, docker_restart, docker_update, docker_scale, k8s_rollout_restart, k8s_scale) (line 5)`}},
		{"missing name", `      type: k8s_rollout_restart
      config:
        kubeconfig: ` + kc + `
`, []string{`monitors[0] "shop-api": intervention.config.name: missing (line 6)`}},
		{"unknown field", `      type: k8s_rollout_restart
      config:
        name: web
        namespce: shop
        kubeconfig: ` + kc + `
`, []string{`monitors[0] "shop-api": intervention.config.namespce: unknown field (did you mean "namespace"?) (line 8)`}},
		{"bad kind", `      type: k8s_rollout_restart
      config:
        kind: cronjob
        name: web
        kubeconfig: ` + kc + `
`, []string{`monitors[0] "shop-api": intervention.config.kind: "cronjob" is not a workload kind (Deployment, StatefulSet, DaemonSet) (line 7)`}},
		{"daemon set scaled", `      type: k8s_scale
      config:
        name: agent
        kubeconfig: ` + kc + `
        replicas: 2
        kind: daemonset
`, []string{`monitors[0] "shop-api": intervention.config.kind: a DaemonSet cannot be scaled (Deployment, StatefulSet) (line 10)`}},
		{"bad name", `      type: k8s_scale
      config:
        name: Web_1
        replicas: 2
        kubeconfig: ` + kc + `
`, []string{`monitors[0] "shop-api": intervention.config.name: Scale: invalid name "Web_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (line 7)`}},
		{"bad namespace", `      type: k8s_rollout_restart
      config:
        name: web
        namespace: Shop
        kubeconfig: ` + kc + `
`, []string{`monitors[0] "shop-api": intervention.config.namespace: RolloutRestart: invalid namespace "Shop": a lowercase RFC 1123 label`}},
		{"name a mapping", `      type: k8s_rollout_restart
      config:
        name: {a: b}
        kubeconfig: ` + kc + `
`, []string{`monitors[0] "shop-api": intervention.config.name: want a string, found a mapping (line 7)`}},
		{"no count", `      type: k8s_scale
      config:
        name: web
        kubeconfig: ` + kc + `
`, []string{`monitors[0] "shop-api": intervention.config.replicas: missing (give replicas, or add with max_replicas) (line 6)`}},
		{"count and step", `      type: k8s_scale
      config:
        name: web
        add: 1
        replicas: 3
        kubeconfig: ` + kc + `
`, []string{`monitors[0] "shop-api": intervention.config.replicas: conflicts with add (line 8): give a replica count, or add with max_replicas (line 9)`}},
		{"step without ceiling", `      type: k8s_scale
      config:
        name: web
        add: 1
        kubeconfig: ` + kc + `
`, []string{`monitors[0] "shop-api": intervention.config.max_replicas: missing (add needs it) (line 6)`}},
		{"ceiling without step", `      type: k8s_scale
      config:
        name: web
        max_replicas: 4
        kubeconfig: ` + kc + `
`, []string{`monitors[0] "shop-api": intervention.config.add: missing (max_replicas needs it) (line 6)`}},
		{"negative count", `      type: k8s_scale
      config:
        name: web
        replicas: -2
        kubeconfig: ` + kc + `
`, []string{`monitors[0] "shop-api": intervention.config.replicas: negative (-2) (line 8)`}},
		{"zero step, count not a number", `      type: k8s_scale
      config:
        name: web
        add: 0
        max_replicas: lots
        kubeconfig: ` + kc + `
`, []string{
			`monitors[0] "shop-api": intervention.config.add: must be positive (line 8)`,
			`monitors[0] "shop-api": intervention.config.max_replicas: "lots" is not an integer (line 9)`,
		}},
		{"huge ceiling", `      type: k8s_scale
      config:
        name: web
        add: 1
        max_replicas: 3000000000
        kubeconfig: ` + kc + `
`, []string{`monitors[0] "shop-api": intervention.config.max_replicas: 3000000000 is above the largest replica count 2147483647 (line 9)`}},
		{"missing kubeconfig file", `      type: k8s_rollout_restart
      config:
        name: web
        kubeconfig: /nonexistent/kubeconfig
`, []string{`monitors[0] "shop-api": intervention.config.kubeconfig: k8s: kubeconfig: stat /nonexistent/kubeconfig: no such file or directory (line 8)`}},
		{"unknown context", `      type: k8s_rollout_restart
      config:
        name: web
        kubeconfig: ` + kc + `
        context: prod
`, []string{`monitors[0] "shop-api": intervention.config.kubeconfig: k8s: kubeconfig ` + kc + `: context "prod" does not exist (line 8)`}},
		{"not in a cluster", `      type: k8s_rollout_restart
      config: {name: web}
`, []string{`monitors[0] "shop-api": intervention.config.kubeconfig: missing, and this program does not run in a cluster`}},
		{"empty field manager", `      type: k8s_rollout_restart
      config:
        name: web
        kubeconfig: ` + kc + `
        field_manager: ""
`, []string{`monitors[0] "shop-api": intervention.config.field_manager: empty (line 9)`}},
		{"config not a mapping", `      type: k8s_scale
      config: [web]
`, []string{`monitors[0] "shop-api": intervention.config: want a mapping, found a sequence (line 6)`}},
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.Load(strings.NewReader(monitorsFile(tt.block)))
			if err == nil {
				f.Close()
				t.Fatalf("got no error, want %q", tt.want)
			}
			var es config.Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v, want config.Errors", err)
			}
			if len(es) != len(tt.want) {
				t.Fatalf("got %d errors:\n%v\nwant %d:\n%s", len(es), err, len(tt.want), strings.Join(tt.want, "\n"))
			}
			for i, e := range es {
				if got := e.Error(); got != tt.want[i] && !(strings.HasPrefix(got, tt.want[i]) && !strings.HasSuffix(tt.want[i], ")")) {
					t.Errorf("got  %s\nwant %s", got, tt.want[i])
				}
				if e.Line == 0 || e.Monitor != "shop-api" || !strings.HasPrefix(e.Field, "intervention.") {
					t.Errorf("got line %d, monitor %q, field %q, want all three", e.Line, e.Monitor, e.Field)
				}
			}
		})
	}
}
