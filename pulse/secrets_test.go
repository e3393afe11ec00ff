package pulse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	userTok  = "UserPassXYZ123"
	pathTok  = "PathT0kenXYZ"
	queryTok = "QueryKeyXYZ99"
	hdrTok   = "HeaderT0kenXYZ"
)

func leaked(text string) []string {
	var found []string
	for _, s := range []string{userTok, pathTok, queryTok, hdrTok} {
		if strings.Contains(text, s) {
			found = append(found, s)
		}
	}
	return found
}

func TestHTTPSecretsNotPrinted(t *testing.T) {
	c := MustHTTP("https://probe:"+userTok+"@api.example.com:8443/hc/"+pathTok+"?api_key="+queryTok,
		WithHeader("Authorization", "Bearer "+hdrTok), WithMethod("HEAD"))
	printed := fmt.Sprintf("%v|%+v|%#v|%s|%q|%v|%+v|%#v", c, c, c, c, c, *c, *c, *c)
	if l := leaked(printed); l != nil {
		t.Errorf("printing shows %v: %s", l, printed)
	}
	if got, want := c.String(), "HEAD https://api.example.com:8443"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestHTTPConstructorErrorsHideSecrets(t *testing.T) {
	secretURL := "probe:" + userTok + "@example.com/" + pathTok + "?api_key=" + queryTok
	tests := []struct {
		name string
		url  string
		opts []HTTPOption
		want string
	}{
		{"scheme", "ftp://" + secretURL, nil, `scheme must be http or https, not "ftp"`},
		{"parse", "http://[::1/" + pathTok + "?api_key=" + queryTok, nil, "invalid URL"},
		{"escape", "http://probe:" + userTok + "@example.com/" + pathTok + "%zz?api_key=" + queryTok, nil, "invalid URL"},
		{"no host", "http:///" + pathTok + "?api_key=" + queryTok, nil, "no host"},
		{"header", "http://" + secretURL, []HTTPOption{WithHeader("X-Key", "a\n"+hdrTok)}, `WithHeader("X-Key")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := HTTP(tt.url, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if l := leaked(fmt.Sprintf("%v %+v %#v", err, err, err)); l != nil {
				t.Errorf("error shows %v: %v", l, err)
			}
		})
	}
}

// TestHTTPEchoedSecretsScrubbed: a server that puts the request it got
// into the JSON field the check looks at; the check's error quotes the
// field with the secrets masked, and its own words intact.
func TestHTTPEchoedSecretsScrubbed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		echo := fmt.Sprintf("%s %v %s:%s", r.RequestURI, r.Header, u, p)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": echo})
	}))
	defer srv.Close()
	raw := strings.Replace(srv.URL, "http://", "http://probe:"+userTok+"@", 1) + "/json/" + pathTok + "?api_key=" + queryTok
	c := MustHTTP(raw, WithHeader("X-Api-Key", hdrTok), WithJSONField("status", "ok"))
	err := c.Check(context.Background())
	if err == nil {
		t.Fatal("got nil, want a JSON field mismatch")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, `json field "status" = "`) || !strings.Contains(msg, "[redacted]") ||
		!strings.HasSuffix(msg, `want "ok"`) {
		t.Errorf("got %q, want the field's value with the secrets masked", msg)
	}
	if l := leaked(fmt.Sprintf("%v %+v %#v", err, err, err)); l != nil {
		t.Errorf("error shows %v: %v", l, err)
	}
}

func TestExecSecretEnvMasked(t *testing.T) {
	c := MustExec("/bin/sh", []string{"-c", `echo "db=$DB_PASSWORD mode=$MODE tok=$API_TOKEN"; exit 3`},
		WithEnv("DB_PASSWORD=hunter2-XYZ", "MODE=strict", "API_TOKEN="+pathTok))
	err := c.Check(context.Background())
	if err == nil {
		t.Fatal("got nil, want exit status 3")
	}
	msg := err.Error()
	if strings.Contains(msg, "hunter2-XYZ") || strings.Contains(msg, pathTok) {
		t.Errorf("got %q, want the secret variables masked", msg)
	}
	if !strings.Contains(msg, "mode=strict") || !strings.Contains(msg, "exit status 3") {
		t.Errorf("got %q, want the rest of the output and the status", msg)
	}
	printed := fmt.Sprintf("%v|%+v|%#v|%v|%+v|%#v", c, c, c, *c, *c, *c)
	if strings.Contains(printed, "hunter2-XYZ") || strings.Contains(printed, pathTok) || strings.Contains(printed, "DB_PASSWORD=") {
		t.Errorf("printing shows the environment: %s", printed)
	}
}
