package metrics_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/metrics"
	"github.com/ziad/cpra/pulse"
)

func ExampleHandler() {
	e, err := cpra.New()
	if err != nil {
		panic(err)
	}
	e.Add(cpra.Monitor{Name: "api", Check: pulse.CheckerFunc(func(context.Context) error { return nil })})
	// A program would register it: http.Handle("/metrics", metrics.Handler(e)).
	rec := httptest.NewRecorder()
	metrics.Handler(e).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.Contains(line, "cpra_monitors ") {
			fmt.Println(line)
		}
	}
	// Output:
	// # HELP cpra_monitors Monitors in the engine.
	// # TYPE cpra_monitors gauge
	// cpra_monitors 1
}

func ExampleNewCollector() {
	edge, err := cpra.New()
	if err != nil {
		panic(err)
	}
	// The application's own registry, where its other metrics are too.
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(edge, metrics.WithConstLabels(prometheus.Labels{"engine": "edge"})))

	families, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "cpra_remediations") {
			l := f.GetMetric()[0].GetLabel()[0]
			fmt.Printf("%s %s %s=%s\n", f.GetName(), f.GetType(), l.GetName(), l.GetValue())
		}
	}
	// Output:
	// cpra_remediations_denied_total COUNTER engine=edge
	// cpra_remediations_dry_run_total COUNTER engine=edge
	// cpra_remediations_failed_total COUNTER engine=edge
	// cpra_remediations_fenced_total COUNTER engine=edge
	// cpra_remediations_total COUNTER engine=edge
}
