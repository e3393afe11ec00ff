package intervene_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/ziad/cpra/intervene"
)

func ExampleExec() {
	// Run a restart script directly (no shell), with PATH passed on and the
	// incident in CPRA_* variables. At the monitor's timeout the script and
	// everything it started are killed.
	r, err := intervene.Exec("/usr/local/bin/restart-service", []string{"--service", "checkout-api"},
		intervene.WithInheritEnv("PATH"),
		intervene.WithEnv("RESTART_MODE", "graceful"),
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = r // Monitor.Remediate = r
}

func ExampleHTTP() {
	// A stand-in for an orchestration API.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p intervene.Payload
		_ = json.NewDecoder(r.Body).Decode(&p)
		fmt.Printf("%s %s: restart %s (attempt %d)\n", r.Method, r.URL.Path, p.Monitor, p.Attempt)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	r, err := intervene.HTTP(http.MethodPost, srv.URL+"/v1/restarts",
		intervene.WithHeader("Authorization", "Bearer token"),
		intervene.WithExpectStatus(http.StatusAccepted))
	if err != nil {
		log.Fatal(err)
	}
	err = r.Remediate(context.Background(), intervene.Incident{Monitor: "checkout-api", Attempt: 1, Since: time.Now()})
	fmt.Println("error:", err)
	// Output:
	// POST /v1/restarts: restart checkout-api (attempt 1)
	// error: <nil>
}

func ExampleDockerRestart() {
	r, err := intervene.DockerRestart("checkout-api", intervene.WithStopTimeout(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	err = r.Remediate(context.Background(), intervene.Incident{Monitor: "checkout-api", Attempt: 1})
	if errors.Is(err, intervene.ErrNoSuchContainer) {
		fmt.Println("the container is gone; restarting it will not help")
	}
}
