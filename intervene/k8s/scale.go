package k8s

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/ziad/cpra/intervene"
)

// ScaleRemediator changes a workload's replica count. Create it with
// [Scale].
type ScaleRemediator struct {
	client *Client
	t      target
	cfg    *settings
}

// Scale returns a remediator that scales a Deployment or StatefulSet
// through its scale subresource, as kubectl scale does: it reads
//
//	GET /apis/apps/v1/namespaces/{namespace}/{deployments|statefulsets}/{name}/scale
//
// and writes the same Scale back, with its resourceVersion and the new
// spec.replicas:
//
//	PUT /apis/apps/v1/namespaces/{namespace}/{deployments|statefulsets}/{name}/scale?fieldManager=cpra
//
// The count is [WithReplicas]' or the current one plus [WithAddReplicas]'
// step, at most its ceiling; exactly one of the two is required. A
// workload already at the count is left alone (only read). One at or above
// the ceiling is an error wrapping [intervene.ErrScaleLimit], so that the
// engine sees the repair could not be made; the engine's policy (attempts,
// cooldown, limit per window) and budgets bound how often steps are taken.
// If the workload changed between the read and the write (409 Conflict),
// both are made once more; a second conflict is returned. A workload that
// does not exist is an error wrapping [ErrNotFound]. An empty namespace is
// "default".
//
// Options: [WithReplicas], [WithAddReplicas], [WithFieldManager].
func Scale(client *Client, kind Kind, namespace, name string, opts ...Option) (*ScaleRemediator, error) {
	if client == nil {
		return nil, errorf("Scale: nil client")
	}
	switch kind {
	case Deployment, StatefulSet:
	default:
		return nil, errorf("Scale: kind %q has no replica count to scale (Deployment, StatefulSet)", string(kind))
	}
	t, err := newTarget("Scale", kind, namespace, name)
	if err != nil {
		return nil, err
	}
	cfg, err := newConfig(forScale, opts)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.set && cfg.ceiling > 0:
		return nil, errorf("Scale(%s): WithReplicas and WithAddReplicas exclude each other", t)
	case !cfg.set && cfg.ceiling == 0:
		return nil, errorf("Scale(%s): want WithReplicas or WithAddReplicas", t)
	}
	return &ScaleRemediator{client: client, t: t, cfg: cfg}, nil
}

// scaleObject is a Scale as the scale subresource gives it and takes it
// back: its metadata (and the resourceVersion in it) as read, and the
// replica count.
type scaleObject struct {
	Kind       string          `json:"kind,omitempty"`
	APIVersion string          `json:"apiVersion,omitempty"`
	Metadata   json.RawMessage `json:"metadata"`
	Spec       struct {
		Replicas int32 `json:"replicas"`
	} `json:"spec"`
}

// Remediate scales the workload. It honours ctx.
func (r *ScaleRemediator) Remediate(ctx context.Context, _ intervene.Incident) error {
	const op = "scale"
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return wrap(op, r.t, err)
		}
		var cur scaleObject
		if err := r.client.do(ctx, call{method: http.MethodGet, t: r.t, sub: "scale"}, &cur); err != nil {
			return wrap(op, r.t, err)
		}
		want, err := r.count(cur.Spec.Replicas)
		if err != nil {
			return err
		}
		if want == cur.Spec.Replicas {
			return nil
		}
		next := cur
		next.Spec.Replicas = want
		if next.Kind == "" {
			next.Kind, next.APIVersion = "Scale", "autoscaling/v1"
		}
		body, err := json.Marshal(next)
		if err != nil {
			return wrap(op, r.t, err)
		}
		if err := ctx.Err(); err != nil {
			return wrap(op, r.t, err)
		}
		err = r.client.do(ctx, call{method: http.MethodPut, t: r.t, sub: "scale", fieldMgr: r.cfg.fieldManager,
			contentType: "application/json", body: body}, nil)
		switch {
		case err == nil:
			return nil
		case attempt == 0 && apierrors.IsConflict(err):
			continue // changed since it was read: read it again
		}
		return wrap(op, r.t, err)
	}
}

// count returns the replica count to set, given the current one.
func (r *ScaleRemediator) count(cur int32) (int32, error) {
	if r.cfg.set {
		return r.cfg.replicas, nil
	}
	if cur >= r.cfg.ceiling {
		return 0, fmt.Errorf("k8s: scale %s: %w: it runs %d replicas, the ceiling is %d", r.t, intervene.ErrScaleLimit, cur, r.cfg.ceiling)
	}
	// cur < ceiling and both fit an int32: cur+add cannot overflow int64.
	return int32(min(int64(cur)+int64(r.cfg.add), int64(r.cfg.ceiling))), nil
}

// String describes the remediator and its count.
func (r *ScaleRemediator) String() string {
	if r.cfg.set {
		return fmt.Sprintf("k8s.Scale(%s replicas=%d)", r.t, r.cfg.replicas)
	}
	return fmt.Sprintf("k8s.Scale(%s add=%d max=%d)", r.t, r.cfg.add, r.cfg.ceiling)
}

// Format prints [ScaleRemediator.String] for every verb, %#v included:
// the client and its credentials are never printed.
func (r *ScaleRemediator) Format(f fmt.State, verb rune) { printed(f, verb, r.String()) }

var _ intervene.Remediator = (*ScaleRemediator)(nil)
