package k8s

import (
	"errors"
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// NewClient returns a clientset for the cluster of the kubeconfig file at
// path, in its current context or the context named by kubeContext, or,
// when path is "", for the cluster this program runs in as a pod (its
// service account's token and the KUBERNETES_SERVICE_HOST and _PORT
// variables). Requests and answers are JSON. The clientset makes no
// request until a remediator uses it.
//
// The kubeconfig's credentials (tokens, client keys, passwords) never
// appear in the errors returned.
func NewClient(path, kubeContext string) (kubernetes.Interface, error) {
	cfg, err := RESTConfig(path, kubeContext)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("k8s: client: %w", err)
	}
	return cs, nil
}

// RESTConfig returns the client configuration [NewClient] uses, for
// callers that build clients of their own from it.
func RESTConfig(path, kubeContext string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if path == "" {
		if kubeContext != "" {
			return nil, errors.New("k8s: a context needs a kubeconfig file")
		}
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("k8s: in-cluster configuration (give a kubeconfig file when not running in a pod): %w", err)
		}
	} else {
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: kubeContext}
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("k8s: kubeconfig %s: %w", path, err)
		}
	}
	cfg.ContentType = "application/json"
	cfg.AcceptContentTypes = "application/json"
	if cfg.UserAgent == "" {
		cfg.UserAgent = "cpra-intervene-k8s/1"
	}
	return cfg, nil
}
