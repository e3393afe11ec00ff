package plainurl

import (
	"math/rand/v2"
	"net/url"
	"testing"
)

// Every URL Split takes, url.Parse takes too, as the same scheme and host
// and the same path, unescaped as written, with nothing else; and
// base+path is the URL. Random strings over an alphabet of the characters
// that matter, and a table.
func TestSplitAgreesWithParse(t *testing.T) {
	check := func(raw string) bool {
		t.Helper()
		base, path, ok := Split(raw)
		if !ok {
			return false
		}
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			t.Errorf("%q: taken by Split, but url.Parse says %v", raw, err)
		case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
			t.Errorf("%q: taken by Split, but url.Parse gives scheme %q host %q", raw, u.Scheme, u.Host)
		case u.Scheme+"://"+u.Host != base || u.Path != path || base+path != raw:
			t.Errorf("%q: Split gives %q + %q, url.Parse %q %q %q", raw, base, path, u.Scheme, u.Host, u.Path)
		case u.RawPath != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || u.ForceQuery:
			t.Errorf("%q: taken by Split, but url.Parse finds more in it: %#v", raw, u)
		}
		return true
	}
	for _, raw := range []string{
		"http://127.0.0.1:8080/svc/1", "https://example.com", "http://a-b.c/x_y~z.html", "http://h:1/",
	} {
		if !check(raw) {
			t.Errorf("%q: not taken by Split, want taken", raw)
		}
	}
	for _, raw := range []string{
		"http://", "http:///x", "http://h:/", "http://h:x/", "http://u:p@h/", "http://h/?q=1", "http://h/#f",
		"http://h/%41", "http://[::1]/", "ftp://h/", "HTTP://h/", "http://h /", "http://h/ ", "http://h\x00/",
	} {
		if _, _, ok := Split(raw); ok {
			t.Errorf("%q: taken by Split, want it left to url.Parse", raw)
		}
	}
	const alphabet = "htps:/.-_~@?#%[]:019aZ \x7f"
	r := rand.New(rand.NewPCG(1, 2))
	taken := 0
	for range 200_000 {
		b := []byte("http://")
		if r.IntN(2) == 0 {
			b = []byte("https://")
		}
		for range r.IntN(12) {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
		if check(string(b)) {
			taken++
		}
	}
	if taken == 0 {
		t.Error("no random URL was taken by Split: the test tests nothing")
	}
}
