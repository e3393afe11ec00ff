package redact

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Mask is what a secret is replaced by.
const Mask = "[redacted]"

const (
	// minDerived is the shortest piece of a URL that is learned as a
	// secret: shorter path segments and query values ("v2", "1", "on")
	// are too common in ordinary text to be told apart, and too short to
	// be credentials. Secrets given explicitly are learned at any length.
	minDerived = 4
	// minCore is the shortest secret that is also learned as the middle of
	// a longer base64 text (Basic credentials, an AUTH PLAIN response):
	// below it the stable part of the encoding is only a few characters.
	minCore = 6
	// minPartial is the shortest part of a secret that is masked where the
	// text was cut: at its start or its end.
	minPartial = 4
)

type pieceKind uint8

const (
	kindSecret pieceKind = iota
	kindURL
	kindHeader
	kindBase64
)

type piece struct {
	kind pieceKind
	v    string
}

// Secrets is what one plug-in must never print. The zero value holds none.
//
// Add what the plug-in holds when it is configured, then only call
// [Secrets.Scrub] and [Secrets.Error], which are safe for concurrent use.
// The forms a secret may take are worked out on the first scrub, so a
// plug-in that never fails never pays for them.
type Secrets struct {
	raw   []piece
	once  sync.Once
	words []string
}

// Add learns secrets given as such: passwords, tokens, keys. Empty strings
// are ignored.
func (s *Secrets) Add(secrets ...string) {
	for _, v := range secrets {
		if v != "" {
			s.raw = append(s.raw, piece{kindSecret, v})
		}
	}
}

// AddURL learns what a URL may hold of secrets: the URL itself, its user
// information (name and password, and the Basic credentials an HTTP client
// makes of them), every path segment, every query value and the fragment,
// each escaped as written and unescaped. A URL that does not parse is
// learned whole.
func (s *Secrets) AddURL(rawURL string) {
	if rawURL != "" {
		s.raw = append(s.raw, piece{kindURL, rawURL})
	}
}

// AddHeader learns an HTTP header value, the credentials after its scheme
// ("Bearer <token>"), and for Basic credentials the decoded "user:password"
// and the password.
func (s *Secrets) AddHeader(value string) {
	if value != "" {
		s.raw = append(s.raw, piece{kindHeader, value})
	}
}

// AddBase64 learns the base64 encodings (standard and URL alphabets) of
// plain, an exact string the plug-in sends encoded, such as an SMTP AUTH
// PLAIN response "\x00user\x00password".
func (s *Secrets) AddBase64(plain string) {
	if plain != "" {
		s.raw = append(s.raw, piece{kindBase64, plain})
	}
}

// Empty reports whether no secret was added.
func (s *Secrets) Empty() bool { return s == nil || len(s.raw) == 0 }

// Scrub returns text with every occurrence of a secret, in any of its
// learned forms, replaced by [Mask]. Overlapping and adjacent occurrences
// become one mask. A secret cut off at the start or the end of text (at
// least four bytes of it) is masked as well. A nil Secrets returns text.
func (s *Secrets) Scrub(text string) string {
	if s.Empty() || text == "" {
		return text
	}
	s.once.Do(s.expand)
	var cover []bool
	mark := func(from, to int) {
		if cover == nil {
			cover = make([]bool, len(text))
		}
		for i := from; i < to; i++ {
			cover[i] = true
		}
	}
	for _, w := range s.words {
		for i := 0; i+len(w) <= len(text); {
			j := strings.Index(text[i:], w)
			if j < 0 {
				break
			}
			mark(i+j, i+j+len(w))
			i += j + 1
		}
		// A secret cut by a truncation: its start at the end of text, or
		// its end at the start of text.
		first, last := text[0], text[len(text)-1]
		for k := min(len(w)-1, len(text)); k >= minPartial; k-- {
			if w[k-1] == last && strings.HasSuffix(text, w[:k]) {
				mark(len(text)-k, len(text))
				break
			}
		}
		for k := min(len(w)-1, len(text)); k >= minPartial; k-- {
			if w[len(w)-k] == first && strings.HasPrefix(text, w[len(w)-k:]) {
				mark(0, k)
				break
			}
		}
	}
	if cover == nil {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); {
		if !cover[i] {
			j := i
			for j < len(text) && !cover[j] {
				j++
			}
			b.WriteString(text[i:j])
			i = j
			continue
		}
		for i < len(text) && cover[i] {
			i++
		}
		b.WriteString(Mask)
	}
	return b.String()
}

// Error returns err itself when its text holds no secret, and otherwise an
// error whose text is scrubbed. That error does not unwrap to err (whose
// text would show the secret), but errors.Is still sees through it, so a
// deadline or a sentinel stays recognisable. Error(nil) is nil.
func (s *Secrets) Error(err error) error {
	if err == nil || s.Empty() {
		return err
	}
	msg := err.Error()
	clean := s.Scrub(msg)
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, cause: err}
}

type scrubbedError struct {
	msg   string
	cause error
}

func (e *scrubbedError) Error() string { return e.msg }

// Is lets errors.Is match what the hidden cause matches.
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.cause, target) }

// expand works out every form of every secret.
func (s *Secrets) expand() {
	seen := make(map[string]bool, 8*len(s.raw))
	words := make([]string, 0, 8*len(s.raw))
	add := func(w string) {
		if w != "" && !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	learn := func(v string, explicit bool) {
		if len(v) < minDerived && !explicit {
			return
		}
		for _, f := range forms(v, explicit) {
			add(f)
		}
	}
	for _, p := range s.raw {
		switch p.kind {
		case kindSecret:
			learn(p.v, true)
		case kindHeader:
			learn(p.v, true)
			if scheme, cred, ok := strings.Cut(strings.TrimSpace(p.v), " "); ok {
				cred = strings.TrimSpace(cred)
				learn(cred, true)
				if strings.EqualFold(scheme, "Basic") {
					if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
						learn(string(dec), true)
						if _, pass, ok := strings.Cut(string(dec), ":"); ok {
							learn(pass, true)
						}
					}
				}
			}
		case kindBase64:
			learn(p.v, true)
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
				add(enc.EncodeToString([]byte(p.v)))
			}
		case kindURL:
			// The URL whole, as written; its credentials are learned
			// with their encodings among its parts.
			learn(p.v, false)
			for _, part := range urlParts(p.v) {
				learn(part.v, part.explicit)
			}
			// An HTTP client sends the user information as Basic
			// credentials: base64 of "name:password", in which the
			// name is found by none of its own forms. (Below
			// minDerived bytes the encoding is too short to tell apart.)
			if cred, ok := basicCredentials(p.v); ok && len(cred) >= minDerived {
				for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
					add(enc.EncodeToString([]byte(cred)))
				}
			}
		}
	}
	// Longest first: cheaper to find the long ones before the pieces of
	// them, and the result does not depend on the order anyway.
	slices.SortStableFunc(words, func(a, b string) int { return len(b) - len(a) })
	s.words = words
}

type urlPart struct {
	v        string
	explicit bool
}

// basicCredentials returns the decoded "name:password" of a URL's user
// information, as an HTTP client sends it in Basic credentials.
func basicCredentials(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return "", false
	}
	pass, _ := u.User.Password()
	return u.User.Username() + ":" + pass, true
}

// urlParts lists the pieces of a URL that may be secrets. The password is
// one for sure; the rest only when long enough.
func urlParts(raw string) []urlPart {
	var parts []urlPart
	both := func(escaped string, unescape func(string) (string, error)) {
		parts = append(parts, urlPart{v: escaped})
		if u, err := unescape(escaped); err == nil && u != escaped {
			parts = append(parts, urlPart{v: u})
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Not a URL: its pieces between the usual separators.
		for _, f := range strings.FieldsFunc(raw, func(r rune) bool { return strings.ContainsRune("/?&=#@:;", r) }) {
			parts = append(parts, urlPart{v: f})
		}
		return parts
	}
	if u.User != nil {
		parts = append(parts, urlPart{v: u.User.String()}, urlPart{v: u.User.Username()})
		if p, ok := u.User.Password(); ok {
			parts = append(parts, urlPart{v: p, explicit: true})
		}
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		both(seg, url.PathUnescape)
	}
	if u.Opaque != "" {
		both(u.Opaque, url.PathUnescape)
	}
	if u.RawQuery != "" {
		parts = append(parts, urlPart{v: u.RawQuery})
		for _, kv := range strings.FieldsFunc(u.RawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
			_, v, _ := strings.Cut(kv, "=")
			both(v, url.QueryUnescape)
		}
	}
	if u.Fragment != "" {
		both(u.EscapedFragment(), url.PathUnescape)
	}
	return parts
}

// forms lists v and the forms it may take when a receiver echoes it back
// or a library quotes it. Only a credential (explicit) is also learned in
// base64, as it is sent in Basic or SASL credentials; a piece of a URL is
// not.
func forms(v string, explicit bool) []string {
	out := []string{v}
	if !plain(v) {
		out = append(out, textForms(v)...)
	}
	if !explicit {
		return out
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if len(v) < minCore {
			out = append(out, enc.EncodeToString([]byte(v)))
			continue
		}
		for shift := range 3 {
			out = append(out, base64Core(enc, v, shift))
		}
	}
	return out
}

// plain reports whether every escaping leaves v as it is: letters,
// digits and - . _ ~.
func plain(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// textForms lists the escaped and quoted forms of v.
func textForms(v string) []string {
	out := []string{url.QueryEscape(v), url.PathEscape(v), html.EscapeString(v)}
	if b, err := json.Marshal(v); err == nil {
		out = append(out, string(b[1:len(b)-1]))
	}
	q := strconv.Quote(v)
	out = append(out, q[1:len(q)-1])
	// Percent escapes may come back with lower-case hex digits.
	for _, f := range out[:2] {
		if strings.Contains(f, "%") {
			out = append(out, lowerEscapes(f))
		}
	}
	return out
}

// base64Core is the part of the base64 encoding of v, preceded by shift
// other bytes, that depends on v alone: it is found in the encoding of any
// text that holds v at an offset of shift modulo 3.
func base64Core(enc *base64.Encoding, v string, shift int) string {
	buf := make([]byte, shift+len(v))
	copy(buf[shift:], v)
	e := enc.EncodeToString(buf)
	first := (8*shift + 5) / 6     // first character whose 6 bits are all in v
	last := 8*(shift+len(v))/6 - 1 // last such character
	if first > last || last >= len(e) {
		return ""
	}
	return e[first : last+1]
}

// lowerEscapes turns the hex digits of percent escapes to lower case.
func lowerEscapes(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			for j := i + 1; j <= i+2; j++ {
				if b[j] >= 'A' && b[j] <= 'F' {
					b[j] += 'a' - 'A'
				}
			}
			i += 2
		}
	}
	return string(b)
}
