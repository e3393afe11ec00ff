package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// lineSource reads lines of any length from a bufio.Reader.
type lineSource struct {
	r    *bufio.Reader
	long []byte
}

// read returns the next line with its newline (none on the last line), or
// io.EOF. The slice is valid until the next call.
func (s *lineSource) read() ([]byte, error) {
	b, err := s.r.ReadSlice('\n')
	if err == nil || len(b) > 0 && errors.Is(err, io.EOF) {
		return b, nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	s.long = append(s.long[:0], b...)
	for {
		b, err = s.r.ReadSlice('\n')
		s.long = append(s.long, b...)
		switch {
		case err == nil, errors.Is(err, io.EOF):
			return s.long, nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, err
		}
	}
}

// yamlSplitter cuts block YAML into the items of its top-level monitors
// sequence, by indentation, without parsing them: an item runs from a line
// "- ..." at the sequence's indentation to the next such line or the first
// line indented less or as much that is not blank or a comment.
type yamlSplitter struct {
	src  lineSource
	line int

	state    int
	d        int // indentation of the sequence's dashes
	buf      []byte
	open     bool // an item is being collected
	start    int  // its offset in buf
	first    int  // its first line
	index    int
	ends     []chunkSpan
	errs     []*Error
	content  bool // a top-level line has been seen
	monitors int  // line of the monitors key, 0 if none yet
	done     bool

	// The top-level maintenance and defaults blocks, and the one being
	// read (in state stBlock).
	maint, defs topBlock
	cur         *topBlock

	limits Limits
	big    bool // the open item is over the size limit: its text is dropped
	null   int  // line of "monitors:" with no list, 0 if none
}

// topBlock is a top-level block beside the monitors list (maintenance,
// defaults): small, so read whole by the YAML library.
type topBlock struct {
	key  string
	line int    // of its key, 0 if none yet
	buf  []byte // its text while it is read
	big  bool   // its text is over the size limit
	node *node  // its value, once read
}

type chunkSpan struct{ start, end, first, index int }

const (
	stTop = iota
	stSkip
	stSeqStart
	stSeq
	stBlock // in a top-level block (s.cur)
)

// topFields are the keys of the document.
var topFields = []string{"monitors", "maintenance", "defaults"}

// topUnknown is the error of an unknown top-level key.
func topUnknown(key string) error {
	if s := suggest(key, topFields); s != "" {
		return fmt.Errorf("unknown field (did you mean %q?)", s)
	}
	return errors.New("unknown field (the file holds a monitors list, a defaults block and a maintenance list)")
}

// errNoMonitors is the error of a file without a monitors list (or with
// monitors: null).
var errNoMonitors = errors.New("missing: the file has no monitors list")

// errDefaultsLate is the error of a defaults block after the monitors.
var errDefaultsLate = errors.New("must come before the monitors list, which is read as a stream")

func newYAMLSplitter(r *bufio.Reader, l Limits) *yamlSplitter {
	return &yamlSplitter{src: lineSource{r: r}, limits: l,
		maint: topBlock{key: "maintenance"}, defs: topBlock{key: "defaults"}}
}

// keep adds a line of the open item, or drops the item's text once it is
// longer than the limit.
func (s *yamlSplitter) keep(raw []byte) {
	if s.big {
		return
	}
	if len(s.buf)-s.start+len(raw) > s.limits.MonitorSize {
		s.big = true
		s.buf = s.buf[:s.start]
		s.errs = append(s.errs, &Error{Index: s.index, Line: s.first, Err: monitorTooLarge(s.limits.MonitorSize)})
		return
	}
	s.buf = append(s.buf, raw...)
}

// keepBlock adds a line of the block being read, or drops the block once
// it is longer than the limit.
func (s *yamlSplitter) keepBlock(raw []byte) {
	b := s.cur
	if b.big {
		return
	}
	if len(b.buf)+len(raw) > s.limits.MonitorSize {
		b.big = true
		s.errs = append(s.errs, blockTooLarge(b.key, b.line, s.limits.MonitorSize))
		b.buf = nil
		return
	}
	b.buf = append(b.buf, raw...)
}

func blockTooLarge(key string, line, max int) *Error {
	return &Error{Index: -1, Field: key, Line: line,
		Err: &limitError{line: line, msg: fmt.Sprintf("the text of the block is longer than the limit of %s", sizeText(int64(max)))}}
}

func (s *yamlSplitter) maintenance() *node { return s.maint.node }
func (s *yamlSplitter) defaults() *node    { return s.defs.node }

// endBlock parses the block read so far with the YAML library; an alias
// of an anchor elsewhere in the document asks for the whole-document path.
func (s *yamlSplitter) endBlock() error {
	b := s.cur
	text := b.buf
	b.buf, s.cur = nil, nil
	s.state = stTop
	if b.big {
		return nil
	}
	var doc yaml.Node
	err := yaml.Unmarshal(text, &doc)
	var n *node
	if err == nil {
		c := converter{a: &arena{limit: s.limits.Values}, off: int32(b.line - 1)}
		n, err = c.convert(&doc, 0)
	} else {
		err = fromLibError(err, b.line)
	}
	if err != nil {
		var se *syntaxError
		var le *limitError
		if errors.As(err, &le) {
			s.errs = append(s.errs, &Error{Index: -1, Field: b.key, Line: le.line, Err: le})
			return nil
		}
		if !errors.As(err, &se) {
			return err
		}
		if strings.HasPrefix(se.msg, "unknown anchor") {
			return errWholeDocument
		}
		s.errs = append(s.errs, &Error{Index: -1, Line: se.line, Err: fmt.Errorf("%w: %s", ErrSyntax, se.msg)})
		return nil
	}
	if n.kind == mapNode && n.first != nil {
		b.node = n.first
	}
	return nil
}

func (s *yamlSplitter) topErrors() []*Error {
	switch {
	case s.monitors == 0:
		s.errs = append(s.errs, &Error{Index: -1, Field: "monitors", Err: errNoMonitors})
	case s.null != 0:
		s.errs = append(s.errs, &Error{Index: -1, Field: "monitors", Line: s.null, Err: errNoMonitors})
	}
	return s.errs
}

func (s *yamlSplitter) closeItem() {
	if s.open {
		if !s.big {
			s.ends = append(s.ends, chunkSpan{start: s.start, end: len(s.buf), first: s.first, index: s.index})
		}
		s.index++
		s.open, s.big = false, false
	}
}

func (s *yamlSplitter) openItem() {
	s.open, s.big, s.start, s.first = true, false, len(s.buf), s.line
}

// cut returns the finished chunks and keeps the open item's text.
func (s *yamlSplitter) cut() []chunk {
	if len(s.ends) == 0 {
		return nil
	}
	last := s.ends[len(s.ends)-1].end
	text := string(s.buf[:last])
	out := make([]chunk, len(s.ends))
	for i, e := range s.ends {
		out[i] = chunk{text: text[e.start:e.end], first: e.first, index: e.index}
	}
	n := copy(s.buf, s.buf[last:])
	s.buf = s.buf[:n]
	if s.open {
		s.start -= last
	}
	s.ends = s.ends[:0]
	return out
}

func (s *yamlSplitter) next(max int) ([]chunk, error) {
	for !s.done && len(s.ends) < max {
		raw, err := s.src.read()
		if errors.Is(err, io.EOF) {
			s.done = true
			s.closeItem()
			if s.state == stSeqStart {
				s.null = s.monitors
			}
			if s.state == stBlock {
				if err := s.endBlock(); err != nil {
					return nil, err
				}
			}
			break
		}
		if err != nil {
			return nil, err
		}
		s.line++
		if err := s.feed(raw); err != nil {
			return nil, err
		}
	}
	return s.cut(), nil
}

// feed classifies one line.
func (s *yamlSplitter) feed(raw []byte) error {
	text := bytes.TrimRight(raw, "\r\n")
	if s.line == 1 {
		text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf"))
	}
	ind := 0
	for ind < len(text) && text[ind] == ' ' {
		ind++
	}
	content := text[ind:]
	blank := len(bytes.TrimLeft(content, " \t")) == 0
	if blank || content[0] == '#' {
		if s.open {
			s.keep(raw)
		}
		if s.state == stBlock && !s.cur.big {
			s.cur.buf = append(s.cur.buf, '\n') // keeps the lines counted
		}
		return nil
	}
	for {
		switch s.state {
		case stTop:
			return s.top(ind, content)
		case stSkip:
			if ind > 0 || isSeqEntry(string(content)) {
				return nil
			}
			s.state = stTop
		case stSeqStart:
			if isSeqEntry(string(content)) {
				s.d, s.state = ind, stSeq
				s.openItem()
				s.keep(raw)
				return nil
			}
			if ind > 0 {
				return errWholeDocument
			}
			s.null = s.monitors // "monitors:" with nothing
			s.state = stTop
		case stSeq:
			switch {
			case ind > s.d, content[0] == '\t':
				// Deeper lines belong to the item, and so do lines indented
				// with a tab, which the item's parser reports.
				s.keep(raw)
				return nil
			case ind == s.d && isSeqEntry(string(content)):
				s.closeItem()
				s.openItem()
				s.keep(raw)
				return nil
			}
			s.closeItem()
			if ind > 0 {
				return errWholeDocument
			}
			s.state = stTop
		case stBlock:
			if ind > 0 || content[0] == '\t' || isSeqEntry(string(content)) {
				// The block's lines, and a list at the key's indentation.
				s.keepBlock(raw)
				return nil
			}
			if err := s.endBlock(); err != nil {
				return err
			}
		}
	}
}

// top handles a line at the top level of the document.
func (s *yamlSplitter) top(ind int, content []byte) error {
	if ind > 0 || content[0] == '\t' {
		return errWholeDocument
	}
	t := stripComment(string(content))
	if !s.content && t == "---" {
		return nil
	}
	s.content = true
	key, _, rest, ok, err := splitKey(t)
	if err != nil || !ok || key == "<<" {
		return errWholeDocument
	}
	if key == "maintenance" || key == "defaults" {
		b := &s.maint
		if key == "defaults" {
			b = &s.defs
		}
		if b.line != 0 {
			return &syntaxError{line: s.line, msg: fmt.Sprintf("mapping key %q already defined at line %d", key, b.line)}
		}
		if key == "defaults" && s.monitors != 0 {
			s.errs = append(s.errs, &Error{Index: -1, Field: key, Line: s.line, Err: errDefaultsLate})
			s.state = stSkip
			return nil
		}
		b.line = s.line
		b.buf = append(append(b.buf[:0], t...), '\n')
		s.cur, s.state = b, stBlock
		return nil
	}
	if key != "monitors" {
		s.errs = append(s.errs, &Error{Index: -1, Field: key, Line: s.line, Err: topUnknown(key)})
		s.state = stSkip
		return nil
	}
	if s.monitors != 0 {
		return &syntaxError{line: s.line, msg: fmt.Sprintf("mapping key %q already defined at line %d", key, s.monitors)}
	}
	s.monitors = s.line
	switch rest {
	case "":
		s.state = stSeqStart
	case "[]":
	case "~", "null", "Null", "NULL":
		s.null = s.line
	default:
		return errWholeDocument
	}
	return nil
}

// jsonSplitter cuts a JSON document into the items of its monitors array,
// tracking nesting and strings but leaving the items' syntax to the parser.
type jsonSplitter struct {
	r        *bufio.Reader
	line     int
	state    int
	buf      []byte
	ends     []chunkSpan
	index    int
	errs     []*Error
	monitors int
	done     bool

	maint, defs topBlock // their node and line
	null        int      // line of "monitors": null, 0 if none

	maxItem int  // Limits.MonitorSize
	values  int  // Limits.Values
	dropped bool // the last value kept was over maxItem and dropped
}

const (
	jsBegin = iota
	jsKey
	jsAfterPair
	jsItems
	jsAfterItem
	jsEnd
)

func (s *jsonSplitter) maintenance() *node { return s.maint.node }
func (s *jsonSplitter) defaults() *node    { return s.defs.node }

func (s *jsonSplitter) topErrors() []*Error {
	switch {
	case s.monitors == 0:
		s.errs = append(s.errs, &Error{Index: -1, Field: "monitors", Err: errNoMonitors})
	case s.null != 0:
		s.errs = append(s.errs, &Error{Index: -1, Field: "monitors", Line: s.null, Err: errNoMonitors})
	}
	return s.errs
}

func (s *jsonSplitter) syntax(format string, args ...any) error {
	return &syntaxError{line: s.line, msg: fmt.Sprintf(format, args...)}
}

// skipSpace returns the next byte that is not white space, unread.
func (s *jsonSplitter) skipSpace() (byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, err
		}
		switch c {
		case '\n':
			s.line++
		case ' ', '\t', '\r':
		default:
			s.r.UnreadByte()
			return c, nil
		}
	}
}

func (s *jsonSplitter) expect(want string) (byte, error) {
	c, err := s.skipSpace()
	if errors.Is(err, io.EOF) {
		return 0, s.syntax("unexpected end of input, want %s", quoteChars(want))
	}
	if err != nil {
		return 0, err
	}
	if !strings.ContainsRune(want, rune(c)) {
		return 0, s.syntax("unexpected %q, want %s", c, quoteChars(want))
	}
	s.r.ReadByte()
	return c, nil
}

// value copies one JSON value into s.buf (when keep) and reports the line it
// started on.
func (s *jsonSplitter) value(keep bool) error {
	c, err := s.skipSpace()
	if errors.Is(err, io.EOF) {
		return s.syntax("unexpected end of input, want a value")
	}
	if err != nil {
		return err
	}
	if c == ',' || c == '}' || c == ']' || c == ':' {
		return s.syntax("unexpected %q, want a value", c)
	}
	mark := len(s.buf)
	s.dropped = false
	depth := 0
	inStr, esc := false, false
	for {
		c, err = s.r.ReadByte()
		if errors.Is(err, io.EOF) {
			if depth == 0 && !inStr {
				return nil
			}
			return s.syntax("unexpected end of input inside a value")
		}
		if err != nil {
			return err
		}
		if !inStr && depth == 0 && (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			s.r.UnreadByte()
			return nil
		}
		if keep {
			if len(s.buf)-mark >= s.maxItem {
				keep, s.dropped = false, true
				s.buf = s.buf[:mark]
			} else {
				s.buf = append(s.buf, c)
			}
		}
		switch {
		case c == '\n':
			s.line++
			if inStr {
				return s.syntax("newline inside a string")
			}
		case inStr && esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case inStr && c == '"':
			inStr = false
			if depth == 0 {
				return nil
			}
		case inStr:
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return nil
			}
			if depth < 0 {
				return s.syntax("unexpected %q", c)
			}
		}
	}
}

// key reads an object key.
func (s *jsonSplitter) key() (string, error) {
	mark := len(s.buf)
	if err := s.value(true); err != nil {
		return "", err
	}
	raw := s.buf[mark:]
	var k string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &k) != nil {
		return "", s.syntax("an object key must be a string")
	}
	s.buf = s.buf[:mark]
	return k, nil
}

func (s *jsonSplitter) next(max int) ([]chunk, error) {
	for !s.done && len(s.ends) < max {
		if err := s.step(); err != nil {
			return nil, err
		}
	}
	if len(s.ends) == 0 {
		return nil, nil
	}
	text := string(s.buf)
	out := make([]chunk, len(s.ends))
	for i, e := range s.ends {
		out[i] = chunk{text: text[e.start:e.end], first: e.first, index: e.index, json: true}
	}
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	return out, nil
}

// block reads the value of the top-level key k (maintenance, defaults),
// whose ':' is read.
func (s *jsonSplitter) block(k string, keyLine int) error {
	b := &s.maint
	if k == "defaults" {
		b = &s.defs
	}
	if b.line != 0 {
		return &syntaxError{line: keyLine, msg: fmt.Sprintf("key %q already defined at line %d", k, b.line)}
	}
	b.line = keyLine
	s.state = jsAfterPair
	s.skipSpace()
	first, mark := s.line, len(s.buf)
	if k == "defaults" && s.monitors != 0 {
		s.errs = append(s.errs, &Error{Index: -1, Field: k, Line: keyLine, Err: errDefaultsLate})
		return s.value(false)
	}
	if err := s.value(true); err != nil {
		return err
	}
	if s.dropped {
		s.errs = append(s.errs, blockTooLarge(k, first, s.maxItem))
		return nil
	}
	text := string(s.buf[mark:])
	s.buf = s.buf[:mark]
	n, err := parseJSONItem(&arena{limit: s.values}, text, first)
	if err != nil {
		var le *limitError
		if errors.As(err, &le) {
			s.errs = append(s.errs, &Error{Index: -1, Field: k, Line: le.line, Err: le})
			return nil
		}
		return err
	}
	n.key, n.keyLine = k, int32(keyLine)
	b.node = n
	return nil
}

func (s *jsonSplitter) step() error {
	switch s.state {
	case jsBegin:
		if _, err := s.expect("{"); err != nil {
			return err
		}
		c, err := s.skipSpace()
		if err == nil && c == '}' {
			s.r.ReadByte()
			s.state = jsEnd
			return nil
		}
		s.state = jsKey
	case jsKey:
		s.skipSpace()
		keyLine := s.line
		k, err := s.key()
		if err != nil {
			return err
		}
		if _, err := s.expect(":"); err != nil {
			return err
		}
		if k == "maintenance" || k == "defaults" {
			return s.block(k, keyLine)
		}
		if k != "monitors" {
			s.errs = append(s.errs, &Error{Index: -1, Field: k, Line: keyLine, Err: topUnknown(k)})
			if err := s.value(false); err != nil {
				return err
			}
			s.state = jsAfterPair
			return nil
		}
		if s.monitors != 0 {
			return &syntaxError{line: keyLine, msg: fmt.Sprintf("key %q already defined at line %d", k, s.monitors)}
		}
		s.monitors = keyLine
		c, err := s.expect("[n")
		if err != nil {
			return err
		}
		if c == 'n' {
			for _, w := range []byte("ull") {
				if b, err := s.r.ReadByte(); err != nil || b != w {
					return s.syntax("invalid literal, want null or a list")
				}
			}
			s.null = keyLine
			s.state = jsAfterPair
			return nil
		}
		c, err = s.skipSpace()
		if err == nil && c == ']' {
			s.r.ReadByte()
			s.state = jsAfterPair
			return nil
		}
		s.state = jsItems
	case jsItems:
		s.skipSpace()
		first, start := s.line, len(s.buf)
		if err := s.value(true); err != nil {
			return err
		}
		if s.dropped {
			s.errs = append(s.errs, &Error{Index: s.index, Line: first, Err: monitorTooLarge(s.maxItem)})
		} else {
			s.ends = append(s.ends, chunkSpan{start: start, end: len(s.buf), first: first, index: s.index})
		}
		s.index++
		s.state = jsAfterItem
	case jsAfterItem:
		c, err := s.expect(",]")
		if err != nil {
			return err
		}
		if c == ',' {
			s.state = jsItems
		} else {
			s.state = jsAfterPair
		}
	case jsAfterPair:
		c, err := s.expect(",}")
		if err != nil {
			return err
		}
		if c == ',' {
			s.state = jsKey
		} else {
			s.state = jsEnd
		}
	case jsEnd:
		if c, err := s.skipSpace(); err == nil {
			return s.syntax("unexpected %q after the document", c)
		} else if !errors.Is(err, io.EOF) {
			return err
		}
		s.done = true
	}
	return nil
}

// loadWhole reads a YAML document whole with the library and builds its
// monitors one after the other.
func loadWhole(o *options, r io.Reader, em *emitter) (*File, error) {
	b := newBuilder(o)
	f := &File{b: b}
	c := collector{o: o, f: f, emit: em}
	if em != nil {
		// The File owns the first read's builder too, whose notifiers the
		// monitors handed over before use; the stream closes both if the
		// file is refused.
		if prev := em.b; prev != nil {
			defer func() {
				b.mu.Lock()
				b.closers = append(b.closers, closerFunc(prev.close))
				b.mu.Unlock()
			}()
		}
		em.b = b
	}
	doc, err := decodeWholeYAML(newLimitReader(r, o.limits.FileSize))
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			return nil, Errors{{Index: -1, Line: se.line, Err: fmt.Errorf("%w: %s", ErrSyntax, se.msg)}}
		}
		return nil, limitErrors(err)
	}
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	for root.Kind == yaml.AliasNode && root.Alias != nil {
		root = root.Alias
	}
	var monitors, maint, defs *yaml.Node
	monitorsLine, maintLine, defsLine := 0, 0, 0
	switch {
	case root.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			switch {
			case k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge":
				c.add(&Error{Index: -1, Line: k.Line, Err: errors.New("a merge key (<<) at the top level is not supported")})
			case k.Value == "defaults":
				switch {
				case defsLine != 0:
					c.add(&Error{Index: -1, Line: k.Line, Err: fmt.Errorf("%w: mapping key %q already defined at line %d", ErrSyntax, k.Value, defsLine)})
				case monitorsLine != 0:
					defsLine = k.Line
					c.add(&Error{Index: -1, Field: k.Value, Line: k.Line, Err: errDefaultsLate})
				default:
					defs, defsLine = v, k.Line
				}
			case k.Value == "maintenance":
				if maintLine != 0 {
					c.add(&Error{Index: -1, Line: k.Line, Err: fmt.Errorf("%w: mapping key %q already defined at line %d", ErrSyntax, k.Value, maintLine)})
				} else {
					maint, maintLine = v, k.Line
				}
			case k.Value != "monitors":
				c.add(&Error{Index: -1, Field: k.Value, Line: k.Line, Err: topUnknown(k.Value)})
			case monitorsLine != 0:
				c.add(&Error{Index: -1, Line: k.Line, Err: fmt.Errorf("%w: mapping key %q already defined at line %d", ErrSyntax, k.Value, monitorsLine)})
			default:
				monitors, monitorsLine = v, k.Line
			}
		}
	case root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null", root.Kind == yaml.DocumentNode:
	default:
		c.add(&Error{Index: -1, Line: root.Line, Err: errors.New("the document must be a mapping with a monitors list")})
	}
	if monitorsLine == 0 {
		c.add(&Error{Index: -1, Field: "monitors", Err: errNoMonitors})
	}
	if defs != nil {
		cv := converter{a: &arena{limit: o.limits.Values}}
		n, err := cv.convert(defs, 0)
		if err != nil {
			e := convertError(-1, err)
			if errors.Is(err, ErrLimit) {
				e.Field = "defaults"
			}
			c.add(e)
		} else {
			n.key, n.keyLine = "defaults", int32(defsLine)
			for _, e := range b.setDefaults(n) {
				c.add(e)
			}
		}
	}
	for monitors != nil && monitors.Kind == yaml.AliasNode && monitors.Alias != nil {
		monitors = monitors.Alias
	}
	if monitors != nil {
		switch {
		case monitors.Kind == yaml.SequenceNode:
			a := &arena{limit: o.limits.Values}
			for i, y := range monitors.Content {
				a.reset()
				bt := &batch{out: make([]built, 1)}
				out := &bt.out[0]
				out.index, out.line = int32(i), int32(y.Line)
				cv := converter{a: a}
				n, err := cv.convert(y, 0)
				if err != nil {
					out.errs = append(out.errs, convertError(i, err))
				} else {
					b.build(a, n, i, out)
				}
				c.take(bt)
			}
		case monitors.Kind == yaml.ScalarNode && monitors.ShortTag() == "!!null":
			c.add(&Error{Index: -1, Field: "monitors", Line: monitorsLine, Err: errNoMonitors})
		default:
			c.add(&Error{Index: -1, Field: "monitors", Line: monitors.Line, Err: errors.New("want a list of monitors")})
		}
	}
	if maint != nil {
		cv := converter{a: &arena{limit: o.limits.Values}}
		n, err := cv.convert(maint, 0)
		if err != nil {
			e := convertError(-1, err)
			if errors.Is(err, ErrLimit) {
				e.Field = "maintenance"
			}
			c.add(e)
		} else {
			n.key, n.keyLine = "maintenance", int32(maintLine)
			c.maintenance(b, n)
		}
	}
	f2, _, err := c.finish()
	return f2, err
}

// convertError is the error of a monitor (index i, -1 for none) the
// converter refused: a syntax error or a limit.
func convertError(i int, err error) *Error {
	var le *limitError
	if errors.As(err, &le) {
		return &Error{Index: i, Line: le.line, Err: le}
	}
	var se *syntaxError
	errors.As(err, &se)
	return &Error{Index: i, Line: se.line, Err: fmt.Errorf("%w: %s", ErrSyntax, se.msg)}
}

// quoteChars writes "ab" as "'a' or 'b'".
func quoteChars(chars string) string {
	parts := make([]string, len(chars))
	for i := range chars {
		parts[i] = strconv.QuoteRune(rune(chars[i]))
	}
	return strings.Join(parts, " or ")
}
