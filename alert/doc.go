// Package alert defines the notification side of CPRA: the [Code] of an
// alert, the [Alert] itself, the [Notifier] plug-in with its function adapter
// [NotifierFunc], [Route], which picks a notifier by code, and the built-in
// notifiers.
//
// # Codes
//
// Every episode of a monitor (from its first failed check to its recovery)
// produces alerts matching yellow? cyan* red? green:
//
//   - [Yellow]: the first failure, when more than one is needed to go down.
//   - [Red]: down, and remediation is absent or has given up.
//   - [Cyan]: a remediation attempt succeeded and is being verified.
//   - [Green]: healthy again; exactly one per episode.
//   - [Gray]: paused or in maintenance.
//
// # Flapping and groups
//
// Two kinds of alert stand apart from an episode's. A monitor that flaps
// gets one alert when the spell begins ([Alert.Flap] is [FlapStart]) and one
// when it ends ([FlapEnd]); the built-in notifiers say "checkout-api is
// flapping" and "checkout-api stopped flapping (now green)". An alert with
// [Alert.Group] set stands for the alerts of several monitors that share a
// label value; the built-in notifiers say "37 monitors down (zone=eu-1): a,
// b, c and 34 more", naming only the first few (ten on one line, more
// in an email or a Slack attachment) however large the group is, while the
// [Payload] lists every member.
//
// # Built-in notifiers
//
//   - [Log] and [LogFile]: one JSON line per alert (a [Payload]).
//   - [Webhook]: an HTTP POST of the [Payload] (or a template's output),
//     optionally signed with HMAC-SHA256 ([SignatureHeader]).
//   - [Slack]: a message to an incoming webhook, coloured by code.
//   - [PagerDuty]: Events API v2; red triggers, green resolves, one dedup key
//     per episode.
//   - [Email]: plain-text mail over SMTP with STARTTLS and AUTH (PLAIN,
//     LOGIN or CRAM-MD5), delivered to each recipient the server accepts,
//     with SMTPUTF8 for internationalized addresses.
//   - [SMS]: text messages through the Twilio Messages API.
//   - [Multi]: all of several notifiers at once.
//
// Each makes one delivery attempt per call and honours its context. Retries,
// backoff, rate limits and the dead-letter hook belong to the engine, which
// asks [Retryable] whether a failure is worth another try: the built-in
// notifiers fail with a [*DeliveryError] that says so (and carries the
// receiver's status and Retry-After). Their constructors check arguments and
// options once and fail with [ErrConfig]; an [Option] given to a notifier it
// does not apply to is such an error.
//
// # Secrets
//
// Routing keys, auth tokens, passwords, signing secrets, header values and
// the tokens in webhook URLs never appear in errors or when a notifier is
// printed (with any fmt verb, also the struct itself): errors name an HTTP
// receiver by scheme and host only, and text a receiver answers with is
// scrubbed before it is quoted of every secret the notifier was given, of
// every path segment and query value of its URLs, and of their escaped and
// base64 forms, so a receiver that echoes the request back reveals
// nothing. Scrubbing happens only when a delivery fails.
//
// # Lengths
//
// Where a text is capped (a PagerDuty summary at 1024 bytes, an SMS at 306
// characters, an email subject at 200 bytes, Slack titles and errors, and
// the receiver's answer in a [DeliveryError]) it is cut between characters,
// never inside one, and marked with "...".
//
// # Concurrency
//
// A monitor's alerts reach its Notifier one at a time and in order; different
// monitors' alerts are delivered in parallel. Every built-in notifier is safe
// for concurrent use, so one can serve many monitors.
package alert
