package k8s

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ziad/cpra/intervene"
)

// RestartRemediator restarts a workload's pods by a rollout. Create it
// with [RolloutRestart].
type RestartRemediator struct {
	client *Client
	t      target
	cfg    *settings
}

// RolloutRestart returns a remediator that restarts the pods of a
// Deployment, StatefulSet or DaemonSet as kubectl rollout restart does: it
// sends the strategic merge patch
//
//	PATCH /apis/apps/v1/namespaces/{namespace}/{deployments|statefulsets|daemonsets}/{name}?fieldManager=cpra
//	Content-Type: application/strategic-merge-patch+json
//	{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-12-03T08:00:00Z"}}}}}
//
// with the current time in RFC 3339 (UTC). The changed pod template makes
// the controller replace the pods by the workload's update strategy (a
// rolling update keeps the service up). For a Deployment it first reads
// the Deployment and refuses a paused one with an error wrapping
// [ErrPaused], as kubectl does. An empty namespace is "default". A workload
// that does not exist is an error wrapping [ErrNotFound].
//
// A nil error means the API server accepted the restart; the engine then
// verifies the repair with fresh checks, which see the new pods once they
// serve.
//
// Options: [WithFieldManager].
func RolloutRestart(client *Client, kind Kind, namespace, name string, opts ...Option) (*RestartRemediator, error) {
	if client == nil {
		return nil, errorf("RolloutRestart: nil client")
	}
	switch kind {
	case Deployment, StatefulSet, DaemonSet:
	default:
		return nil, errorf("RolloutRestart: kind %q cannot be restarted (Deployment, StatefulSet, DaemonSet)", string(kind))
	}
	t, err := newTarget("RolloutRestart", kind, namespace, name)
	if err != nil {
		return nil, err
	}
	cfg, err := newConfig(forRestart, opts)
	if err != nil {
		return nil, err
	}
	return &RestartRemediator{client: client, t: t, cfg: cfg}, nil
}

// restartPatch is the body of the patch: the pod template annotation.
func restartPatch(at time.Time) []byte {
	p := map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{RestartedAtAnnotation: at.UTC().Format(time.RFC3339)},
	}}}}
	b, _ := json.Marshal(p) // maps of strings always marshal
	return b
}

// Remediate restarts the workload. It honours ctx.
func (r *RestartRemediator) Remediate(ctx context.Context, _ intervene.Incident) error {
	if err := ctx.Err(); err != nil {
		return wrap("rollout restart", r.t, err)
	}
	if r.t.kind == Deployment {
		var d struct {
			Spec struct {
				Paused bool `json:"paused"`
			} `json:"spec"`
		}
		if err := r.client.do(ctx, call{method: http.MethodGet, t: r.t}, &d); err != nil {
			return wrap("rollout restart", r.t, err)
		}
		if d.Spec.Paused {
			return fmt.Errorf("k8s: rollout restart %s: %w (run kubectl rollout resume first)", r.t, ErrPaused)
		}
	}
	err := ctx.Err()
	if err == nil {
		err = r.client.do(ctx, call{method: http.MethodPatch, t: r.t, fieldMgr: r.cfg.fieldManager,
			contentType: "application/strategic-merge-patch+json", body: restartPatch(time.Now())}, nil)
	}
	if err != nil {
		return wrap("rollout restart", r.t, err)
	}
	return nil
}

// String describes the remediator: the kind, namespace and name.
func (r *RestartRemediator) String() string {
	return "k8s.RolloutRestart(" + r.t.String() + ")"
}

// Format prints [RestartRemediator.String] for every verb, %#v included:
// the client and its credentials are never printed.
func (r *RestartRemediator) Format(f fmt.State, verb rune) { printed(f, verb, r.String()) }

var _ intervene.Remediator = (*RestartRemediator)(nil)
