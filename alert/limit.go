package alert

import (
	"context"
	"fmt"

	"golang.org/x/time/rate"
)

// Limit returns a Notifier that passes alerts to n at most perSecond a
// second on average, with bursts of up to burst, so that a storm of alerts
// does not flood a receiver (or get the sender throttled). An alert waits
// for its turn within its context; when its deadline would pass first, it
// is not sent and Limit returns a retryable *DeliveryError, so the engine
// tries again later. Limit is safe for concurrent use: share one value
// between the monitors that talk to the same receiver.
func Limit(n Notifier, perSecond float64, burst int) Notifier {
	if burst < 1 {
		burst = 1
	}
	return &limited{n: n, lim: rate.NewLimiter(rate.Limit(perSecond), burst), desc: fmt.Sprintf("%.3g/s", perSecond)}
}

type limited struct {
	n    Notifier
	lim  *rate.Limiter
	desc string
}

func (l *limited) Notify(ctx context.Context, a Alert) error {
	if err := l.lim.Wait(ctx); err != nil {
		return &DeliveryError{Notifier: "limit", Endpoint: l.desc, Retryable: true,
			Detail: "rate limit: no turn before the deadline", Err: err}
	}
	return l.n.Notify(ctx, a)
}

func (l *limited) String() string { return fmt.Sprintf("alert.Limit(%v, %s)", l.n, l.desc) }
