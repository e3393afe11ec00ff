// Package sizing computes how many workers a pipeline needs to meet a mean
// latency target, from queueing theory and live measurements.
//
// # Overview
//
// A pipeline receives jobs at rate λ (per second); a job takes E[S] of a
// worker's time on average. The offered load a = λ·E[S] (erlangs) is the
// number of workers busy on average, so c workers are utilised at ρ = a/c and
// the pool is stable only when c > a. How long a job waits for a free worker
// depends on c, on a, and on how variable arrivals and service are.
//
//   - [ErlangB] and [ErlangC] give the M/M/c blocking and waiting
//     probabilities, P_W = C(c, a). Both use the recurrence
//     B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)), then
//     P_W = c·B(c) / (c − a·(1 − B(c))), which is finite and accurate at any
//     load (the textbook a^c/c! form overflows near a = 709).
//   - [WaitMMC] is the M/M/c mean queueing delay W_q = P_W·E[S] / (c − a).
//   - [WaitGGC] is the Allen–Cunneen G/G/c approximation
//     W_q ≈ W_q(M/M/c)·(c_a² + c_s²)/2, where c_a² and c_s² are the squared
//     coefficients of variation of the inter-arrival and service times.
//   - [Workers] finds the least c with W_q + E[S] ≤ SLO, adds headroom and
//     clamps it to bounds; its search is bounded and never returns NaN, and
//     it reports an SLO that no pool can meet (E[S] ≥ SLO) as
//     [ErrUnreachable].
//   - [Estimator] measures λ, E[S], c_s² and c_a² over a sliding window;
//     [Snapshot.Params] turns a measurement into [Params].
//   - [Damper] turns a stream of targets into pool sizes that follow load
//     changes without oscillating.
//
// # Units
//
// The functions on float64 take any consistent time unit (λ per second with
// E[S] in seconds, or per millisecond with milliseconds). [Params] and the
// estimators use λ per second and time.Duration.
//
// # Concurrency
//
// The functions are pure and safe for concurrent use. An [Estimator] is fed
// through [Recorder] values, one per recording goroutine (each worker and the
// producer), which keep plain local sums and publish them with uncontended
// atomic stores, so recording costs nanoseconds and no lock;
// [Estimator.Snapshot] merges all recorders and may run concurrently with
// them. A [Damper] is for one goroutine.
package sizing
