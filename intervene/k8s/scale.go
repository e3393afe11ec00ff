package k8s

import (
	"context"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ziad/cpra/intervene"
)

// ScaleRemediator changes a workload's replica count. Create it with
// [Scale].
type ScaleRemediator struct {
	client kubernetes.Interface
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
func Scale(client kubernetes.Interface, kind Kind, namespace, name string, opts ...Option) (*ScaleRemediator, error) {
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

// scaler is the scale subresource of one kind.
type scaler interface {
	GetScale(ctx context.Context, name string, opts metav1.GetOptions) (*autoscalingv1.Scale, error)
	UpdateScale(ctx context.Context, name string, s *autoscalingv1.Scale, opts metav1.UpdateOptions) (*autoscalingv1.Scale, error)
}

func (r *ScaleRemediator) scaler() scaler {
	if r.t.kind == StatefulSet {
		return r.client.AppsV1().StatefulSets(r.t.namespace)
	}
	return r.client.AppsV1().Deployments(r.t.namespace)
}

// Remediate scales the workload. It honours ctx.
func (r *ScaleRemediator) Remediate(ctx context.Context, _ intervene.Incident) error {
	const op = "scale"
	sc := r.scaler()
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return wrap(op, r.t, err)
		}
		cur, err := sc.GetScale(ctx, r.t.name, metav1.GetOptions{})
		if err != nil {
			return wrap(op, r.t, err)
		}
		want, err := r.count(cur.Spec.Replicas)
		if err != nil {
			return err
		}
		if want == cur.Spec.Replicas {
			return nil
		}
		next := cur.DeepCopy()
		next.Spec.Replicas = want
		if err := ctx.Err(); err != nil {
			return wrap(op, r.t, err)
		}
		_, err = sc.UpdateScale(ctx, r.t.name, next, metav1.UpdateOptions{FieldManager: r.cfg.fieldManager})
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
