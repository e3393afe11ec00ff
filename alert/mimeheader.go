package alert

import (
	"bytes"
	"encoding/base64"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/ziad/cpra/internal/redact"
)

// Header lines are folded to at most maxLine characters (RFC 2047 allows
// 76 on a line with encoded words; RFC 5322 asks for 78 at most on any),
// and an encoded word is at most maxWord characters long (RFC 2047).
const (
	maxLine = 76
	maxWord = 75
)

// folder lays out the tokens of one header field on lines of at most
// maxLine characters, breaking only between tokens (where the field had a
// space, so unfolding gives back the field's text).
type folder struct {
	b    *bytes.Buffer
	line int // length of the current line so far
	any  bool
}

func newFolder(b *bytes.Buffer, name string) *folder {
	b.WriteString(name + ":")
	return &folder{b: b, line: len(name) + 1}
}

// room is what the next token may take on the current line.
func (f *folder) room() int { return maxLine - f.line - 1 }

func (f *folder) token(t string) {
	if f.any && f.line+1+len(t) > maxLine {
		f.b.WriteString("\r\n")
		f.line = 0
	}
	f.b.WriteString(" " + t)
	f.line += 1 + len(t)
	f.any = true
}

func (f *folder) end() { f.b.WriteString("\r\n") }

// writeTextHeader writes an unstructured header field (Subject): plain
// when value is printable ASCII whose words fit on folded lines, otherwise
// as RFC 2047 encoded words, each on a line of its own.
func writeTextHeader(b *bytes.Buffer, name, value string) {
	words := strings.Fields(value)
	f := newFolder(b, name)
	if !needsEncoding(words, f.room()) {
		for _, w := range words {
			f.token(w)
		}
		f.end()
		return
	}
	for _, w := range encodeWords(strings.Join(words, " "), false, f.room()) {
		f.token(w)
	}
	f.end()
}

// needsEncoding reports whether words cannot go into a header as they are:
// a character that is not printable ASCII, something a decoder could take
// for an encoded word, or a word too long for a folded line.
func needsEncoding(words []string, firstRoom int) bool {
	for i, w := range words {
		room := maxLine - 1
		if i == 0 {
			room = firstRoom
		}
		if len(w) > room || strings.Contains(w, "=?") {
			return true
		}
		for j := 0; j < len(w); j++ {
			if w[j] <= ' ' || w[j] >= 0x7f {
				return true
			}
		}
	}
	return false
}

// writeAddressHeader writes From or To: the addresses separated by commas,
// display names encoded when they are not ASCII, folded between words.
func writeAddressHeader(b *bytes.Buffer, name string, addrs []*mail.Address) {
	f := newFolder(b, name)
	for i, a := range addrs {
		addr := "<" + a.Address + ">"
		if i < len(addrs)-1 {
			addr += ","
		}
		if a.Name == "" {
			f.token(addr)
			continue
		}
		nameText := strings.Join(strings.Fields(strings.Map(noControl, a.Name)), " ")
		if isASCII(nameText) {
			for _, w := range strings.Fields(quotePhrase(nameText)) {
				f.token(w)
			}
		} else {
			room := maxWord
			if !f.any {
				room = f.room()
			}
			for _, w := range encodeWords(nameText, true, room) {
				f.token(w)
			}
		}
		f.token(addr)
	}
	f.end()
}

// quotePhrase returns an ASCII display name as a phrase: as it is when it
// is made of atoms, else as a quoted string.
func quotePhrase(s string) string {
	atoms := true
	for i := 0; i < len(s) && atoms; i++ {
		c := s[i]
		atoms = c == ' ' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
	}
	if atoms {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func noControl(r rune) rune {
	if r < ' ' || r == 0x7f {
		return ' '
	}
	return r
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// encodeWords encodes s as RFC 2047 encoded words in UTF-8, each at most
// maxWord characters (the first at most first), never splitting a
// character between two words. It picks the Q encoding when most of s is
// ASCII and B otherwise. In a phrase (a display name) Q leaves only
// letters, digits and !*+-/ as they are.
func encodeWords(s string, phrase bool, first int) []string {
	escaped := 0
	for i := 0; i < len(s); i++ {
		if !qSafe(s[i], phrase) && s[i] != ' ' {
			escaped++
		}
	}
	useB := escaped*3 > len(s)
	const overhead = len("=?utf-8?q??=")
	var words []string
	var cur []byte // the encoded text of the current word
	var pending []byte
	budget := first - overhead
	if budget < 12 {
		budget = 12
	}
	flush := func() {
		if useB {
			cur = []byte(base64.StdEncoding.EncodeToString(pending))
			pending = pending[:0]
		}
		if len(cur) > 0 {
			mode := "q"
			if useB {
				mode = "b"
			}
			words = append(words, "=?utf-8?"+mode+"?"+string(cur)+"?=")
		}
		cur = cur[:0]
		budget = maxWord - overhead
	}
	for _, r := range s {
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], r)
		ch := buf[:n]
		if useB {
			if base64.StdEncoding.EncodedLen(len(pending)+n) > budget {
				flush()
			}
			pending = append(pending, ch...)
			continue
		}
		var enc []byte
		for _, c := range ch {
			switch {
			case c == ' ':
				enc = append(enc, '_')
			case qSafe(c, phrase):
				enc = append(enc, c)
			default:
				enc = append(enc, '=', hexDigit[c>>4], hexDigit[c&15])
			}
		}
		if len(cur)+len(enc) > budget {
			flush()
		}
		cur = append(cur, enc...)
	}
	flush()
	return words
}

const hexDigit = "0123456789ABCDEF"

// qSafe reports whether c may stand for itself in a Q-encoded word: in
// unstructured text any printable ASCII but "=", "?" and "_"; in a phrase
// only letters, digits and !*+-/.
func qSafe(c byte, phrase bool) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	if phrase {
		return strings.IndexByte("!*+-/", c) >= 0
	}
	return c > ' ' && c < 0x7f && c != '=' && c != '?' && c != '_'
}

// headerText makes s fit for a header: control characters become spaces,
// runs of white space one space, and it is cut to max bytes without
// splitting a character.
func headerText(s string, max int) string {
	return redact.Truncate(strings.Join(strings.Fields(strings.Map(noControl, s)), " "), max, "...")
}
