package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestCheckURLSecretsNotInErrors loads checks whose URLs carry credentials
// (user information, a path token, an api_key) and are wrong in some way:
// every error names the monitor, the field and the line, and none prints a
// secret part of the URL.
func TestCheckURLSecretsNotInErrors(t *testing.T) {
	const (
		pass  = "Pa55w0rdSECRET"
		token = "PathT0kenSECRET"
		key   = "ApiKeySECRET42"
		hdr   = "HeaderValSECRET"
	)
	secrets := []string{pass, token, key, hdr}
	tests := []struct {
		name  string
		check string // the config block of an http pulse_check
		field string
	}{
		{"wrong scheme", `url: "ftp://bob:` + pass + `@example.com/` + token + `?api_key=` + key + `"`, "pulse_check.config.url"},
		{"unparsable", `url: "http://[::1/` + token + `?api_key=` + key + `"`, "pulse_check.config.url"},
		{"bad escape", `url: "http://bob:` + pass + `@example.com/` + token + `%zz?api_key=` + key + `"`, "pulse_check.config.url"},
		{"no host", `url: "http:///` + token + `?api_key=` + key + `"`, "pulse_check.config.url"},
		{"bad header", `url: "http://example.com/` + token + `?api_key=` + key + `"
        headers: {"X Bad": "` + hdr + `"}`, "pulse_check.config"},
		{"bad header value", `url: "http://example.com/` + token + `?api_key=` + key + `"
        headers: {"X-Key": "a\r` + hdr + `"}`, "pulse_check.config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := fmt.Sprintf(`monitors:
  - name: api
    pulse_check:
      type: http
      interval: 30s
      config:
        %s
`, tt.check)
			_, err := load(t, text)
			msg := errorText(err)
			if tt.field != "" && (!strings.Contains(msg, `"api": `+tt.field) || !strings.Contains(msg, "(line ")) {
				t.Errorf("got %q, want an error naming monitor api, field %s and the line", msg, tt.field)
			}
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("error shows %q: %s", s, msg)
				}
			}
		})
	}
}

// TestCheckURLSecretsNotPrinted loads a valid check with credentials in its
// URL and headers: the checker prints none of them.
func TestCheckURLSecretsNotPrinted(t *testing.T) {
	f := mustLoad(t, `monitors:
  - name: api
    pulse_check:
      type: http
      interval: 30s
      config:
        url: "https://bob:Pa55w0rdSECRET@example.com/PathT0kenSECRET?api_key=ApiKeySECRET42"
        headers: {"Authorization": "Bearer HeaderValSECRET"}
`)
	c := f.Monitors[0].Check
	printed := fmt.Sprintf("%v %+v %#v %s", c, c, c, c)
	for _, s := range []string{"Pa55w0rdSECRET", "PathT0kenSECRET", "ApiKeySECRET42", "HeaderValSECRET"} {
		if strings.Contains(printed, s) {
			t.Errorf("the checker prints %q: %s", s, printed)
		}
	}
	if !strings.Contains(printed, "https://example.com") {
		t.Errorf("the checker prints %q, want its scheme and host", printed)
	}
}
