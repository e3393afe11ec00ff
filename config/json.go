package config

import (
	"encoding/json"
	"fmt"
	"strings"
)

// jsonParser parses one JSON value into nodes, counting lines.
type jsonParser struct {
	s    string
	i    int
	line int32
	a    *arena
}

// parseJSONItem parses the JSON text of one monitor whose first line is
// number first.
func parseJSONItem(a *arena, s string, first int) (*node, error) {
	p := &jsonParser{s: s, line: int32(first), a: a}
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, p.fail("unexpected %q after the value", p.s[p.i])
	}
	if o := a.over; o != nil {
		return nil, tooManyValues(o.line, a.maxValues())
	}
	return n, nil
}

func (p *jsonParser) fail(format string, args ...any) error {
	return &syntaxError{line: int(p.line), msg: fmt.Sprintf(format, args...)}
}

func (p *jsonParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '\n':
			p.line++
		case ' ', '\t', '\r':
		default:
			return
		}
		p.i++
	}
}

func (p *jsonParser) value(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, p.fail("nested too deeply")
	}
	p.space()
	if p.i == len(p.s) {
		return nil, p.fail("unexpected end of input")
	}
	n := p.a.alloc()
	n.line = p.line
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		n.kind = mapNode
		p.space()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return n, nil
		}
		var keys keyIndex
		for {
			p.space()
			keyLine := p.line
			if p.i == len(p.s) || p.s[p.i] != '"' {
				return nil, p.fail("an object key must be a string")
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			if prev := keys.find(n, k); prev != nil {
				return nil, &syntaxError{line: int(keyLine), msg: fmt.Sprintf("key %q already defined at line %d", k, prev.keyLine)}
			}
			p.space()
			if p.i == len(p.s) || p.s[p.i] != ':' {
				return nil, p.fail("want ':' after an object key")
			}
			p.i++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			v.key, v.keyLine = k, keyLine
			keys.add(n, v)
			p.space()
			if p.i == len(p.s) {
				return nil, p.fail("unexpected end of input in an object")
			}
			switch p.s[p.i] {
			case ',':
				p.i++
			case '}':
				p.i++
				return n, nil
			default:
				return nil, p.fail("unexpected %q in an object, want ',' or '}'", p.s[p.i])
			}
		}
	case c == '[':
		p.i++
		n.kind = seqNode
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return n, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.add(v)
			p.space()
			if p.i == len(p.s) {
				return nil, p.fail("unexpected end of input in an array")
			}
			switch p.s[p.i] {
			case ',':
				p.i++
			case ']':
				p.i++
				return n, nil
			default:
				return nil, p.fail("unexpected %q in an array, want ',' or ']'", p.s[p.i])
			}
		}
	case c == '"':
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		n.kind, n.quoted, n.val = scalarNode, true, v
		return n, nil
	case c == 't', c == 'f', c == 'n':
		for _, w := range []string{"true", "false", "null"} {
			if strings.HasPrefix(p.s[p.i:], w) {
				p.i += len(w)
				if w != "null" {
					n.kind, n.val = scalarNode, w
				}
				return n, nil
			}
		}
		return nil, p.fail("invalid literal")
	case c == '-' || c >= '0' && c <= '9':
		j := p.i
		for j < len(p.s) && strings.IndexByte("+-0123456789.eE", p.s[j]) >= 0 {
			j++
		}
		num := p.s[p.i:j]
		if !json.Valid([]byte(num)) {
			return nil, p.fail("invalid number %q", num)
		}
		p.i = j
		n.kind, n.val = scalarNode, num
		return n, nil
	default:
		return nil, p.fail("unexpected %q, want a value", c)
	}
}

// str reads a string at p.i.
func (p *jsonParser) str() (string, error) {
	j := p.i + 1
	esc := false
	for ; j < len(p.s); j++ {
		c := p.s[j]
		if c < 0x20 {
			return "", p.fail("control character in a string")
		}
		if c == '\\' {
			esc = true
			j++
			continue
		}
		if c == '"' {
			break
		}
	}
	if j >= len(p.s) {
		return "", p.fail("unterminated string")
	}
	raw := p.s[p.i : j+1]
	p.i = j + 1
	if !esc {
		return raw[1 : len(raw)-1], nil
	}
	var v string
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return "", p.fail("invalid string %s", raw)
	}
	return v, nil
}
