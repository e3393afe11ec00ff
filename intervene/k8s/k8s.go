package k8s

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ziad/cpra/intervene"
)

// Kind is the kind of a workload a remediator acts on.
type Kind string

// The workload kinds, as the API spells them.
const (
	Deployment  Kind = "Deployment"
	StatefulSet Kind = "StatefulSet"
	DaemonSet   Kind = "DaemonSet"
)

// ParseKind reads a kind as a user writes it: "deployment", "deploy",
// "StatefulSet", "sts", "daemonset", "ds" (any case).
func ParseKind(s string) (Kind, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "deployment", "deployments", "deploy":
		return Deployment, true
	case "statefulset", "statefulsets", "sts":
		return StatefulSet, true
	case "daemonset", "daemonsets", "ds":
		return DaemonSet, true
	}
	return "", false
}

// ErrNotFound is wrapped by a remediator's error when the API server knows
// no workload of that kind, namespace and name (status 404). The API
// server's own error is wrapped too: apierrors.IsNotFound holds as well.
var ErrNotFound = errors.New("k8s: no such workload")

// ErrPaused is wrapped by the error of [RolloutRestart] for a Deployment
// whose rollouts are paused: a restart would do nothing until it is
// resumed (kubectl rollout resume).
var ErrPaused = errors.New("k8s: deployment is paused")

// DefaultFieldManager is the field manager the remediators' writes are
// made as, unless [WithFieldManager] names another.
const DefaultFieldManager = "cpra"

// RestartedAtAnnotation is the pod template annotation a rollout restart
// sets, the one kubectl rollout restart sets.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

type optKind uint8

const (
	forRestart optKind = 1 << iota
	forScale
)

func (k optKind) String() string {
	if k == forRestart {
		return "RolloutRestart"
	}
	return "Scale"
}

type settings struct {
	fieldManager string
	replicas     int32
	set          bool
	add, ceiling int32
}

// Option configures [RolloutRestart] or [Scale]. Each option says which it
// applies to; giving one to the other is an error wrapping
// [intervene.ErrConfig].
type Option interface {
	apply(k optKind, c *settings) error
}

type option struct {
	name  string
	kinds optKind
	set   func(*settings) error
}

func (o option) apply(k optKind, c *settings) error {
	if o.kinds&k == 0 {
		return errorf("%s does not apply to %s", o.name, k)
	}
	return o.set(c)
}

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{intervene.ErrConfig}, args...)...)
}

// WithFieldManager sets the field manager the write is made as (shown in
// the workload's managedFields); the default is [DefaultFieldManager].
//
// Applies to [RolloutRestart] and [Scale].
func WithFieldManager(name string) Option {
	return option{"WithFieldManager", forRestart | forScale, func(c *settings) error {
		if name == "" || len(name) > 128 {
			return errorf("WithFieldManager(%q): want a name of 1 to 128 characters", name)
		}
		c.fieldManager = name
		return nil
	}}
}

// WithReplicas scales the workload to n replicas (0 stops all its pods).
//
// Applies to [Scale].
func WithReplicas(n int32) Option {
	return option{"WithReplicas", forScale, func(c *settings) error {
		if n < 0 {
			return errorf("WithReplicas(%d): negative", n)
		}
		c.replicas, c.set = n, true
		return nil
	}}
}

// WithAddReplicas scales the workload up by n replicas at each attempt,
// never beyond ceiling replicas. n and ceiling must be positive.
//
// Applies to [Scale].
func WithAddReplicas(n, ceiling int32) Option {
	return option{"WithAddReplicas", forScale, func(c *settings) error {
		if n <= 0 || ceiling <= 0 {
			return errorf("WithAddReplicas(%d, %d): want a positive step and ceiling", n, ceiling)
		}
		c.add, c.ceiling = n, ceiling
		return nil
	}}
}

func newConfig(k optKind, opts []Option) (*settings, error) {
	c := &settings{fieldManager: DefaultFieldManager}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(k, c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// target is a workload: its kind, namespace and name, checked.
type target struct {
	kind      Kind
	namespace string
	name      string
}

func (t target) String() string {
	return strings.ToLower(string(t.kind)) + " " + t.namespace + "/" + t.name
}

// newTarget checks a workload's namespace and name as the API server would
// (a DNS label and a DNS subdomain) and returns it; ctor names the caller.
func newTarget(ctor string, kind Kind, namespace, name string) (target, error) {
	if namespace == "" {
		namespace = "default"
	}
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return target{}, errorf("%s: invalid namespace %q: %s", ctor, namespace, short(errs[0]))
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return target{}, errorf("%s: invalid name %q: %s", ctor, name, short(errs[0]))
	}
	return target{kind: kind, namespace: namespace, name: name}, nil
}

// short drops the example and the regular expression from a validation
// message.
func short(msg string) string {
	before, _, _ := strings.Cut(msg, " (e.g.")
	return before
}

// wrap names the operation and the target, and adds [ErrNotFound] to a
// not-found error from the API server.
func wrap(op string, t target, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("k8s: %s %s: %w: %w", op, t, ErrNotFound, err)
	}
	return fmt.Errorf("k8s: %s %s: %w", op, t, err)
}

// printed writes s for every verb, so that no verb prints the client (and
// the credentials its configuration may hold).
func printed(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s)
		return
	}
	fmt.Fprint(f, s)
}
