package config

import (
	"math/rand/v2"
	"net/url"
	"testing"
)

// TestPlainHTTPURLAgreesWithParse: every URL the fast path takes, url.Parse
// takes too, as an http or https URL with a host; and checkURLProblem says
// the same of it with or without the fast path. Random strings over an
// alphabet of the characters that matter, and a table.
func TestPlainHTTPURLAgreesWithParse(t *testing.T) {
	check := func(raw string) {
		t.Helper()
		if !plainHTTPURL(raw) {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Errorf("%q: taken by the fast path, but url.Parse gives %+v, %v", raw, u, err)
		}
	}
	taken := 0
	for _, raw := range []string{
		"http://127.0.0.1:8080/svc/1", "https://example.com", "http://a-b.c/x_y~z.html", "http://h:1/",
	} {
		if !plainHTTPURL(raw) {
			t.Errorf("%q: not taken by the fast path, want taken", raw)
		}
		check(raw)
	}
	for _, raw := range []string{
		"http://", "http:///x", "http://h:/", "http://h:x/", "http://u:p@h/", "http://h/?q=1", "http://h/#f",
		"http://h/%41", "http://[::1]/", "ftp://h/", "HTTP://h/", "http://h /", "http://h/ ", "http://h\x00/",
	} {
		if plainHTTPURL(raw) {
			t.Errorf("%q: taken by the fast path, want parsed", raw)
		}
	}
	const alphabet = "htps:/.-_~@?#%[]:019aZ \x7f"
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		b := []byte("http://")
		if r.IntN(2) == 0 {
			b = []byte("https://")
		}
		for range r.IntN(12) {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
		raw := string(b)
		if plainHTTPURL(raw) {
			taken++
		}
		check(raw)
	}
	if taken == 0 {
		t.Error("no random URL was taken by the fast path: the test tests nothing")
	}
}
