package metrics_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/metrics"
)

func ExampleHandler() {
	e, err := cpra.New()
	if err != nil {
		panic(err)
	}
	// A program would register it: http.Handle("/metrics", metrics.Handler(e)).
	rec := httptest.NewRecorder()
	metrics.Handler(e).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n")[:6] {
		fmt.Println(line)
	}
	// Output:
	// # HELP cpra_monitors Monitors in the engine.
	// # TYPE cpra_monitors gauge
	// cpra_monitors 0
	// # HELP cpra_checks_total Checks run.
	// # TYPE cpra_checks_total counter
	// cpra_checks_total 0
}
