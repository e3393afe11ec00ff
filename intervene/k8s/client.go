package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Client makes the remediators' requests to one cluster's API server: JSON
// over the HTTP client that client-go builds from a [rest.Config], which
// secures and authenticates each request as the configuration says (the
// cluster's CA, bearer tokens and token files, client certificates, exec
// credential plugins, impersonation, proxies). It is safe for concurrent
// use and makes no request until a remediator uses it.
//
// It is not client-go's clientset: the clientset registers every API group
// of Kubernetes when a program starts, which cost the cpra command 12 MB of
// resident memory whether or not it ever restarted a workload.
type Client struct {
	base      url.URL // the server, with the path prefix of a proxy in front of it, if any
	http      *http.Client
	userAgent string
}

// NewClient returns a client for the cluster of the kubeconfig file at
// path, in its current context or the context named by kubeContext, or,
// when path is "", for the cluster this program runs in as a pod (its
// service account's token and the KUBERNETES_SERVICE_HOST and _PORT
// variables).
//
// The kubeconfig's credentials (tokens, client keys, passwords) never
// appear in the errors returned.
func NewClient(path, kubeContext string) (*Client, error) {
	cfg, err := RESTConfig(path, kubeContext)
	if err != nil {
		return nil, err
	}
	return ClientFor(cfg)
}

// ClientFor returns a client for the API server and credentials of cfg, for
// programs that have a configuration already (from [RESTConfig], from
// clientcmd, or the one their own clientset was built from). cfg.Timeout,
// when set, bounds each request; its content types are not used: the
// client always speaks JSON.
func ClientFor(cfg *rest.Config) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("k8s: client: nil configuration")
	}
	base, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("k8s: client: %w", err)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("k8s: client: %w", err)
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = userAgent
	}
	return &Client{base: *base, http: hc, userAgent: ua}, nil
}

// userAgent is the User-Agent of a client whose configuration names none.
const userAgent = "cpra-intervene-k8s/1"

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
		cfg.UserAgent = userAgent
	}
	return cfg, nil
}

// resource returns the API's plural name of a workload kind.
func resource(k Kind) string {
	switch k {
	case Deployment:
		return "deployments"
	case StatefulSet:
		return "statefulsets"
	}
	return "daemonsets"
}

// The most of an answer's body the client reads: an object or a Status.
const (
	maxObject = 4 << 20
	maxStatus = 64 << 10
)

// call is one request about a workload of the apps/v1 group.
type call struct {
	method      string
	t           target
	sub         string // "" or "scale"
	fieldMgr    string // for writes
	contentType string // of body
	body        []byte
}

// do makes the call and decodes a successful answer into out (nil: the
// answer is read and dropped). An answer outside 2xx is returned as the
// API server's error, an [*apierrors.StatusError], so that
// apierrors.IsNotFound, IsConflict and the like hold for it.
func (c *Client) do(ctx context.Context, k call, out any) error {
	u := c.base
	u.Path = path.Join("/", u.Path, "apis/apps/v1/namespaces", k.t.namespace, resource(k.t.kind), k.t.name, k.sub)
	if k.fieldMgr != "" {
		u.RawQuery = url.Values{"fieldManager": {k.fieldMgr}}.Encode()
	}
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u.String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if k.body != nil {
		req.Header.Set("Content-Type", k.contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxStatus))
		return statusError(resp, k, b)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxObject))
		return err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxObject+1))
	switch {
	case err != nil:
		return err
	case len(b) > maxObject:
		return fmt.Errorf("the API server's answer is longer than %d bytes", maxObject)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the API server's answer: %w", err)
	}
	return nil
}

// statusError returns the error an answer outside 2xx stands for: the
// Status object the API server sends with it or, for an answer without one
// (from a proxy in front of it, say), an error of the answer's code.
func statusError(resp *http.Response, k call, body []byte) error {
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Status == metav1.StatusFailure {
		if st.Code == 0 {
			st.Code = int32(resp.StatusCode)
		}
		return &apierrors.StatusError{ErrStatus: st}
	}
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	gr := schema.GroupResource{Group: "apps", Resource: resource(k.t.kind)}
	msg := strings.TrimSpace(string(body))
	if !printable(msg) || len(msg) > 512 {
		msg = ""
	}
	return apierrors.NewGenericServerResponse(resp.StatusCode, k.method, gr, k.t.name, msg, retry, true)
}

// printable reports whether s is worth quoting in an error: no control
// characters but spaces.
func printable(s string) bool {
	for _, r := range s {
		if r < ' ' && r != '\t' || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}
