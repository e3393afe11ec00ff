package redact

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScrubForms(t *testing.T) {
	const secret = "s3cr3t/Tok+en&x<y>"
	var s Secrets
	s.Add(secret)
	jsonForm, _ := json.Marshal(secret)
	tests := []struct {
		name, text string
	}{
		{"plain", "answer: " + secret + " end"},
		{"query escaped", "GET /x?k=" + url.QueryEscape(secret)},
		{"path escaped", "GET /x/" + url.PathEscape(secret)},
		{"lower-case escapes", "GET /x?k=s3cr3t%2fTok%2ben%26x%3cy%3e"},
		{"json", `{"echo":` + string(jsonForm) + `}`},
		{"go quoted", "got " + strconv.Quote(secret)},
		{"html", "<p>" + html.EscapeString(secret) + "</p>"},
		{"base64", "YWJj" + base64.StdEncoding.EncodeToString([]byte(secret))},
		{"base64 url", base64.URLEncoding.EncodeToString([]byte(secret))},
		{"base64 inside, shift 1", base64.StdEncoding.EncodeToString([]byte("u:" + secret + "!"))},
		{"base64 inside, shift 2", base64.StdEncoding.EncodeToString([]byte("\x00u\x00" + secret))},
		{"base64 inside, shift 0", base64.StdEncoding.EncodeToString([]byte("abc" + secret + "abc"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Scrub(tt.text)
			if !strings.Contains(got, Mask) {
				t.Fatalf("Scrub(%q) = %q, want a mask", tt.text, got)
			}
			if strings.Contains(got, secret) || strings.Contains(got, "Tok") {
				t.Errorf("Scrub(%q) = %q: part of the secret is left", tt.text, got)
			}
		})
	}
}

func TestScrubLeavesOtherText(t *testing.T) {
	var s Secrets
	s.Add("hunter22")
	s.AddURL("https://api.example.com/v2/check?api_key=KEYKEY&x=1")
	for _, text := range []string{"", "connection refused", "status 503, want 2xx", "v2 x=1"} {
		if got := s.Scrub(text); got != text {
			t.Errorf("Scrub(%q) = %q, want it unchanged", text, got)
		}
	}
	var none *Secrets
	if got := none.Scrub("hunter22"); got != "hunter22" {
		t.Errorf("nil Secrets: got %q, want the text unchanged", got)
	}
}

func TestScrubURL(t *testing.T) {
	const raw = "https://bob:pa55@hooks.example.com/services/T0ABC/B0DEF/tok%2Fen?api_key=k3y-value&sig=abc%3D%3D#frag-token"
	var s Secrets
	s.AddURL(raw)
	secrets := []string{"pa55", "bob:pa55", "T0ABC", "B0DEF", "tok%2Fen", "tok/en", "k3y-value", "abc%3D%3D", "abc==", "frag-token", "services"}
	for _, sec := range secrets {
		text := "the receiver said: " + sec + "."
		got := s.Scrub(text)
		if got != "the receiver said: "+Mask+"." {
			t.Errorf("Scrub(%q) = %q, want %q masked", text, got, sec)
		}
	}
	// A whole echoed request line becomes masks and separators.
	echo := "POST /services/T0ABC/B0DEF/tok%2Fen?api_key=k3y-value&sig=abc%3D%3D HTTP/1.1"
	got := s.Scrub(echo)
	for _, sec := range secrets {
		if strings.Contains(got, sec) {
			t.Errorf("Scrub(%q) = %q: %q is left", echo, got, sec)
		}
	}
	// Short pieces are not learned: "v2", "1".
	s2 := Secrets{}
	s2.AddURL("http://h/v2/x?a=1")
	if got := s2.Scrub("v2 a=1 x"); got != "v2 a=1 x" {
		t.Errorf("short pieces: got %q, want the text unchanged", got)
	}
	// Not a URL: learned whole and in pieces.
	s3 := Secrets{}
	s3.AddURL("http://[::1/p?api_key=KEYSECRET")
	if got := s3.Scrub(`parse error near KEYSECRET`); strings.Contains(got, "KEYSECRET") {
		t.Errorf("unparsable URL: got %q", got)
	}
}

func TestScrubHeader(t *testing.T) {
	var s Secrets
	s.AddHeader("Bearer tok-123456")
	basic := base64.StdEncoding.EncodeToString([]byte("admin:letmein99"))
	s.AddHeader("Basic " + basic)
	for _, sec := range []string{"Bearer tok-123456", "tok-123456", basic, "admin:letmein99", "letmein99"} {
		if got := s.Scrub("x " + sec + " y"); strings.Contains(got, sec) {
			t.Errorf("Scrub shows %q: %q", sec, got)
		}
	}
}

func TestScrubBase64Exact(t *testing.T) {
	var s Secrets
	s.AddBase64("\x00alerts\x00pw")
	enc := base64.StdEncoding.EncodeToString([]byte("\x00alerts\x00pw"))
	if got := s.Scrub("535 bad credentials " + enc); strings.Contains(got, enc) {
		t.Errorf("got %q, want the AUTH string masked", got)
	}
}

func TestScrubCutSecret(t *testing.T) {
	var s Secrets
	s.Add("ABCDEFGHIJKL")
	tests := []struct{ text, want string }{
		{"answer ABCDEFG", "answer " + Mask},                // cut at the end
		{"GHIJKL was the answer", Mask + " was the answer"}, // cut at the start
		{"answer ABC", "answer ABC"},                        // too short to tell
		{"xABCDEFGHIJKLx", "x" + Mask + "x"},
		{"ABCDEFGHIJKLABCDEFGHIJKL", Mask}, // adjacent: one mask
	}
	for _, tt := range tests {
		if got := s.Scrub(tt.text); got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestScrubOverlapping(t *testing.T) {
	var s Secrets
	s.Add("abcdef", "defghi")
	if got, want := s.Scrub("x abcdefghi y"), "x "+Mask+" y"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestError(t *testing.T) {
	var s Secrets
	s.Add("TOPSECRET")
	plain := errors.New("connection refused")
	if got := s.Error(plain); got != plain {
		t.Errorf("an error without a secret: got %v, want it unchanged", got)
	}
	leaky := fmt.Errorf("answer TOPSECRET: %w", context.DeadlineExceeded)
	got := s.Error(leaky)
	if strings.Contains(got.Error(), "TOPSECRET") || !strings.Contains(got.Error(), Mask) {
		t.Errorf("got %q, want the secret masked", got)
	}
	if !errors.Is(got, context.DeadlineExceeded) {
		t.Error("errors.Is no longer sees the deadline")
	}
	if u := errors.Unwrap(got); u != nil {
		t.Errorf("the scrubbed error unwraps to %v, which shows the secret", u)
	}
	if s.Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		s    string
		max  int
		want string
	}{
		{"fits", "héllo", 6, "héllo"},
		{"ascii", "abcdefgh", 6, "abc..."},
		{"two-byte at the cut", "abcdé", 5, "ab..."},      // "é" would straddle
		{"two-byte before the cut", "aéxyzw", 6, "aé..."}, // 1+2+3
		{"three-byte", "a€€€€", 8, "a€..."},
		{"four-byte", "😀😀😀", 9, "😀..."},
		{"combining mark kept with its letter", "ae\u0301e\u0301e\u0301", 7, "ae\u0301..."},
		{"zwj sequence kept whole", "a👨\u200d👩\u200d👧xyz", 12, "a..."},
		{"flag kept whole", "a🇩🇪🇫🇷", 12, "a🇩🇪..."},
		{"tail longer than max", "abcdef", 2, ".."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Truncate(tt.s, tt.max, "...")
			if got != tt.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tt.s, tt.max, got, tt.want)
			}
			if !utf8.ValidString(got) || len(got) > tt.max {
				t.Errorf("Truncate(%q, %d) = %q: invalid or too long", tt.s, tt.max, got)
			}
		})
	}
}

func TestTruncateRunes(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"ééééé", 5, "ééééé"},
		{"éééééé", 5, "éé..."},
		{"日本語テキスト", 4, "日..."},
	}
	for _, tt := range tests {
		if got := TruncateRunes(tt.s, tt.max, "..."); got != tt.want {
			t.Errorf("TruncateRunes(%q, %d) = %q, want %q", tt.s, tt.max, got, tt.want)
		}
	}
}

type plugin struct{ token string }

func (p plugin) Format(f fmt.State, verb rune) { Format(f, verb, "plugin(host)") }

func TestFormat(t *testing.T) {
	p := plugin{token: "TOKEN"}
	got := fmt.Sprintf("%v|%+v|%#v|%s|%q|%v|%+v|%#v|%10s", p, p, p, p, p, &p, &p, &p, p)
	want := `plugin(host)|plugin(host)|plugin(host)|plugin(host)|"plugin(host)"|plugin(host)|plugin(host)|plugin(host)|plugin(host)`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := fmt.Sprintf("%d", p); strings.Contains(got, "TOKEN") {
		t.Errorf("%%d shows the token: %s", got)
	}
}

// BenchmarkFailurePath is what a failing check or delivery pays: learning
// a URL with a token and an api_key and two header values, then scrubbing
// a 512-byte answer that echoes them.
func BenchmarkFailurePath(b *testing.B) {
	const raw = "https://bob:pa55word@api.example.com/v1/hooks/T0ABCDEF/B0GHIJKL/xoxbTokenValue123?api_key=k3y-0123456789&env=prod"
	answer := strings.Repeat("error: upstream said no; ", 12) + "GET /v1/hooks/T0ABCDEF/B0GHIJKL/xoxbTokenValue123?api_key=k3y-0123456789 " +
		strings.Repeat("x", 100)
	b.ReportAllocs()
	for b.Loop() {
		var s Secrets
		s.AddURL(raw)
		s.AddHeader("Bearer abcdef0123456789")
		s.AddHeader("Basic " + base64.StdEncoding.EncodeToString([]byte("bob:pa55word")))
		if !strings.Contains(s.Scrub(answer), Mask) {
			b.Fatal("nothing masked")
		}
	}
}

// BenchmarkScrubLearned is a scrub by a plug-in that has failed before:
// the forms are already worked out.
func BenchmarkScrubLearned(b *testing.B) {
	var s Secrets
	s.AddURL("https://bob:pa55word@api.example.com/v1/hooks/T0ABCDEF/B0GHIJKL/xoxbTokenValue123?api_key=k3y-0123456789&env=prod")
	s.AddHeader("Bearer abcdef0123456789")
	answer := strings.Repeat("error: upstream said no; ", 20)
	s.Scrub(answer)
	b.ReportAllocs()
	for b.Loop() {
		s.Scrub(answer)
	}
}

// BenchmarkFailurePathPlainURL is the same for the common check URL with
// no credentials, and a dial error.
func BenchmarkFailurePathPlainURL(b *testing.B) {
	text := "dial tcp 10.0.0.7:8080: connect: connection refused"
	b.ReportAllocs()
	for b.Loop() {
		var s Secrets
		s.AddURL("http://10.0.0.7:8080/health")
		if s.Scrub(text) != text {
			b.Fatal("changed")
		}
	}
}
