package alert

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// cutTexts are long texts whose multi-byte characters fall on every byte
// offset of a cut: each is tried with 0 to 3 ASCII bytes in front.
var cutTexts = []struct {
	name string
	text string
}{
	{"two-byte", strings.Repeat("é", 1600)},
	{"three-byte", strings.Repeat("€", 1200)},
	{"four-byte", strings.Repeat("😀", 1000)},
	{"combining marks", strings.Repeat("e\u0301", 1200)},
	{"zwj sequences", strings.Repeat("👨\u200d👩\u200d👧", 300)},
	{"flags", strings.Repeat("🇩🇪", 600)},
}

// checkCut asserts that got is full cut between characters and marked
// with "...", at most limit long by size.
func checkCut(t *testing.T, field, full, got string, limit int, size func(string) int) {
	t.Helper()
	if !utf8.ValidString(got) {
		t.Errorf("%s is not valid UTF-8: ...%q", field, got[max(0, len(got)-12):])
	}
	if n := size(got); n > limit {
		t.Errorf("%s is %d long, over %d", field, n, limit)
	}
	kept, ok := strings.CutSuffix(got, "...")
	if !ok || !strings.HasPrefix(full, kept) {
		t.Fatalf("%s = ...%q, want a start of the text and \"...\"", field, got[max(0, len(got)-16):])
	}
	next, _ := utf8.DecodeRuneInString(full[len(kept):])
	prev, _ := utf8.DecodeLastRuneInString(kept)
	if unicode.Is(unicode.Mn, next) || next == '\u200d' || prev == '\u200d' {
		t.Errorf("%s is cut inside a character: ...%q | %q", field, kept[max(0, len(kept)-8):], next)
	}
	// A flag is two regional indicators (here always D then E).
	if strings.Count(kept, "\U0001F1E9") != strings.Count(kept, "\U0001F1EA") {
		t.Errorf("%s splits a flag", field)
	}
	// Nothing more is dropped than the character (at most 18 bytes, a
	// family emoji) the cut fell in.
	if size(got) < limit-20 {
		t.Errorf("%s is %d long, want it close to %d", field, size(got), limit)
	}
}

func byteLen(s string) int { return len(s) }

// TestCapsCutBetweenCharacters sends alerts whose long texts put
// multi-byte characters at the cut of every capped field (PagerDuty
// summary, Slack title and error, SMS text, email subject) and checks what
// the receivers got.
func TestCapsCutBetweenCharacters(t *testing.T) {
	ctx := context.Background()
	rec := newReceiver(t, 202)
	pd, _ := PagerDuty(routingKey, WithEndpoint(rec.URL+"/v2/enqueue"))
	sl, _ := Slack(rec.URL + "/services/T/B/X")
	sms, _ := SMS("AC1", "tok", "+1555", []string{"+1666"}, WithEndpoint(rec.URL))
	ms := startMailServer(t)
	em, _ := Email(ms.addr(), "cpra@example.com", []string{"ops@example.com"})
	mails := 0

	for _, ct := range cutTexts {
		for pad := range 4 {
			text := strings.Repeat("x", pad) + ct.text
			t.Run(ct.name+"/"+strings.Repeat("x", pad), func(t *testing.T) {
				a := redAlert()
				a.Err = errors.New(text)

				// PagerDuty: the summary, in bytes.
				if err := pd.Notify(ctx, a); err != nil {
					t.Fatal(err)
				}
				ev := decodePD(t, rec.next(t))
				checkCut(t, "PagerDuty summary", "[red] checkout-api is down: "+text, ev.Payload.Summary, maxSummary, byteLen)

				// Slack: the error in the attachment, in bytes.
				if err := sl.Notify(ctx, a); err != nil {
					t.Fatal(err)
				}
				var msg slackMessage
				if err := json.Unmarshal(rec.next(t).body, &msg); err != nil {
					t.Fatal(err)
				}
				errText, _ := strings.CutPrefix(msg.Attachments[0].Text, "Error: ")
				checkCut(t, "Slack error", text, errText, slackMaxError, byteLen)

				// Slack: the title, from a long monitor name.
				b := a
				b.Monitor = text
				if err := sl.Notify(ctx, b); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(rec.next(t).body, &msg); err != nil {
					t.Fatal(err)
				}
				checkCut(t, "Slack title", text+" is down", msg.Attachments[0].Title, slackMaxTitle, byteLen)

				// SMS: the text, in characters.
				if err := sms.Notify(ctx, a); err != nil {
					t.Fatal(err)
				}
				form, err := url.ParseQuery(string(rec.next(t).body))
				if err != nil {
					t.Fatal(err)
				}
				checkCut(t, "SMS text", "[cpra] RED: checkout-api is down: "+text, form.Get("Body"), maxSMS, utf8.RuneCountInString)

				// Email: the subject, in bytes before encoding.
				if err := em.Notify(ctx, b); err != nil {
					t.Fatal(err)
				}
				mails++
				got, _, _ := ms.got()
				m, err := mail.ReadMessage(strings.NewReader(got[mails-1].data))
				if err != nil {
					t.Fatal(err)
				}
				subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
				if err != nil {
					t.Fatal(err)
				}
				checkCut(t, "email subject", "[cpra] RED: "+text+" is down", subj, maxSubject, byteLen)
			})
		}
	}
}
