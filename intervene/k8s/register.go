package k8s

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ziad/cpra/config"
	"github.com/ziad/cpra/intervene"
)

var registerOnce sync.Once

// Register adds the intervention types k8s_rollout_restart and k8s_scale to
// package config's loader (see [config.RegisterIntervention]). It may be
// called more than once. Their intervention.config fields:
//
//	k8s_rollout_restart  name (required); kind (deployment, the default;
//	                     statefulset, daemonset); namespace (default);
//	                     kubeconfig; context; field_manager
//	k8s_scale            name (required); kind (deployment, the default;
//	                     statefulset); namespace; replicas (set the count), or
//	                     add with max_replicas (add that many, up to the
//	                     ceiling); kubeconfig; context; field_manager
//
// kubeconfig is the path of a kubeconfig file, whose current context is
// used unless context names another; without it the program must run in a
// pod and uses its service account. The file is read when the monitors
// load: a missing or broken one is an error at the kubeconfig field.
// Monitors with the same kubeconfig and context share one client. Like
// every type, both take timeout, which bounds each attempt.
//
//	intervention:
//	  type: k8s_scale
//	  max_attempts: 3
//	  policy: {cooldown: 5m}
//	  config: {kind: statefulset, namespace: shop, name: cart, add: 2, max_replicas: 8,
//	           kubeconfig: /etc/cpra/kubeconfig}
func Register() {
	registerOnce.Do(func() {
		config.RegisterIntervention(config.InterventionType{
			Name:    "k8s_rollout_restart",
			Aliases: []string{"k8s-rollout-restart", "k8s_restart", "k8s-restart"},
			Fields:  restartFields,
			Build:   buildRestart,
		})
		config.RegisterIntervention(config.InterventionType{
			Name:    "k8s_scale",
			Aliases: []string{"k8s-scale"},
			Fields:  scaleFields,
			Build:   buildScale,
		})
	})
}

var (
	restartFields = []string{"name", "kind", "namespace", "kubeconfig", "context", "field_manager"}
	scaleFields   = []string{"name", "kind", "namespace", "replicas", "add", "max_replicas", "kubeconfig", "context", "field_manager"}
)

// workload reads kind, namespace and name; kinds lists those allowed.
func workload(b *config.Block, kinds ...Kind) (kind Kind, namespace, name string) {
	kind = Deployment
	if s, ok := b.String("kind"); ok {
		k, known := ParseKind(s)
		switch {
		case !known:
			b.Failf("kind", "%q is not a workload kind (%s)", s, kindList(kinds))
		case !hasKind(kinds, k):
			b.Failf("kind", "a %s cannot be %s (%s)", k, map[bool]string{true: "scaled", false: "restarted"}[len(kinds) == 2], kindList(kinds))
		default:
			kind = k
		}
	}
	namespace, _ = b.String("namespace")
	if !b.Has("name") {
		b.Failf("name", "missing")
	} else if name, _ = b.String("name"); name == "" && !b.Failed() {
		b.Failf("name", "empty")
	}
	return kind, namespace, name
}

func hasKind(kinds []Kind, k Kind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

func kindList(kinds []Kind) string {
	s := ""
	for i, k := range kinds {
		if i > 0 {
			s += ", "
		}
		s += string(k)
	}
	return s
}

// common reads kubeconfig, context and field_manager, and returns the
// client (nil after a reported problem) and the options.
func common(b *config.Block) (*Client, []Option) {
	var opts []Option
	if fm, ok := b.String("field_manager"); ok {
		if fm == "" {
			b.Failf("field_manager", "empty")
		} else {
			opts = append(opts, WithFieldManager(fm))
		}
	}
	path, pathOK := b.String("kubeconfig")
	ctx, ctxOK := b.String("context")
	if b.Has("kubeconfig") && !pathOK || b.Has("context") && !ctxOK {
		return nil, opts
	}
	if b.Has("kubeconfig") && path == "" {
		b.Failf("kubeconfig", "empty")
		return nil, opts
	}
	c, err := sharedClient(path, ctx)
	if err != nil {
		switch {
		case path == "" && ctx != "":
			b.Failf("kubeconfig", "missing (context needs it)")
		case path == "":
			b.Failf("kubeconfig", "missing, and this program does not run in a cluster: %v", errors.Unwrap(err))
		default:
			b.Fail("kubeconfig", err)
		}
		return nil, opts
	}
	return c, opts
}

// errorFields are the fields a constructor's error names, by a phrase of
// its message, in the order they are tried: "invalid namespace" before
// "invalid name", which it contains.
var errorFields = [...]struct{ phrase, field string }{
	{"invalid namespace", "namespace"},
	{"invalid name", "name"},
	{"WithFieldManager", "field_manager"},
}

// constructed reports a constructor's error at the field its message names.
func constructed(b *config.Block, err error) {
	for _, f := range errorFields {
		if strings.Contains(err.Error(), f.phrase) {
			b.Fail(f.field, err)
			return
		}
	}
	b.Fail("", err)
}

func buildRestart(b *config.Block) intervene.Remediator {
	kind, ns, name := workload(b, Deployment, StatefulSet, DaemonSet)
	client, opts := common(b)
	if b.Failed() {
		return nil
	}
	r, err := RolloutRestart(client, kind, ns, name, opts...)
	if err != nil {
		constructed(b, err)
		return nil
	}
	return r
}

func buildScale(b *config.Block) intervene.Remediator {
	kind, ns, name := workload(b, Deployment, StatefulSet)
	var opts []Option
	count := func(key string, min int) (int32, bool) {
		v, ok := b.Int(key)
		switch {
		case !ok:
		case v < min:
			if min == 0 {
				b.Failf(key, "negative (%d)", v)
			} else {
				b.Failf(key, "must be positive")
			}
			ok = false
		case v > 1<<31-1:
			b.Failf(key, "%d is above the largest replica count %d", v, 1<<31-1)
			ok = false
		}
		return int32(v), ok
	}
	hasSet, hasAdd, hasMax := b.Has("replicas"), b.Has("add"), b.Has("max_replicas")
	switch {
	case hasSet && (hasAdd || hasMax):
		other := "add"
		if !hasAdd {
			other = "max_replicas"
		}
		b.Failf("replicas", "conflicts with %s (line %d): give a replica count, or add with max_replicas", other, b.Line(other))
	case hasSet:
		if n, ok := count("replicas", 0); ok {
			opts = append(opts, WithReplicas(n))
		}
	case hasAdd && !hasMax:
		b.Failf("max_replicas", "missing (add needs it)")
	case hasMax && !hasAdd:
		b.Failf("add", "missing (max_replicas needs it)")
	case !hasAdd:
		b.Failf("replicas", "missing (give replicas, or add with max_replicas)")
	default:
		n, ok1 := count("add", 1)
		c, ok2 := count("max_replicas", 1)
		if ok1 && ok2 {
			opts = append(opts, WithAddReplicas(n, c))
		}
	}
	client, copts := common(b)
	if b.Failed() {
		return nil
	}
	r, err := Scale(client, kind, ns, name, append(opts, copts...)...)
	if err != nil {
		constructed(b, err)
		return nil
	}
	return r
}

// clients are the clients of the monitors files loaded, by kubeconfig path
// and context, and the file's size and time (so that a reload sees a
// changed file).
var clients struct {
	sync.Mutex
	m map[clientKey]clientEntry
}

type clientKey struct {
	path, context string
	size          int64
	mod           time.Time
}

type clientEntry struct {
	c   *Client
	err error
}

func sharedClient(path, kubeContext string) (*Client, error) {
	key := clientKey{path: path, context: kubeContext}
	if path != "" {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("k8s: kubeconfig: %w", err)
		}
		key.size, key.mod = fi.Size(), fi.ModTime()
	}
	clients.Lock()
	defer clients.Unlock()
	if e, ok := clients.m[key]; ok {
		return e.c, e.err
	}
	c, err := NewClient(path, kubeContext)
	if clients.m == nil {
		clients.m = make(map[clientKey]clientEntry)
	}
	for k := range clients.m {
		if k.path == path && k.context == kubeContext {
			delete(clients.m, k) // the file changed since
		}
	}
	clients.m[key] = clientEntry{c, err}
	return c, err
}
