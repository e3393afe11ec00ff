// Package backoff computes the waits between retries: exponential from a
// base, capped, with jitter. The engine uses it for remediation attempts
// and for alert deliveries.
package backoff

// Delay is the wait before try n+1 after n failed tries (n >= 1): base,
// doubled after each further try, at most limit (no cap when limit <= 0),
// plus up to jitter (a share, 0 to 1) of it, scaled by rnd, a uniformly
// random 32-bit number that the caller draws. Units are the caller's.
func Delay(base, limit int64, n int, jitter float64, rnd uint32) int64 {
	d := max(base, 0)
	for i := 1; i < n && (limit <= 0 || d < limit) && d < 1<<61; i++ {
		d *= 2
	}
	if limit > 0 {
		d = min(d, limit)
	}
	if jitter > 0 {
		d += int64(float64(rnd) / (1 << 32) * min(jitter, 1) * float64(d))
	}
	return d
}
