package alert

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

// TestSecretsNeverPrinted builds every notifier with a secret, prints it
// every way fmt can, and makes a receiver that echoes the whole request
// (URL, headers and body) fail the delivery: the secret must appear in none
// of it.
func TestSecretsNeverPrinted(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "%s %s %v %s", r.Method, r.URL, r.Header, body)
	}))
	defer echo.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	const secret = "TOPSECRETvalue42"
	type built struct {
		name string
		n    Notifier
	}
	must := func(n Notifier, err error) Notifier {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var list []built
	for _, base := range []string{echo.URL, closedURL} {
		list = append(list,
			built{"webhook secret", must(Webhook(base+"/hook", WithSecret(secret)))},
			built{"webhook URL token", must(Webhook(base + "/hook/" + secret + "?key=" + secret))},
			built{"slack", must(Slack(base + "/services/T0/B0/" + secret))},
			built{"pagerduty", must(PagerDuty(secret, WithEndpoint(base+"/v2/enqueue")))},
			built{"sms", must(SMS("AC1", secret, "+1555", []string{"+1666"}, WithEndpoint(base)))},
		)
	}
	list = append(list, built{"email", must(Email("127.0.0.1:1", "a@example.com", []string{"b@example.com"}, WithAuth("u", secret)))})

	for _, b := range list {
		t.Run(b.name, func(t *testing.T) {
			printed := fmt.Sprintf("%v %+v %#v %s", b.n, b.n, b.n, b.n)
			switch n := b.n.(type) {
			case *WebhookNotifier:
				printed += fmt.Sprintf("%+v %#v", *n, *n)
			case *SlackNotifier:
				printed += fmt.Sprintf("%+v %#v", *n, *n)
			case *PagerDutyNotifier:
				printed += fmt.Sprintf("%+v %#v", *n, *n)
			case *SMSNotifier:
				printed += fmt.Sprintf("%+v %#v", *n, *n)
			case *EmailNotifier:
				printed += fmt.Sprintf("%+v %#v", *n, *n)
			}
			printed += fmt.Sprint(Multi(b.n, b.n))
			if strings.Contains(printed, secret) {
				t.Errorf("printing shows the secret: %s", printed)
			}
			err := b.n.Notify(context.Background(), redAlert())
			if err == nil {
				t.Fatal("got nil error from a failing receiver")
			}
			if msg := fmt.Sprintf("%v %+v", err, err); strings.Contains(msg, secret) {
				t.Errorf("error shows the secret: %s", msg)
			}
		})
	}
}

// The secrets the built-ins of TestSecretsScrubbedEverywhere are given.
// Each is distinct, so a leak names its source.
const (
	secUser     = "UserPassSECRET01"  // URL user information (password)
	secPath     = "PathTokenSECRET02" // a path segment
	secQuery    = "QueryKeySECRET03"  // a query value
	secHeader   = "HeaderValSECRET04" // a header value
	secBearer   = "BearerTokSECRET05" // the credentials after "Bearer "
	secSigning  = "SigningKeySECRET6" // webhook HMAC secret
	secRouting  = "RoutingKeySECRET7" // PagerDuty routing key
	secSMSToken = "AuthTokenSECRET08" // Twilio auth token
	secSMTPPass = "SmtpPassSECRET009" // SMTP password
	secRemedy   = "RemedyTokSECRET10" // intervene.HTTP path token
	secRemedyQ  = "RemedyKeySECRET11" // intervene.HTTP query value
	secRemedyH  = "RemedyHdrSECRET12" // intervene.HTTP header value
	secCheck    = "CheckTokSECRET013" // pulse.HTTP path token
	secCheckQ   = "CheckKeySECRET014" // pulse.HTTP query value
	secCheckU   = "CheckPassSECRET15" // pulse.HTTP user information
	secCheckH   = "CheckHdrSECRET016" // pulse.HTTP header value
)

var allSecrets = []string{secUser, secPath, secQuery, secHeader, secBearer, secSigning, secRouting, secSMSToken,
	secSMTPPass, secRemedy, secRemedyQ, secRemedyH, secCheck, secCheckQ, secCheckU, secCheckH}

// echoModes are the ways a hostile or careless receiver quotes a request
// back: each part on its own, so that it lands in the start of the answer
// that an error quotes.
var echoModes = []string{"request-uri", "path", "query", "headers", "basic", "body", "json"}

// echoAnswer is what a receiver in the given mode answers to r.
func echoAnswer(mode string, r *http.Request, body []byte) string {
	switch mode {
	case "request-uri":
		return r.Method + " " + r.RequestURI
	case "path":
		return "no route for " + r.URL.Path
	case "query":
		var b strings.Builder
		for k, vs := range r.URL.Query() {
			fmt.Fprintf(&b, "%s=%s ", k, strings.Join(vs, ","))
		}
		return "bad query: " + b.String()
	case "headers":
		var b strings.Builder
		for k, vs := range r.Header {
			if k != "Content-Type" && k != "User-Agent" && k != "Accept-Encoding" && k != "Content-Length" {
				fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ","))
			}
		}
		return b.String()
	case "basic":
		u, p, _ := r.BasicAuth()
		return "denied " + u + ":" + p
	case "body":
		return "rejected body " + string(body)
	case "json":
		b, _ := json.Marshal(map[string]any{"uri": r.RequestURI, "path": r.URL.Path, "query": r.URL.Query()})
		return string(b)
	}
	return mode
}

// echoServer starts a loopback receiver that answers every request with
// status and the echo of mode. With asJSON it wraps the echo in
// {"echo": ...}, for a checker that quotes a JSON field.
func echoServer(t *testing.T, mode string, status int, asJSON bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ans := echoAnswer(mode, r, body)
		if asJSON {
			b, _ := json.Marshal(map[string]string{"echo": ans})
			ans = string(b)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, ans)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// secretsIn lists the secrets found in text.
func secretsIn(text string, secrets ...string) []string {
	var found []string
	for _, s := range secrets {
		if strings.Contains(text, s) {
			found = append(found, s)
		}
	}
	return found
}

// printedAll prints v every way fmt can, and the struct it points to.
func printedAll(v any) string {
	s := fmt.Sprintf("%v|%+v|%#v|%s|%q", v, v, v, v, v)
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		d := rv.Elem().Interface()
		s += fmt.Sprintf("|%v|%+v|%#v|%s", d, d, d, d)
	}
	return s
}

// TestSecretsScrubbedEverywhere configures every built-in that holds
// secrets (the notifiers, intervene.HTTP, pulse.HTTP) with secrets in each
// place they can be given, points it at a failing loopback receiver that
// echoes the request back, and searches every sink for every secret: the
// returned error (its text, %v, %+v, %#v), the plug-in printed every way
// (also the struct itself), and the payloads the notifiers send for an
// alert that carries the remediator's and the checker's errors.
func TestSecretsScrubbedEverywhere(t *testing.T) {
	ctx := context.Background()
	hookPath := "/hook/" + secPath + "?api_key=" + secQuery
	basic := "http://alerts:" + secUser + "@"
	type plugin struct {
		name string
		v    any
		run  func() error
	}
	build := func(t *testing.T, mode string) []plugin {
		fail := strings.TrimPrefix(echoServer(t, mode, http.StatusBadGateway, false), "http://")
		ok := strings.TrimPrefix(echoServer(t, mode, http.StatusOK, true), "http://")
		var list []plugin
		notifier := func(name string, n Notifier, err error) {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			list = append(list, plugin{name, n, func() error { return n.Notify(ctx, redAlert()) }})
		}
		n1, err := Webhook(basic+fail+hookPath, WithSecret(secSigning), WithHeader("X-Api-Key", secHeader),
			WithHeader("Authorization", "Bearer "+secBearer))
		notifier("webhook", n1, err)
		n2, err := Slack(basic + fail + "/services/T0AAAAAAA/B0BBBBBBB/" + secPath + "?token=" + secQuery)
		notifier("slack", n2, err)
		n3, err := PagerDuty(secRouting, WithEndpoint(basic+fail+hookPath))
		notifier("pagerduty", n3, err)
		n4, err := SMS("AC0123456789", secSMSToken, "+15550001", []string{"+15550002"}, WithEndpoint(basic+fail+"/"+secPath+"?k="+secQuery))
		notifier("sms", n4, err)

		r, err := intervene.HTTP("POST", "http://ops:"+secUser+"@"+fail+"/restart/"+secRemedy+"?key="+secRemedyQ,
			intervene.WithHeader("X-Api-Key", secRemedyH))
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, plugin{"intervene.HTTP", r, func() error {
			return r.Remediate(ctx, intervene.Incident{Monitor: "checkout-api", Attempt: 1, Err: errors.New("down")})
		}})
		c, err := pulse.HTTP("http://probe:"+secCheckU+"@"+ok+"/health/"+secCheck+"?api_key="+secCheckQ,
			pulse.WithHeader("X-Api-Key", secCheckH), pulse.WithJSONField("echo", "fine"))
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, plugin{"pulse.HTTP", c, func() error { return c.Check(ctx) }})
		return list
	}

	for _, mode := range echoModes {
		t.Run(mode, func(t *testing.T) {
			for _, p := range build(t, mode) {
				t.Run(p.name, func(t *testing.T) {
					if leaks := secretsIn(printedAll(p.v), allSecrets...); len(leaks) > 0 {
						t.Errorf("printing shows %v: %s", leaks, printedAll(p.v))
					}
					err := p.run()
					if err == nil {
						t.Fatal("got nil from a failing receiver")
					}
					text := fmt.Sprintf("%s|%v|%+v|%#v", err.Error(), err, err, err)
					if leaks := secretsIn(text, allSecrets...); len(leaks) > 0 {
						t.Errorf("error shows %v: %s", leaks, text)
					}
				})
			}
		})
	}

	// An SMTP server that quotes the AUTH exchange back in its refusal.
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		t.Run("email AUTH "+mech+" echoed", func(t *testing.T) {
			s := startMailServer(t, withAuthMechs("alerts", "the-right-one", mech), withEchoAuth())
			n, err := Email(s.addr(), "cpra@example.com", []string{"ops@example.com"}, WithAuth("alerts", secSMTPPass))
			if err != nil {
				t.Fatal(err)
			}
			if leaks := secretsIn(printedAll(n), allSecrets...); len(leaks) > 0 {
				t.Errorf("printing shows %v", leaks)
			}
			err = n.Notify(ctx, redAlert())
			de := deliveryError(t, err)
			if de.Status != 535 {
				t.Fatalf("got %v, want the server's 535", err)
			}
			text := fmt.Sprintf("%s|%v|%+v|%#v", err.Error(), err, err, err)
			if !strings.Contains(text, "[redacted]") {
				t.Errorf("got %s, want the echoed credentials masked", text)
			}
			if leaks := secretsIn(text, allSecrets...); len(leaks) > 0 {
				t.Errorf("error shows %v: %s", leaks, text)
			}
			enc := base64.StdEncoding.EncodeToString([]byte(secSMTPPass))
			plain := base64.StdEncoding.EncodeToString([]byte("\x00alerts\x00" + secSMTPPass))
			if leaks := secretsIn(text, enc[:len(enc)-4], plain); len(leaks) > 0 {
				t.Errorf("error shows the encoded password %v: %s", leaks, text)
			}
		})
	}

	// Payloads: the errors of the remediator and the checker (from
	// receivers that echo everything) travel in an alert to every
	// notifier; what the notifiers send must hold none of those secrets,
	// nor any secret of the notifier in its body.
	t.Run("payloads", func(t *testing.T) {
		var upstream []error
		for _, mode := range echoModes {
			for _, p := range build(t, mode) {
				if strings.Contains(p.name, ".") { // intervene.HTTP, pulse.HTTP
					upstream = append(upstream, p.run())
				}
			}
		}
		var mu sync.Mutex
		var bodies []string
		rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		}))
		defer rec.Close()
		mail := startMailServer(t)
		var ns []Notifier
		add := func(n Notifier, err error) {
			if err != nil {
				t.Fatal(err)
			}
			ns = append(ns, n)
		}
		add(Webhook(rec.URL+hookPath, WithSecret(secSigning), WithHeader("X-Api-Key", secHeader)))
		add(Slack(rec.URL + "/services/T0/B0/" + secPath))
		add(PagerDuty(secRouting, WithEndpoint(rec.URL+"/v2/enqueue")))
		add(SMS("AC1", secSMSToken, "+15550001", []string{"+15550002"}, WithEndpoint(rec.URL)))
		add(Email(mail.addr(), "cpra@example.com", []string{"ops@example.com"}))
		for _, up := range upstream {
			a := redAlert()
			a.Err = up
			for _, n := range ns {
				if err := n.Notify(ctx, a); err != nil {
					t.Fatalf("%v: %v", n, err)
				}
			}
		}
		mails, _, _ := mail.got()
		for _, m := range mails {
			bodies = append(bodies, m.data)
		}
		if want := len(upstream) * len(ns); len(bodies) != want {
			t.Fatalf("got %d payloads, want %d", len(bodies), want)
		}
		for _, b := range bodies {
			// PagerDuty's body carries its own routing key: that is where
			// the Events API wants it.
			others := slices.DeleteFunc(slices.Clone(allSecrets), func(s string) bool { return s == secRouting })
			if leaks := secretsIn(b, others...); len(leaks) > 0 {
				t.Errorf("payload shows %v: %s", leaks, b)
			}
		}
	})
}
