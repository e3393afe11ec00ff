package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/ziad/cpra/alert"
)

func ExampleLog() {
	n := alert.Log(os.Stdout)
	since := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	_ = n.Notify(context.Background(), alert.Alert{
		Monitor:  "checkout-api",
		Code:     alert.Red,
		Err:      errors.New("connection refused"),
		At:       since.Add(90 * time.Second),
		Since:    since,
		Failures: 3,
		Labels:   map[string]string{"team": "payments"},
	})
	// Output:
	// {"version":1,"id":"453b1590e2d9796b","monitor":"checkout-api","code":"red","time":"2025-01-02T15:05:35Z","since":"2025-01-02T15:04:05Z","error":"connection refused","failures":3,"attempt":0,"labels":{"team":"payments"}}
}

func ExampleWebhook() {
	const secret = "shared-secret"
	// The receiving side: check the signature, then decode the payload.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !alert.VerifySignature(secret, body, r.Header.Get(alert.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p alert.Payload
		_ = json.Unmarshal(body, &p)
		fmt.Printf("v%d %s is %s\n", p.Version, p.Monitor, p.Code)
	}))
	defer srv.Close()

	n, err := alert.Webhook(srv.URL+"/cpra", alert.WithSecret(secret))
	if err != nil {
		log.Fatal(err)
	}
	err = n.Notify(context.Background(), alert.Alert{Monitor: "db", Code: alert.Green, At: time.Now()})
	fmt.Println("error:", err)
	// Output:
	// v1 db is green
	// error: <nil>
}

func ExamplePagerDuty() {
	// A stand-in for the Events API that prints what it is sent.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Action string `json:"event_action"`
			Key    string `json:"dedup_key"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		fmt.Println(ev.Action, ev.Key)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	n, err := alert.PagerDuty("your-integration-key", alert.WithEndpoint(srv.URL+"/v2/enqueue"))
	if err != nil {
		log.Fatal(err)
	}
	since := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	ctx := context.Background()
	for _, code := range []alert.Code{alert.Yellow, alert.Red, alert.Green} {
		_ = n.Notify(ctx, alert.Alert{Monitor: "db", Code: code, Since: since, At: time.Now()})
	}
	// Output:
	// trigger cpra/db/2025-01-02T15:04:05Z
	// resolve cpra/db/2025-01-02T15:04:05Z
}

func ExampleMulti() {
	page := alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error {
		return &alert.DeliveryError{Notifier: "pager", Status: 503, Retryable: true}
	})
	logged := alert.NotifierFunc(func(ctx context.Context, a alert.Alert) error {
		fmt.Println("logged", a.Monitor, a.Code)
		return nil
	})
	err := alert.Multi(page, logged).Notify(context.Background(), alert.Alert{Monitor: "db", Code: alert.Red})
	fmt.Println(err)
	fmt.Println("retry:", alert.Retryable(err))
	// Output:
	// logged db red
	// alert: pager: status 503 Service Unavailable (retryable)
	// retry: true
}

func ExampleRoute() {
	var pager, chat alert.Notifier = alert.Log(io.Discard), alert.Log(io.Discard)
	// Page on red, chat about everything else an episode produces.
	n := alert.Route{
		alert.Red:    alert.Multi(pager, chat),
		alert.Green:  alert.Multi(pager, chat),
		alert.Yellow: chat,
		alert.Cyan:   chat,
	}
	fmt.Println(n.Notify(context.Background(), alert.Alert{Monitor: "db", Code: alert.Gray}))
	// Output:
	// <nil>
}

func ExampleSlack() {
	n, err := alert.Slack("https://hooks.slack.com/services/T000/B000/XXXX")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n) // the webhook's token is never printed
	// Output:
	// alert.Slack(https://hooks.slack.com)
}

func ExampleEmail() {
	n, err := alert.Email("smtp.example.com:587", "CPRA <cpra@example.com>",
		[]string{"oncall@example.com"},
		alert.WithAuth("cpra", os.Getenv("SMTP_PASSWORD")),
		alert.WithRequireTLS(),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n)
	// Output:
	// alert.Email(smtp.example.com:587, 1 recipient)
}

func ExampleSMS() {
	n, err := alert.SMS("AC0123456789abcdef", os.Getenv("TWILIO_AUTH_TOKEN"), "+15550001111",
		[]string{"+15552223333"})
	if err != nil {
		log.Fatal(err)
	}
	// Text only what needs a human now.
	_ = alert.Route{alert.Red: n}
}

func ExamplePayload_Headline() {
	zone := map[string]string{"zone": "eu-1"}
	var group []alert.Alert
	for _, name := range []string{"cart", "checkout-api", "search", "images", "ledger", "auth",
		"mail", "quotes", "stock", "tax", "rates", "gateway", "feeds", "reports"} {
		group = append(group, alert.Alert{Monitor: name, Code: alert.Red, Labels: zone})
	}
	for _, a := range []alert.Alert{
		{Monitor: "checkout-api", Code: alert.Red},
		{Monitor: "checkout-api", Code: alert.Yellow, Flap: alert.FlapStart},
		{Monitor: "checkout-api", Code: alert.Green, Flap: alert.FlapEnd},
		{Monitor: "zone=eu-1", Code: alert.Red, Labels: zone, Group: group},
	} {
		fmt.Println(alert.NewPayload(a).Headline())
	}
	// Output:
	// checkout-api is down
	// checkout-api is flapping
	// checkout-api stopped flapping (now green)
	// 14 monitors down (zone=eu-1): cart, checkout-api, search, images, ledger, auth, mail, quotes, stock, tax and 4 more
}
