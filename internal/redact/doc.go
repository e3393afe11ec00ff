// Package redact keeps the secrets a plug-in was configured with and takes
// them out of any text before that text leaves the plug-in in an error.
//
// A plug-in builds one [Secrets] when it is configured, telling it what it
// holds: a URL ([Secrets.AddURL]: its user information, every path segment,
// every query value), header values ([Secrets.AddHeader]), tokens, keys and
// passwords ([Secrets.Add]), and the exact strings it sends in encoded form
// ([Secrets.AddBase64], such as an SMTP AUTH PLAIN response). Each secret is
// learned with the forms it may take on the way back: URL-escaped, JSON- and
// Go-quoted, HTML-escaped, and base64, also as part of a longer base64 text.
//
// On a failure, and only then, the plug-in passes what it is about to quote
// (a receiver's answer, a transport error) through [Secrets.Scrub] or
// [Secrets.Error], which replace every occurrence of a secret by [Mask]. A
// secret cut off at either end of the text (because the text was truncated)
// is masked too. The success path pays nothing: learning happens once, at
// construction.
//
// [Truncate] bounds text by bytes without splitting a character, and
// [Format] prints a plug-in's safe description for every fmt verb.
package redact
