package redact

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestScrubURLBasicCredentials: a client sends a URL's user information as
// Basic credentials, base64 of "name:password"; a receiver that echoes the
// Authorization header must not reveal the name either, although the name
// alone is not learned in base64.
func TestScrubURLBasicCredentials(t *testing.T) {
	tests := []struct {
		name, user, pass string
	}{
		{"name and password", "probeUserQx7", "pa:ss@/+ w%rd"},
		{"short name", "bob", "hunter22hunter"},
		{"no password", "tokenOnlyQx7Wz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Secrets
			ui := tt.user
			if tt.pass != "" {
				ui += ":" + strings.NewReplacer(":", "%3A", "@", "%40", "/", "%2F", " ", "%20", "%", "%25").Replace(tt.pass)
			}
			s.AddURL("https://" + ui + "@api.example.com/hc")
			cred := tt.user + ":" + tt.pass
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
				b64 := enc.EncodeToString([]byte(cred))
				text := "echo: Authorization: Basic " + b64 + " User-Agent: x"
				got := s.Scrub(text)
				if strings.Contains(got, b64[:len(b64)/2]) || !strings.Contains(got, "Basic "+Mask) {
					t.Errorf("Scrub(%q) = %q, want the credentials masked", text, got)
				}
				if !strings.HasSuffix(got, " User-Agent: x") {
					t.Errorf("Scrub(%q) = %q, want the rest intact", text, got)
				}
			}
		})
	}
}

// TestScrubURLEmptyUserInfo: a URL with empty user information learns no
// encoding short enough to mask ordinary text.
func TestScrubURLEmptyUserInfo(t *testing.T) {
	for _, raw := range []string{"https://@api.example.com/hc", "https://:@api.example.com/hc"} {
		var s Secrets
		s.AddURL(raw)
		for _, text := range []string{"Og== Ogg", "status 503, want 2xx", "Basic Og=="} {
			if got := s.Scrub(text); got != text {
				t.Errorf("%s: Scrub(%q) = %q, want it unchanged", raw, text, got)
			}
		}
	}
}
