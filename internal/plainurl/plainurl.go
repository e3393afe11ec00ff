// Package plainurl recognises the plainest http and https URLs, which most
// monitors of a large fleet check, without url.Parse: a host name or IPv4
// address, an optional port of digits, and a path of unreserved characters
// and slashes, with no user information, query, fragment or escape.
// url.Parse takes every such URL, and gives it as its scheme, host and
// path, unescaped and unchanged.
package plainurl

import "strings"

// Split reports whether raw is a plain URL, and if so returns its scheme
// and host ("http://example.com:8080") and its path ("/health", or "").
// base+path == raw.
func Split(raw string) (base, path string, ok bool) {
	rest, ok := strings.CutPrefix(raw, "http://")
	if !ok {
		if rest, ok = strings.CutPrefix(raw, "https://"); !ok {
			return "", "", false
		}
	}
	host, _, _ := strings.Cut(rest, "/")
	name, port, hasPort := strings.Cut(host, ":")
	if name == "" || (hasPort && port == "") {
		return "", "", false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return "", "", false
		}
	}
	for i := 0; i < len(port); i++ {
		if c := port[i]; c < '0' || c > '9' {
			return "", "", false
		}
	}
	n := len(raw) - len(rest) + len(host)
	path = raw[n:]
	for i := 0; i < len(path); i++ {
		if c := path[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '~' || c == '/') {
			return "", "", false
		}
	}
	return raw[:n], path, true
}
