package alert

import (
	"errors"
	"net"
	"net/smtp"
	"strings"
)

// authMechs are the SASL mechanisms [Email] speaks, in the order it prefers
// them when the server offers several. Credentials are only sent over TLS
// or to a loopback server, so PLAIN comes first.
var authMechs = []string{"PLAIN", "LOGIN", "CRAM-MD5"}

// errClearAuth is the refusal to send credentials in clear text.
var errClearAuth = errors.New("refusing to authenticate over an unencrypted connection to a server that is not on the loopback interface (the server offers no STARTTLS)")

// pickAuth chooses the first mechanism of authMechs that the server lists
// in its AUTH extension, or "".
func pickAuth(offered string) string {
	for _, m := range authMechs {
		if hasWord(offered, m) {
			return m
		}
	}
	return ""
}

// newAuth returns a fresh smtp.Auth for mech; it refuses to run when the
// connection is not encrypted and the server is not on loopback.
func newAuth(mech, user, pass, host string) smtp.Auth {
	var a smtp.Auth
	switch mech {
	case "PLAIN":
		a = plainAuth{user, pass}
	case "LOGIN":
		a = &loginAuth{user: user, pass: pass}
	case "CRAM-MD5":
		a = smtp.CRAMMD5Auth(user, pass)
	}
	return guardedAuth{Auth: a, loopback: isLoopbackHost(host)}
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// guardedAuth keeps credentials off clear-text connections to other hosts.
type guardedAuth struct {
	smtp.Auth
	loopback bool
}

func (g guardedAuth) Start(si *smtp.ServerInfo) (string, []byte, error) {
	if !si.TLS && !g.loopback {
		return "", nil, errClearAuth
	}
	return g.Auth.Start(si)
}

// plainAuth is SASL PLAIN (RFC 4616): the credentials in the initial
// response.
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected challenge after AUTH PLAIN")
	}
	return nil, nil
}

// loginAuth is the LOGIN mechanism: the server prompts for the user name
// and then the password, each answered in base64.
type loginAuth struct {
	user, pass string
	step       int
}

func (a *loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }

func (a *loginAuth) Next(prompt []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	p := strings.ToLower(string(prompt))
	switch {
	case strings.Contains(p, "user") || a.step == 0 && !strings.Contains(p, "pass"):
		a.step = 1
		return []byte(a.user), nil
	case strings.Contains(p, "pass") || a.step == 1:
		a.step = 2
		return []byte(a.pass), nil
	}
	return nil, errors.New("unexpected third challenge in AUTH LOGIN")
}
