package intervene

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ziad/cpra/internal/proc"
)

// ErrConfig is returned, wrapped, by the constructors of the built-in
// remediators when an argument or an option is not valid.
var ErrConfig = errors.New("intervene: invalid configuration")

type kind uint8

const (
	kindExec kind = 1 << iota
	kindHTTP
	kindDocker
	kindDockerUpdate
	kindDockerScale

	kindDockerAll = kindDocker | kindDockerUpdate | kindDockerScale
)

func (k kind) String() string {
	switch k {
	case kindExec:
		return "Exec"
	case kindHTTP:
		return "HTTP"
	case kindDocker:
		return "DockerRestart"
	case kindDockerUpdate:
		return "DockerUpdate"
	case kindDockerScale:
		return "DockerScale"
	}
	return "remediator"
}

// config holds every knob of the built-in remediators; each reads the ones
// that apply to it.
type config struct {
	env          []string
	dir          string
	outputLimit  int
	leaveRunning bool
	client       *http.Client
	rootCAs      *x509.CertPool
	header       http.Header
	expect       []int
	socket       string
	stopTimeout  time.Duration
	hasStop      bool
	apiVersion   string
	hasVersion   bool
	res          dockerResources
	scale        dockerScale
}

// Option configures a built-in remediator. Each option documents the
// remediators it applies to; giving one to another is an error
// ([ErrConfig]) rather than silently ignored.
type Option interface {
	apply(k kind, c *config) error
}

type option struct {
	name  string
	kinds kind
	set   func(*config) error
}

func (o option) apply(k kind, c *config) error {
	if o.kinds&k == 0 {
		return fmt.Errorf("%w: %s does not apply to %s", ErrConfig, o.name, k)
	}
	return o.set(c)
}

func newConfig(k kind, opts []Option) (*config, error) {
	c := &config{header: http.Header{}, outputLimit: DefaultOutputLimit}
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

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// WithEnv adds the variable key=value to the program's environment, which
// otherwise holds only the incident's CPRA_ variables. The incident's
// variables win over one of the same name.
//
// Applies to [Exec].
func WithEnv(key, value string) Option {
	return option{"WithEnv", kindExec, func(c *config) error {
		if key == "" || strings.ContainsAny(key, "=\x00") || strings.ContainsRune(value, 0) {
			return errorf("WithEnv: invalid variable %q", key)
		}
		c.env = append(c.env, key+"="+value)
		return nil
	}}
}

// WithInheritEnv copies the named variables (PATH, HOME, ...) from this
// process's environment, as it is when the option is created, into the
// program's. Variables that are not set are skipped.
//
// Applies to [Exec].
func WithInheritEnv(keys ...string) Option {
	var kept []string
	for _, k := range keys {
		if v, ok := os.LookupEnv(k); ok && k != "" && !strings.ContainsAny(k, "=\x00") {
			kept = append(kept, k+"="+v)
		}
	}
	return option{"WithInheritEnv", kindExec, func(c *config) error {
		c.env = append(c.env, kept...)
		return nil
	}}
}

// WithDir runs the program in directory dir instead of this process's
// working directory.
//
// Applies to [Exec].
func WithDir(dir string) Option {
	return option{"WithDir", kindExec, func(c *config) error {
		c.dir = dir
		return nil
	}}
}

// DefaultOutputLimit is how many bytes of a program's output [Exec] keeps
// for its error: the last ones.
const DefaultOutputLimit = proc.DefaultOutputCap

// WithOutputLimit sets how many bytes of the program's combined stdout and
// stderr are kept for the [*ExecError], from 0 to 1 MiB: the last n bytes;
// what came before is counted and dropped. The default is
// [DefaultOutputLimit].
//
// Applies to [Exec].
func WithOutputLimit(n int) Option {
	return option{"WithOutputLimit", kindExec, func(c *config) error {
		if n < 0 || n > proc.MaxOutputCap {
			return errorf("WithOutputLimit: %d is not between 0 and 1 MiB", n)
		}
		c.outputLimit = n
		return nil
	}}
}

// WithLeaveRunning leaves the processes the program started running when it
// exits, instead of killing its process group: for a repair that starts a
// daemon ("mydaemon &"). Prefer starting a daemon through a service
// manager, or with setsid, and keep the default. Processes left running should not
// write to the program's output: redirect theirs ("mydaemon >log 2>&1 &"),
// or Remediate waits a second for them to close it and then stops reading,
// after which their writes fail (and a process that does not handle SIGPIPE
// dies). When ctx is done before the program exits, the whole group is
// killed all the same.
//
// Applies to [Exec].
func WithLeaveRunning() Option {
	return option{"WithLeaveRunning", kindExec, func(c *config) error {
		c.leaveRunning = true
		return nil
	}}
}

// WithHTTPClient sends the request with client, for proxies, client
// certificates or custom transports. The default client uses
// [http.DefaultTransport] and does not follow redirects.
//
// Applies to [HTTP].
func WithHTTPClient(client *http.Client) Option {
	return option{"WithHTTPClient", kindHTTP, func(c *config) error {
		if client == nil {
			return errorf("WithHTTPClient: nil client")
		}
		c.client = client
		return nil
	}}
}

// WithRootCAs verifies the server's certificate against pool instead of the
// system's roots. Certificates are always verified. Ignored when
// [WithHTTPClient] is also given.
//
// Applies to [HTTP].
func WithRootCAs(pool *x509.CertPool) Option {
	return option{"WithRootCAs", kindHTTP, func(c *config) error {
		if pool == nil {
			return errorf("WithRootCAs: nil pool")
		}
		c.rootCAs = pool
		return nil
	}}
}

// WithHeader sets a request header, such as Authorization. Header values
// never appear in errors.
//
// Applies to [HTTP].
func WithHeader(key, value string) Option {
	return option{"WithHeader", kindHTTP, func(c *config) error {
		if key == "" || strings.ContainsAny(key, " :\r\n\x00") || strings.ContainsAny(value, "\r\n\x00") {
			return errorf("WithHeader: invalid header %q", key)
		}
		c.header.Set(key, value)
		return nil
	}}
}

// WithExpectStatus lists the statuses that mean the call succeeded. The
// default is any 2xx.
//
// Applies to [HTTP].
func WithExpectStatus(codes ...int) Option {
	return option{"WithExpectStatus", kindHTTP, func(c *config) error {
		for _, s := range codes {
			if s < 100 || s > 999 {
				return errorf("WithExpectStatus: invalid status %d", s)
			}
		}
		c.expect = append(c.expect, codes...)
		return nil
	}}
}

// DefaultDockerSocket is the Docker Engine's socket the Docker remediators
// talk to unless [WithSocket] names another.
const DefaultDockerSocket = "/var/run/docker.sock"

// WithSocket sets the path of the Docker Engine's unix socket.
//
// Applies to [DockerRestart], [DockerUpdate], [DockerScale].
func WithSocket(path string) Option {
	return option{"WithSocket", kindDockerAll, func(c *config) error {
		if path == "" {
			return errorf("WithSocket: empty path")
		}
		c.socket = path
		return nil
	}}
}

// WithStopTimeout sets how long Docker waits for the container to stop
// before it kills it (the t parameter, in whole seconds, rounded up). By
// default the container's own stop timeout applies (10 s unless set). The
// remediation's context must leave time for the stop and the start.
//
// Applies to [DockerRestart].
func WithStopTimeout(d time.Duration) Option {
	return option{"WithStopTimeout", kindDocker, func(c *config) error {
		if d < 0 {
			return errorf("WithStopTimeout: negative duration")
		}
		c.stopTimeout, c.hasStop = d, true
		return nil
	}}
}

// DefaultDockerAPIVersion is the newest Engine API version the Docker
// remediators ask for: 1.44 (Docker 25.0), the oldest version current
// daemons accept by default. A daemon that serves an older one (Docker
// 20.10 serves 1.41) is spoken to at its own, as its GET /_ping says.
const DefaultDockerAPIVersion = "1.44"

// WithAPIVersion fixes the Engine API version in the request path
// (/v<version>/containers/...) instead of negotiating it with the daemon.
// An empty version sends the unversioned path, which the daemon serves at
// its newest version.
//
// Applies to [DockerRestart], [DockerUpdate], [DockerScale].
func WithAPIVersion(version string) Option {
	return option{"WithAPIVersion", kindDockerAll, func(c *config) error {
		for _, r := range version {
			if (r < '0' || r > '9') && r != '.' {
				return errorf("WithAPIVersion: invalid version %q", version)
			}
		}
		c.apiVersion, c.hasVersion = version, true
		return nil
	}}
}
