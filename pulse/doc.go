// Package pulse defines the health check plug-in of CPRA: the [Checker]
// interface, its function adapter [CheckerFunc], and the built-in checkers.
//
// # Overview
//
// A pulse is one periodic health check of one monitor. The engine calls
// [Checker.Check] on its worker pool with a context whose deadline is the
// monitor's Timeout; the returned error decides whether the check passed.
//
// # Built-in checkers
//
//   - [HTTP]: one request; status (2xx by default), body substring or
//     regular expression, a JSON field, response time; redirects and TLS
//     verification configurable.
//   - [TCP]: connect, optionally send bytes and expect a reply.
//   - [ICMP]: echo requests, unprivileged sockets first.
//   - [DNS]: one query to a chosen server; answer, rcode or answer value.
//   - [TLS]: handshake, chain and name verification, certificate expiry.
//   - [Exec]: run a program (no shell); exit status 0 is healthy. On Unix
//     its whole process group is killed when the check ends.
//   - [GRPC]: the standard grpc.health.v1 Check call.
//
// Each constructor validates its target and options once and returns the
// concrete checker and an error wrapping [ErrOption]; a MustXxx variant
// panics instead. Options are typed per checker ([HTTPOption],
// [TCPOption], ...); [Option] values ([WithTimeout], [WithMaxLatency]) fit
// every checker and [VerifyOption] values ([WithRootCAs],
// [WithInsecureSkipVerify], [WithServerName]) every checker that speaks TLS.
// [Retry] wraps any Checker.
//
// A failed check returns an error that says what failed, in words meant for
// an alert: "status 503, want 2xx", `body missing "ok"`,
// "dial tcp 127.0.0.1:9: connect: connection refused". A check cut short by
// its deadline returns a [*TimeoutError] ("timeout after 2s"), which
// matches [context.DeadlineExceeded].
//
// # Secrets
//
// A check URL may carry credentials (user information, a token in the path,
// an api_key in the query), and headers and exec environment variables
// often do. They never appear in a constructor's error, nor when a checker
// is printed with any fmt verb (an [HTTPChecker] prints as its method,
// scheme and host; [HTTPChecker.URL] returns the whole URL). When a check
// fails, what it quotes from elsewhere (a transport error, a JSON value
// from the body, an exec program's output) is scrubbed of them first, in
// any escaped or base64 form. The scrubbing runs only on a failed check.
//
// # Memory and shared state
//
// A checker value holds its target and options only. An [HTTPChecker] is
// one pointer: for a plain GET, to a record of the URL's path and 2 bytes
// (6 past the first 250 or so hosts) in blocks shared by many checkers, its
// scheme and host being shared by the checkers of that host; a [Checker]
// holding the value (as the engine keeps it) needs no heap object of its
// own. What can be shared is: all HTTP and gRPC checkers use one pooled
// [net/http.Transport] per certificate setting, created on first use, so
// monitors of one host reuse its connections (up to 128 idle per host and
// 2048 in all); [CloseIdleConnections] closes the idle ones. Response
// bodies are read only as far as the conditions need (at most 1 MiB) and
// drained (at most 64 KiB) so that connections can be reused. A GET or HEAD with no body, no headers of its own and no user
// information in its URL goes to the transport without net/http's client,
// which would copy its headers and URL in case of a redirect; the checker
// follows redirects itself, as the client does (at most 10, the method
// kept, a Referer, none from https to http).
//
// # Concurrency
//
// Checks run on many goroutines at once. A Checker value used by a single
// monitor is called concurrently with itself only while a call the engine
// abandoned at its deadline still runs (see [Checker]); a value shared
// between monitors is, and must be safe for that. All built-in checkers
// are safe for concurrent use, honour their context, and start no
// goroutine that outlives a Check; [Exec] leaves no process behind either.
package pulse
