package redact

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Truncate returns s when it is at most max bytes long, and otherwise its
// start followed by tail, max bytes at most in all. The cut never splits a
// character, nor separates one from the marks, joiners and modifiers that
// combine with it, so the result is valid UTF-8 when s is. When tail alone
// is longer than max, the result is the start of tail.
func Truncate(s string, max int, tail string) string {
	if len(s) <= max {
		return s
	}
	if len(tail) >= max {
		return cutAt(tail, max)
	}
	return cutAt(s, max-len(tail)) + tail
}

// TruncateRunes is [Truncate] counting characters (code points) instead of
// bytes.
func TruncateRunes(s string, max int, tail string) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := max - utf8.RuneCountInString(tail)
	if n < 0 {
		return TruncateRunes(tail, max, "")
	}
	end := 0
	for i := 0; i < n; i++ {
		_, size := utf8.DecodeRuneInString(s[end:])
		end += size
	}
	return cutAt(s, end) + tail
}

// cutAt returns the start of s at most n bytes long, cut between
// characters that do not combine.
func cutAt(s string, n int) string {
	if n >= len(s) {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	for n > 0 {
		next, _ := utf8.DecodeRuneInString(s[n:])
		prev, size := utf8.DecodeLastRuneInString(s[:n])
		if isRegional(prev) && isRegional(next) {
			// Regional indicators pair up into flags: the cut is inside
			// one when an odd number of them precede it.
			if regionalRun(s[:n])%2 == 0 {
				break
			}
		} else if !joins(prev, next) {
			break
		}
		n -= size
	}
	return s[:n]
}

// regionalRun counts the regional indicators at the end of s.
func regionalRun(s string) int {
	k := 0
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isRegional(r) {
			break
		}
		k++
		s = s[:len(s)-size]
	}
	return k
}

// joins reports whether next belongs to the same user-perceived character
// as prev: a combining mark, a variation selector, an emoji modifier, or
// either side of a zero-width joiner.
func joins(prev, next rune) bool {
	switch {
	case prev == '\u200d' || next == '\u200d':
		return true
	case next >= 0xfe00 && next <= 0xfe0f, next >= 0xe0100 && next <= 0xe01ef:
		return true // variation selectors
	case next >= 0x1f3fb && next <= 0x1f3ff:
		return true // skin tone modifiers
	case next >= 0xe0020 && next <= 0xe007f:
		return true // tag characters (flag sequences)
	}
	return unicode.In(next, unicode.Mn, unicode.Me, unicode.Mc)
}

func isRegional(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }

// Format prints desc, a plug-in's description without secrets, for any
// verb: it lets a plug-in's Format method give the same safe text for %v,
// %+v, %#v and %s (and a quoted one for %q), whatever its fields hold.
func Format(f fmt.State, verb rune, desc string) {
	switch verb {
	case 'v', 's':
		verb = 's'
	case 'q':
	default:
		fmt.Fprintf(f, "%%!%c(%s)", verb, desc)
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), desc)
}
