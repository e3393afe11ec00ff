package config

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The fast path reads the common subset of YAML that monitor files are
// written in: block mappings and sequences, plain and quoted one-line
// scalars, one-line flow sequences of scalars, empty flow collections and
// comments. Anything else makes it give up on the item, which is then parsed
// by the YAML library (errUnsupported); anchors, aliases and merge keys too:
// when the library finds an alias of an anchor outside the item, the whole
// document is read by the library (errWholeDocument).
var (
	errUnsupported   = errors.New("construct outside the fast subset")
	errWholeDocument = errors.New("construct that needs the whole document")
)

// pline is one content line of an item: its indentation, its text without
// the indentation, the comment and trailing blanks, and its number.
type pline struct {
	indent int
	text   string
	num    int32
}

// blockParser parses items of block YAML into nodes. It is reused from item
// to item.
type blockParser struct {
	lines []pline
	a     *arena
	depth int // of the collection being parsed
}

// fastDepth is the deepest nesting the fast path reads; deeper items go to
// the library, which refuses those beyond maxDepth.
const fastDepth = maxDepth / 2

// nest enters a collection; false when it is too deep for the fast path.
// Call p.depth-- on leaving it.
func (p *blockParser) nest() bool {
	p.depth++
	return p.depth <= fastDepth
}

// splitLines fills p.lines from the item text s whose first line is number
// first. It reports errUnsupported for a character outside the fast
// subset (see fastText).
func (p *blockParser) splitLines(s string, first int) error {
	p.lines = p.lines[:0]
	num := int32(first)
	for len(s) > 0 {
		var line string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			line, s = s, ""
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		ind := 0
		for ind < len(line) && line[ind] == ' ' {
			ind++
		}
		text := line[ind:]
		if !fastText(text) {
			return errUnsupported
		}
		text = stripComment(text)
		if text != "" {
			p.lines = append(p.lines, pline{indent: ind, text: text, num: num})
		}
		num++
	}
	return nil
}

// fastText reports whether every character of t is one the fast path
// reads as the YAML library does: printable ASCII, and printable
// non-ASCII characters other than those YAML counts as line breaks or byte
// order marks. Anything else (control characters, invalid UTF-8, U+0085,
// U+2028, U+2029, U+FEFF) is left to the library, which refuses it or reads
// it by rules of its own; so are tabs, which YAML allows in some places
// only.
func fastText(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c >= 0x20 && c < 0x7f {
			continue
		}
		if c < 0x80 {
			return false
		}
		r, size := utf8.DecodeRuneInString(t[i:])
		switch {
		case r == utf8.RuneError && size == 1,
			r < 0xa0, r == 0x2028, r == 0x2029, r == 0xfeff,
			r >= 0xd800 && r < 0xe000, r == 0xfffe, r == 0xffff:
			return false
		}
		i += size - 1
	}
	return true
}

// stripComment removes a comment and trailing blanks from a line's text.
// A quote opens a quoted scalar only where one may start: at the beginning,
// after "- ", ": ", "[", "{" or ",".
func stripComment(t string) string {
	prev := byte(' ') // last non-blank byte before the current one, ' ' at start
	start := true
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '#' && (i == 0 || t[i-1] == ' ' || t[i-1] == '\t'):
			t = t[:i]
			return strings.TrimRight(t, " \t")
		case (c == '"' || c == '\'') && (start || prev == '-' || prev == ':' || prev == '[' || prev == '{' || prev == ','):
			j := skipQuoted(t, i)
			if j < 0 {
				return strings.TrimRight(t, " \t") // unterminated: the item parser gives up on it
			}
			i = j - 1
			prev, start = c, false
			continue
		}
		if c != ' ' && c != '\t' {
			// "-" and ":" only count when followed by a blank.
			if (c == '-' || c == ':') && i+1 < len(t) && t[i+1] != ' ' && t[i+1] != '\t' {
				prev = 'x'
			} else {
				prev = c
			}
			start = false
		}
	}
	return strings.TrimRight(t, " \t")
}

// skipQuoted returns the index just past the quoted scalar starting at t[i],
// or -1 if it does not end on this line.
func skipQuoted(t string, i int) int {
	q := t[i]
	for j := i + 1; j < len(t); j++ {
		switch {
		case q == '"' && t[j] == '\\':
			j++
		case t[j] == q:
			if q == '\'' && j+1 < len(t) && t[j+1] == '\'' {
				j++
				continue
			}
			return j + 1
		}
	}
	return -1
}

// parseItem parses one item of a block sequence: s holds its lines, the first
// of which starts with "-" and is line number first of the document.
func (p *blockParser) parseItem(s string, first int) (*node, error) {
	if err := p.splitLines(s, first); err != nil {
		return nil, err
	}
	if len(p.lines) == 0 {
		return nil, errUnsupported
	}
	p.depth = 0
	seq, next, err := p.parseSeq(0, p.lines[0].indent, false)
	if err != nil {
		return nil, err
	}
	if next != len(p.lines) || seq.n != 1 {
		return nil, errUnsupported
	}
	if o := p.a.over; o != nil {
		// Reported once the whole item is known to be well-formed, as
		// the library does.
		return nil, tooManyValues(o.line, p.a.maxValues())
	}
	return seq.first, nil
}

// parseBlock parses the block node starting at line i, which must be indented
// more than parent.
func (p *blockParser) parseBlock(i, parent int) (*node, int, error) {
	l := p.lines[i]
	if l.indent <= parent {
		return nil, i, errUnsupported
	}
	if isSeqEntry(l.text) {
		return p.parseSeq(i, l.indent, false)
	}
	if _, _, _, ok, err := splitKey(l.text); err != nil {
		return nil, i, err
	} else if ok {
		return p.parseMap(i, l.indent)
	}
	// A scalar on a line of its own.
	n := p.a.alloc()
	n.line = l.num
	if err := p.inlineValue(n, l.text); err != nil {
		return nil, i, err
	}
	if n.kind == mapNode || n.kind == seqNode && n.n > 0 {
		return nil, i, errUnsupported
	}
	i++
	if i < len(p.lines) && p.lines[i].indent > parent {
		return nil, i, errUnsupported // a multi-line scalar
	}
	return n, i, nil
}

func isSeqEntry(t string) bool {
	return t == "-" || strings.HasPrefix(t, "- ")
}

// parseSeq parses a block sequence whose entries start at indentation ind.
// A sequence at the indentation of its mapping key (atKey) ends at the
// next line of that indentation that is not an entry: the mapping's next
// key.
func (p *blockParser) parseSeq(i, ind int, atKey bool) (*node, int, error) {
	defer func() { p.depth-- }()
	if !p.nest() {
		return nil, i, errUnsupported
	}
	seq := p.a.alloc()
	seq.kind = seqNode
	seq.line = p.lines[i].num
	for i < len(p.lines) {
		l := p.lines[i]
		if l.indent < ind || atKey && l.indent == ind && !isSeqEntry(l.text) {
			break
		}
		if l.indent > ind || !isSeqEntry(l.text) {
			return nil, i, errUnsupported
		}
		rest := strings.TrimLeft(l.text[1:], " ")
		if rest == "" {
			// The entry's value is on the following lines.
			if i+1 < len(p.lines) && p.lines[i+1].indent > ind {
				v, next, err := p.parseBlock(i+1, ind)
				if err != nil {
					return nil, next, err
				}
				seq.add(v)
				i = next
			} else {
				n := p.a.alloc()
				n.line = l.num
				seq.add(n)
				i++
			}
			continue
		}
		if isSeqEntry(rest) {
			return nil, i, errUnsupported // "- - x"
		}
		_, _, _, isKey, err := splitKey(rest)
		if err != nil {
			return nil, i, err
		}
		if isKey {
			// "- key: value" opens a mapping indented to the key.
			p.lines[i] = pline{indent: ind + (len(l.text) - len(rest)), text: rest, num: l.num}
			m, next, err := p.parseMap(i, p.lines[i].indent)
			if err != nil {
				return nil, next, err
			}
			seq.add(m)
			i = next
			continue
		}
		n := p.a.alloc()
		n.line = l.num
		if err := p.inlineValue(n, rest); err != nil {
			return nil, i, err
		}
		seq.add(n)
		i++
		if i < len(p.lines) && p.lines[i].indent > ind {
			return nil, i, errUnsupported
		}
	}
	return seq, i, nil
}

// parseMap parses a block mapping whose keys start at indentation ind.
func (p *blockParser) parseMap(i, ind int) (*node, int, error) {
	defer func() { p.depth-- }()
	if !p.nest() {
		return nil, i, errUnsupported
	}
	m := p.a.alloc()
	m.kind = mapNode
	m.line = p.lines[i].num
	var keys keyIndex
	for i < len(p.lines) {
		l := p.lines[i]
		if l.indent < ind {
			break
		}
		if l.indent > ind || isSeqEntry(l.text) {
			return nil, i, errUnsupported
		}
		key, quoted, rest, ok, err := splitKey(l.text)
		if err != nil {
			return nil, i, err
		}
		if !ok {
			return nil, i, errUnsupported
		}
		if !quoted && key == "<<" {
			return nil, i, errUnsupported
		}
		if keys.find(m, key) != nil {
			return nil, i, errUnsupported // the library reports the duplicate
		}
		var v *node
		switch {
		case rest != "":
			v = p.a.alloc()
			v.line = l.num
			if err := p.inlineValue(v, rest); err != nil {
				return nil, i, err
			}
			i++
			if i < len(p.lines) && p.lines[i].indent > ind {
				return nil, i, errUnsupported
			}
		case i+1 < len(p.lines) && p.lines[i+1].indent > ind:
			v, i, err = p.parseBlock(i+1, ind)
			if err != nil {
				return nil, i, err
			}
		case i+1 < len(p.lines) && p.lines[i+1].indent == ind && isSeqEntry(p.lines[i+1].text):
			// A sequence may sit at its key's indentation.
			v, i, err = p.parseSeq(i+1, ind, true)
			if err != nil {
				return nil, i, err
			}
		default:
			v = p.a.alloc()
			v.line = l.num
			i++
		}
		v.key, v.keyLine = key, l.num
		keys.add(m, v)
	}
	return m, i, nil
}

// splitKey splits "key: rest" or "key:". ok is false when t is not a mapping
// entry.
func splitKey(t string) (key string, quoted bool, rest string, ok bool, err error) {
	if t == "" {
		return "", false, "", false, nil
	}
	switch t[0] {
	case '"', '\'':
		j := skipQuoted(t, 0)
		if j < 0 {
			return "", false, "", false, errUnsupported
		}
		after := strings.TrimLeft(t[j:], " ")
		if after == "" || after[0] != ':' {
			return "", false, "", false, nil // a quoted scalar, not a key
		}
		if len(after) > 1 && after[1] != ' ' {
			return "", false, "", false, errUnsupported
		}
		k, err := unquote(t[:j])
		if err != nil {
			return "", false, "", false, err
		}
		return k, true, strings.TrimLeft(after[1:], " "), true, nil
	case '[', '{', '&', '*', '!', '|', '>', '%', '@', '`', '?', '#', ',', ']', '}':
		if t[0] == '&' || t[0] == '*' {
			return "", false, "", false, errUnsupported
		}
		if t[0] == '?' && (len(t) == 1 || t[1] == ' ') {
			return "", false, "", false, errUnsupported // a complex key
		}
		if t[0] != '?' {
			return "", false, "", false, nil
		}
	}
	for j := 0; j < len(t); j++ {
		if t[j] == ':' && (j+1 == len(t) || t[j+1] == ' ') {
			k := strings.TrimRight(t[:j], " ")
			if k == "" {
				return "", false, "", false, errUnsupported
			}
			return k, false, strings.TrimLeft(t[j+1:], " "), true, nil
		}
	}
	return "", false, "", false, nil
}

// inlineValue parses the value written on the line of its key or dash.
func (p *blockParser) inlineValue(n *node, t string) error {
	switch t[0] {
	case '"', '\'':
		j := skipQuoted(t, 0)
		if j != len(t) {
			return errUnsupported
		}
		v, err := unquote(t)
		if err != nil {
			return err
		}
		n.kind, n.quoted, n.val = scalarNode, true, v
		return nil
	case '[':
		return p.flowSeq(n, t)
	case '{':
		if strings.TrimSpace(t[1:]) == "}" {
			n.kind = mapNode
			return nil
		}
		return errUnsupported
	case '&', '*', '!', '|', '>', '%', '@', '`', '?', ',', ']', '}', '#':
		return errUnsupported
	case '-':
		if t == "-" || t[1] == ' ' {
			return errUnsupported
		}
	}
	if strings.Contains(t, ": ") || strings.HasSuffix(t, ":") {
		return errUnsupported
	}
	setPlain(n, t)
	return nil
}

func setPlain(n *node, t string) {
	switch t {
	case "~", "null", "Null", "NULL":
		n.kind = nullNode
	default:
		n.kind, n.val = scalarNode, t
	}
}

// flowSeq parses a one-line flow sequence of scalars: [a, "b", 'c'].
func (p *blockParser) flowSeq(n *node, t string) error {
	n.kind = seqNode
	i := 1
	for {
		for i < len(t) && t[i] == ' ' {
			i++
		}
		if i == len(t) {
			return errUnsupported
		}
		if t[i] == ']' {
			if strings.TrimSpace(t[i+1:]) != "" {
				return errUnsupported
			}
			return nil
		}
		c := p.a.alloc()
		c.line = n.line
		switch t[i] {
		case '"', '\'':
			j := skipQuoted(t, i)
			if j < 0 {
				return errUnsupported
			}
			v, err := unquote(t[i:j])
			if err != nil {
				return err
			}
			c.kind, c.quoted, c.val = scalarNode, true, v
			i = j
		case '[', '{', '&', '*', '!', '|', '>', '%', '@', '`', '?', ',', '#', '}':
			return errUnsupported
		default:
			j := i
			for j < len(t) && t[j] != ',' && t[j] != ']' {
				if t[j] == '[' || t[j] == '{' || t[j] == '}' || t[j] == ':' && (j+1 == len(t) || t[j+1] == ' ' || t[j+1] == ',' || t[j+1] == ']') {
					return errUnsupported
				}
				j++
			}
			setPlain(c, strings.TrimRight(t[i:j], " "))
			i = j
		}
		n.add(c)
		for i < len(t) && t[i] == ' ' {
			i++
		}
		if i == len(t) {
			return errUnsupported
		}
		switch t[i] {
		case ',':
			i++
		case ']':
		default:
			return errUnsupported
		}
	}
}

// unquote decodes a single- or double-quoted one-line YAML scalar.
func unquote(q string) (string, error) {
	body := q[1 : len(q)-1]
	if q[0] == '\'' {
		if !strings.Contains(body, "'") {
			return body, nil
		}
		return strings.ReplaceAll(body, "''", "'"), nil
	}
	if !strings.Contains(body, "\\") {
		return body, nil
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(body) {
			return "", errUnsupported
		}
		switch body[i] {
		case '0':
			b.WriteByte(0)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 't', '\t':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'v':
			b.WriteByte('\v')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case 'e':
			b.WriteByte(0x1b)
		case ' ', '"', '/', '\\':
			b.WriteByte(body[i])
		case 'N':
			b.WriteString("\u0085")
		case '_':
			b.WriteString("\u00a0")
		case 'L':
			b.WriteString("\u2028")
		case 'P':
			b.WriteString("\u2029")
		case 'x', 'u', 'U':
			w := 2
			switch body[i] {
			case 'u':
				w = 4
			case 'U':
				w = 8
			}
			if i+1+w > len(body) {
				return "", errUnsupported
			}
			r, err := strconv.ParseUint(body[i+1:i+1+w], 16, 32)
			if err != nil || r > utf8.MaxRune {
				return "", errUnsupported
			}
			b.WriteRune(rune(r))
			i += w
		default:
			return "", errUnsupported
		}
	}
	return b.String(), nil
}
