package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// syntaxError is a malformed document (or item) at a line.
type syntaxError struct {
	line int
	msg  string
}

func (e *syntaxError) Error() string { return e.msg }

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// fromLibError turns an error of the YAML library into a syntaxError whose
// line counts from first.
func fromLibError(err error, first int) *syntaxError {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &syntaxError{line: n + first - 1, msg: m[2]}
	}
	return &syntaxError{line: first, msg: strings.TrimPrefix(msg, "yaml: ")}
}

// maxDepth bounds the nesting of one monitor.
const maxDepth = 100

// converter turns the YAML library's nodes into ours. It counts the values
// of a monitor, aliases expanded, against the arena's limit, so that a
// small file cannot make a huge tree.
type converter struct {
	a     *arena
	off   int32 // added to library line numbers
	count int
}

func (c *converter) convert(y *yaml.Node, depth int) (*node, error) {
	c.count++
	if c.count > c.a.maxValues() {
		return nil, tooManyValues(int32(y.Line)+c.off, c.a.maxValues())
	}
	if depth > maxDepth {
		return nil, &syntaxError{line: int(int32(y.Line) + c.off), msg: "document too deeply nested"}
	}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			n := c.a.alloc()
			n.line = int32(y.Line) + c.off
			return n, nil
		}
		return c.convert(y.Content[0], depth+1)
	case yaml.AliasNode:
		if y.Alias == nil {
			return nil, &syntaxError{line: int(int32(y.Line) + c.off), msg: "unknown alias"}
		}
		return c.convert(y.Alias, depth+1)
	}
	n := c.a.alloc()
	n.line = int32(y.Line) + c.off
	switch y.Kind {
	case yaml.ScalarNode:
		if y.ShortTag() == "!!null" {
			return n, nil
		}
		n.kind, n.val = scalarNode, y.Value
		n.quoted = y.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	case yaml.SequenceNode:
		n.kind = seqNode
		for _, e := range y.Content {
			v, err := c.convert(e, depth+1)
			if err != nil {
				return nil, err
			}
			n.add(v)
		}
	case yaml.MappingNode:
		n.kind = mapNode
		var keys keyIndex
		var merges []*yaml.Node
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				merges = append(merges, v)
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, &syntaxError{line: int(int32(k.Line) + c.off), msg: "a mapping key must be a scalar"}
			}
			if prev := keys.find(n, k.Value); prev != nil {
				return nil, &syntaxError{line: int(int32(k.Line) + c.off), msg: fmt.Sprintf("mapping key %q already defined at line %d", k.Value, prev.keyLine)}
			}
			cv, err := c.convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			cv.key, cv.keyLine = k.Value, int32(k.Line)+c.off
			keys.add(n, cv)
		}
		// Merged keys fill in what the mapping does not set itself; among
		// several merged mappings the first wins.
		for _, m := range merges {
			srcs := []*yaml.Node{m}
			if m.Kind == yaml.SequenceNode {
				srcs = m.Content
			}
			for _, s := range srcs {
				sv, err := c.convert(s, depth+1)
				if err != nil {
					return nil, err
				}
				if sv.kind != mapNode {
					return nil, &syntaxError{line: int(sv.line), msg: "a merge key (<<) needs a mapping or a sequence of mappings"}
				}
				for e := sv.first; e != nil; {
					next := e.next
					if keys.find(n, e.key) == nil {
						e.next = nil
						keys.add(n, e)
					}
					e = next
				}
			}
		}
	}
	return n, nil
}

// parseItemLib parses one sequence item with the YAML library: s is the item's
// text, first the number of its first line.
func parseItemLib(a *arena, s string, first int) (*node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		return nil, fromLibError(err, first)
	}
	c := converter{a: a, off: int32(first - 1)}
	seq, err := c.convert(&doc, 0)
	if err != nil {
		return nil, err
	}
	if seq.kind != seqNode || seq.n != 1 {
		return nil, &syntaxError{line: first, msg: "expected one sequence item"}
	}
	return seq.first, nil
}

// decodeWholeYAML reads a whole YAML document with the library. It is the
// path for documents the streaming reader cannot take item by item (anchors
// and aliases, flow style at the top).
func decodeWholeYAML(r io.Reader) (*yaml.Node, error) {
	text, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(text))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.DocumentNode, Line: 1}, nil
		}
		return nil, fromLibError(err, 1)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &syntaxError{line: extra.Line, msg: "a second document in the file (only one is read)"}
	} else if !errors.Is(err, io.EOF) {
		return nil, fromLibError(err, 1)
	}
	return &doc, nil
}
