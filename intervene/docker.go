package intervene

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

// ErrNoSuchContainer is wrapped by the error of [DockerRestart] when Docker
// knows no container by that name or id (status 404).
var ErrNoSuchContainer = errors.New("intervene: no such container")

// DockerRemediator restarts a container through the Docker Engine API.
// Create it with [DockerRestart].
type DockerRemediator struct {
	container string
	socket    string
	path      string
	client    *http.Client
}

// DockerRestart returns a remediator that restarts container (a name or an
// id) through the Docker Engine API on its unix socket
// ([DefaultDockerSocket], or [WithSocket]): it sends
//
//	POST /v1.44/containers/{container}/restart?t={seconds}
//
// with the version of [WithAPIVersion] and the t parameter only when
// [WithStopTimeout] is given. Docker answers 204 when the container was
// restarted; 404 is an error wrapping [ErrNoSuchContainer]; other statuses
// (500: the daemon failed) are a [*StatusError] with Docker's message. No
// Docker SDK is involved, only net/http over the socket; a connection is
// opened per attempt.
//
// Options: [WithSocket], [WithStopTimeout], [WithAPIVersion].
func DockerRestart(container string, opts ...Option) (*DockerRemediator, error) {
	if !validContainer(container) {
		return nil, errorf("DockerRestart: invalid container name or id %q", container)
	}
	cfg, err := newConfig(kindDocker, opts)
	if err != nil {
		return nil, err
	}
	socket := DefaultDockerSocket
	if cfg.socket != "" {
		socket = cfg.socket
	}
	version := DefaultDockerAPIVersion
	if cfg.hasVersion {
		version = cfg.apiVersion
	}
	path := "/containers/" + url.PathEscape(container) + "/restart"
	if version != "" {
		path = "/v" + version + path
	}
	if cfg.hasStop {
		path += "?t=" + strconv.Itoa(int(math.Ceil(cfg.stopTimeout.Seconds())))
	}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}
	return &DockerRemediator{
		container: container,
		socket:    socket,
		path:      path,
		client:    &http.Client{Transport: transport, CheckRedirect: noRedirect},
	}, nil
}

// validContainer accepts Docker's container names and ids: letters, digits
// and _ . - (a name may start with "/").
func validContainer(s string) bool {
	if len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// Remediate restarts the container. It honours ctx.
func (d *DockerRemediator) Remediate(ctx context.Context, _ Incident) error {
	// The host is a placeholder: the transport always dials the socket.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://docker"+d.path, nil)
	if err != nil {
		return fmt.Errorf("intervene: docker restart %s: %w", d.container, err)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("intervene: docker restart %s via %s: %w", d.container, d.socket, unwrapURLError(err))
	}
	raw := readAnswer(resp)
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusOK {
		return nil
	}
	msg := raw
	var body struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(raw), &body) == nil && body.Message != "" {
		msg = body.Message
	}
	se := &StatusError{Endpoint: "docker restart " + d.container, Status: resp.StatusCode, Message: msg}
	if resp.StatusCode == http.StatusNotFound {
		se.Err = ErrNoSuchContainer
	}
	return se
}

// String describes the remediator.
func (d *DockerRemediator) String() string {
	return "intervene.DockerRestart(" + d.container + ")"
}

var _ Remediator = (*DockerRemediator)(nil)
