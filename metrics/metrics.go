package metrics

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ziad/cpra"
)

// ContentType is the media type of the text exposition format that the
// handler writes when the request asks for no other format. The response's
// Content-Type begins with it; an escaping parameter may follow.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler returns a handler that serves e's Stats for Prometheus to scrape:
// a registry of its own holds one [NewCollector] of e, made with opts, and
// nothing else. It answers GET and HEAD, in the format the request's Accept
// header asks for (the text format by default, the protocol buffer format
// when asked), gzipped when the request accepts it; other methods get 405.
// It panics when opts make a collector that a registry refuses (see
// [WithConstLabels]).
//
// An application with a registry of its own registers [NewCollector] there
// instead.
func Handler(e *cpra.Engine, opts ...Option) http.Handler {
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewCollector(e, opts...)); err != nil {
		// Only options can make a collector that a registry refuses.
		panic(fmt.Sprintf("metrics.Handler: options: %v", err))
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}
