package k8s

import (
	"context"
	"strconv"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/ziad/cpra/intervene"
)

// cluster is client-go's fake clientset with the scale subresource of
// deployments and stateful sets answered as the API server answers it
// (client-go's object tracker does not): GET returns a Scale of the
// workload's replicas and resourceVersion, PUT refuses a stale
// resourceVersion with 409 Conflict and otherwise sets the workload's
// replicas and bumps its resourceVersion.
type cluster struct {
	*fake.Clientset

	mu       sync.Mutex
	bumpNext int // resourceVersions bumped right after the next scale reads, as by another client
}

var (
	deploymentsGVR  = appsv1.SchemeGroupVersion.WithResource("deployments")
	statefulSetsGVR = appsv1.SchemeGroupVersion.WithResource("statefulsets")
)

func newCluster(t *testing.T, objs ...runtime.Object) *cluster {
	t.Helper()
	c := &cluster{Clientset: fake.NewClientset(objs...)}
	for _, res := range []string{"deployments", "statefulsets"} {
		c.PrependReactor("get", res, c.getScale)
		c.PrependReactor("update", res, c.updateScale)
	}
	return c
}

func (c *cluster) workload(gvr schema.GroupVersionResource, ns, name string) (metav1.Object, *int32, error) {
	obj, err := c.Tracker().Get(gvr, ns, name)
	if err != nil {
		return nil, nil, err
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		if o.Spec.Replicas == nil {
			o.Spec.Replicas = new(int32)
			*o.Spec.Replicas = 1
		}
		return o, o.Spec.Replicas, nil
	case *appsv1.StatefulSet:
		if o.Spec.Replicas == nil {
			o.Spec.Replicas = new(int32)
			*o.Spec.Replicas = 1
		}
		return o, o.Spec.Replicas, nil
	}
	panic("unexpected object")
}

func (c *cluster) getScale(a k8stesting.Action) (bool, runtime.Object, error) {
	if a.GetSubresource() != "scale" {
		return false, nil, nil
	}
	g := a.(k8stesting.GetAction)
	obj, replicas, err := c.workload(g.GetResource(), g.GetNamespace(), g.GetName())
	if err != nil {
		return true, nil, err
	}
	s := &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: obj.GetName(), Namespace: obj.GetNamespace(), ResourceVersion: obj.GetResourceVersion(), UID: obj.GetUID()},
		Spec:       autoscalingv1.ScaleSpec{Replicas: *replicas},
		Status:     autoscalingv1.ScaleStatus{Replicas: *replicas, Selector: "app=" + obj.GetName()},
	}
	c.mu.Lock()
	bump := c.bumpNext > 0
	if bump {
		c.bumpNext--
	}
	c.mu.Unlock()
	if bump {
		obj.SetResourceVersion(nextVersion(obj.GetResourceVersion()))
		if err := c.Tracker().Update(g.GetResource(), obj.(runtime.Object), g.GetNamespace()); err != nil {
			return true, nil, err
		}
	}
	return true, s, nil
}

func (c *cluster) updateScale(a k8stesting.Action) (bool, runtime.Object, error) {
	if a.GetSubresource() != "scale" {
		return false, nil, nil
	}
	u := a.(k8stesting.UpdateAction)
	s := u.GetObject().(*autoscalingv1.Scale)
	gvr := u.GetResource()
	obj, replicas, err := c.workload(gvr, u.GetNamespace(), s.Name)
	if err != nil {
		return true, nil, err
	}
	if s.ResourceVersion != obj.GetResourceVersion() {
		return true, nil, apierrors.NewConflict(gvr.GroupResource(), s.Name,
			errorString("the object has been modified; please apply your changes to the latest version and try again"))
	}
	*replicas = s.Spec.Replicas
	obj.SetResourceVersion(nextVersion(obj.GetResourceVersion()))
	if err := c.Tracker().Update(gvr, obj.(runtime.Object), u.GetNamespace()); err != nil {
		return true, nil, err
	}
	out := s.DeepCopy()
	out.ResourceVersion = obj.GetResourceVersion()
	return true, out, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

func nextVersion(v string) string {
	n, _ := strconv.Atoi(v)
	return strconv.Itoa(n + 1)
}

// replicasOf returns the workload's replicas as the tracker has them.
func (c *cluster) replicasOf(t *testing.T, gvr schema.GroupVersionResource, ns, name string) int32 {
	t.Helper()
	_, r, err := c.workload(gvr, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	return *r
}

func deployment(ns, name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "100", Labels: map[string]string{"app": name}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name),
		},
	}
}

func statefulSet(ns, name string, replicas int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "200"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas, ServiceName: name,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name),
		},
	}
}

func daemonSet(ns, name string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "300"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name),
		},
	}
}

// podTemplate has an annotation of its own, which a restart must keep.
func podTemplate(name string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      map[string]string{"app": name},
			Annotations: map[string]string{"prometheus.io/scrape": "true"},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "registry.test/" + name + ":1.4"}}},
	}
}

func incident() intervene.Incident { return intervene.Incident{Monitor: "web", Attempt: 1} }

func remediate(t *testing.T, r intervene.Remediator) error {
	t.Helper()
	return r.Remediate(t.Context(), incident())
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

var _ = context.Background
