package alert

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
