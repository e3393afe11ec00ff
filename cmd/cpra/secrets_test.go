package main

import (
	"strings"
	"testing"
)

// TestValidateHidesURLSecrets runs --validate on files whose checkers and
// remediations carry credentials in their URLs and headers: the problems
// are reported with monitor, field and line, and no secret is printed,
// whether the file has errors, only warnings, or nothing to say.
func TestValidateHidesURLSecrets(t *testing.T) {
	secrets := []string{"Pa55w0rdSECRET", "PathT0kenSECRET", "ApiKeySECRET42", "HeaderValSECRET", "RemedyT0kenSECRET"}
	bad := writeFile(t, "bad.yaml", `monitors:
  - name: ftp
    pulse_check:
      type: http
      config:
        url: "ftp://bob:Pa55w0rdSECRET@example.com/PathT0kenSECRET?api_key=ApiKeySECRET42"
  - name: broken
    pulse_check:
      type: http
      config:
        url: "http://[::1/PathT0kenSECRET?api_key=ApiKeySECRET42"
  - name: header
    pulse_check:
      type: http
      config:
        url: "http://example.com/PathT0kenSECRET?api_key=ApiKeySECRET42"
        headers: {"X Key": "HeaderValSECRET"}
  - name: remedy
    pulse_check:
      type: http
      config:
        url: "http://example.com/PathT0kenSECRET?api_key=ApiKeySECRET42"
    intervention:
      type: http
      config:
        url: "gopher://example.com/RemedyT0kenSECRET?api_key=ApiKeySECRET42"
        headers: {"X-Api-Key": "HeaderValSECRET"}
`)
	warn := writeFile(t, "warn.yaml", `monitors:
  - name: slow-remedy
    pulse_check:
      type: http
      interval: 1s
      timeout: 2s
      config:
        url: "https://bob:Pa55w0rdSECRET@example.com/PathT0kenSECRET?api_key=ApiKeySECRET42"
        headers: {"Authorization": "Bearer HeaderValSECRET"}
    intervention:
      type: http
      config:
        url: "https://example.com/RemedyT0kenSECRET?api_key=ApiKeySECRET42"
        timeout: 30s
`)
	tests := []struct {
		name string
		path string
		code int
		has  []string
	}{
		{"errors", bad, 1, []string{
			`monitors[0] "ftp": pulse_check.config.url: not an http or https URL (scheme "ftp") (line 6)`,
			`monitors[1] "broken": pulse_check.config.url: not a valid URL`,
			`monitors[2] "header": pulse_check.config`,
			`monitors[3] "remedy": intervention.config.url`,
		}},
		{"warnings", warn, 0, []string{"warning:", "ok: 1 monitors"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runSync("--validate", "--yaml", tc.path)
			out := stdout + stderr
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, s := range tc.has {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("output shows the secret %q:\n%s", s, out)
				}
			}
		})
	}
}
