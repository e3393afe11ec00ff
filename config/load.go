package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/ziad/cpra"
)

// File is a loaded monitors file.
type File struct {
	// Monitors are the enabled monitors, in file order, ready for
	// [cpra.Engine.Add] (or [File.AddTo]).
	Monitors []cpra.Monitor
	// Digests[i] fingerprints the configuration of Monitors[i] as written
	// (mapping keys in any order): a monitor whose digest is unchanged after
	// a reload of the file has the same settings. A program that reloads a
	// file compares digests by name to find the changed monitors.
	Digests []uint64
	// Disabled names the monitors with enabled: false. They were checked
	// like the others and are not in Monitors.
	Disabled []string
	// Maintenance are the maintenances of the top-level maintenance list,
	// in file order, ready for [cpra.Engine.AddMaintenance] (or
	// [File.AddMaintenanceTo]).
	Maintenance []cpra.Maintenance
	// Warnings are problems that did not stop the file from loading, such
	// as an intervention timeout the monitor's timeout overrides.
	Warnings Errors

	pos      []position // file index and line of each monitor, for AddTo
	maintPos []int32    // line of each maintenance
	b        *builder
	closeMu  sync.Mutex
}

type position struct{ index, line int32 }

// Close closes the log files the file's notifiers write to. Call it after
// the engine using the monitors has shut down. It is idempotent.
func (f *File) Close() error {
	f.closeMu.Lock()
	defer f.closeMu.Unlock()
	if f.b == nil {
		return nil
	}
	err := f.b.close()
	f.b = nil
	return err
}

// owner returns what closes the file: its builder, or a builder with
// nothing to close once the file is closed.
func (f *File) owner() *builder {
	f.closeMu.Lock()
	defer f.closeMu.Unlock()
	if f.b == nil {
		return &builder{}
	}
	return f.b
}

// AddTo adds the file to e: first its maintenances, as
// [File.AddMaintenanceTo] does, so that a monitor added inside an open window
// never runs a check there, then its monitors, as [File.AddMonitorsTo] does.
// It returns the monitors' IDs (Monitors[i] got ids[i]); the maintenances
// stay in e for its lifetime. A program that replaces them later (on a
// reload, say) calls AddMaintenanceTo and AddMonitorsTo itself, in that
// order, to keep the maintenance IDs.
//
// Whatever e refuses is reported together as Errors, and the rest is added
// all the same.
func (f *File) AddTo(e *cpra.Engine) ([]cpra.ID, error) {
	_, merr := f.AddMaintenanceTo(e)
	if errors.Is(merr, cpra.ErrClosed) {
		return make([]cpra.ID, len(f.Monitors)), merr
	}
	ids, err := f.AddMonitorsTo(e)
	if errors.Is(err, cpra.ErrClosed) {
		return ids, err
	}
	var errs Errors
	errors.As(merr, &errs)
	if more, ok := err.(Errors); ok {
		errs = append(errs, more...)
	}
	if len(errs) > 0 {
		errs.sort()
		return ids, errs
	}
	return ids, nil
}

// AddMonitorsTo adds every monitor to e, in file order, and returns their
// IDs (Monitors[i] got ids[i]). Monitors e refuses (a name already used by a
// monitor added earlier, say) get the zero ID and are reported together as
// Errors; the rest are added all the same.
func (f *File) AddMonitorsTo(e *cpra.Engine) ([]cpra.ID, error) {
	ids := make([]cpra.ID, len(f.Monitors))
	var errs Errors
	for i := range f.Monitors {
		id, err := e.Add(f.Monitors[i])
		if err != nil {
			if errors.Is(err, cpra.ErrClosed) {
				return ids, err
			}
			errs = append(errs, f.addError(i, err))
			continue
		}
		ids[i] = id
	}
	if len(errs) > 0 {
		return ids, errs
	}
	return ids, nil
}

// addError is the error of Monitors[i], which the engine refused with err.
func (f *File) addError(i int, err error) *Error {
	p := position{index: int32(i), line: 0}
	if i < len(f.pos) {
		p = f.pos[i]
	}
	return refused(f.Monitors[i].Name, int(p.index), int(p.line), err)
}

// refused is the error of the monitor named name, at index and line of its
// file, which the engine refused with err.
func refused(name string, index, line int, err error) *Error {
	var me *cpra.MonitorError
	field := ""
	if errors.As(err, &me) {
		field, err = fileField(me.Field), inFileWords(me)
	}
	return &Error{Index: index, Monitor: name, Field: field, Line: line, Err: err}
}

// AddMaintenanceTo adds the file's maintenances to e with
// [cpra.Engine.AddMaintenance], in file order, and returns their IDs
// (Maintenance[i] got ids[i]), for [cpra.Engine.RemoveMaintenance]. Those e
// refuses get the zero ID and are reported together as Errors.
func (f *File) AddMaintenanceTo(e *cpra.Engine) ([]cpra.MaintenanceID, error) {
	ids := make([]cpra.MaintenanceID, len(f.Maintenance))
	var errs Errors
	for i := range f.Maintenance {
		id, err := e.AddMaintenance(f.Maintenance[i])
		if err != nil {
			if errors.Is(err, cpra.ErrClosed) {
				return ids, err
			}
			line := 0
			if i < len(f.maintPos) {
				line = int(f.maintPos[i])
			}
			errs = append(errs, &Error{Index: -1, Field: fmt.Sprintf("maintenance[%d]", i), Line: line, Err: cause(err, errMaintenancePrefix)})
			continue
		}
		ids[i] = id
	}
	if len(errs) > 0 {
		return ids, errs
	}
	return ids, nil
}

// errMaintenancePrefix is the prefix of the engine's maintenance errors,
// which the field of an Error says already.
var errMaintenancePrefix = errors.New("maintenance")

// LoadFile loads the monitors file at path: JSON when its first character is
// "{", YAML otherwise. See Load.
func LoadFile(path string, opts ...Option) (*File, error) {
	fh, err := openFile(path, opts)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return Load(fh, opts...)
}

// Load reads a monitors file from r and builds its monitors. The input is
// JSON when its first non-blank character is "{", YAML otherwise; both follow
// the schema in the package documentation.
//
// Every problem of the file is reported at once, as [Errors] sorted by line,
// and then no File is returned. Load reads the input as a stream, one monitor
// at a time, except for YAML that uses anchors and aliases or flow style at
// the top level: such a document is read whole, which needs r to be an
// io.Seeker (files, strings.Reader and bytes.Reader are).
func Load(r io.Reader, opts ...Option) (*File, error) {
	return loadStream(r, newOptions(opts), nil)
}

// Streamed is one monitor of a file read by [Stream].
type Streamed struct {
	// Monitor is ready for [cpra.Engine.Add].
	Monitor cpra.Monitor
	// Digest fingerprints its configuration, as [File.Digests] does.
	Digest uint64
	// Index is its position in the file's monitors list, disabled
	// monitors included; Line is the line where it starts.
	Index, Line int
}

// Stream reads a monitors file from r as [Load] does, without keeping its
// monitors: it hands each enabled monitor to fn, in file order, as soon as
// it is built, and returns a File with no Monitors or Digests (its
// Disabled, Maintenance and Warnings are set). A program that adds a large
// file to an engine this way holds the monitors being read (and the names
// seen, to find duplicates) rather than the whole file beside the engine;
// [Syncer.SyncFile] does.
//
// fn sees the monitors before the end of the file is read, and stops
// seeing them once a problem is found: when Stream returns an error, the
// file is refused as Load refuses it, no File is returned, and what fn did
// with the monitors it saw is for the caller to undo. The *Streamed is
// valid during the call only; fn copies what it keeps. fn runs on the
// goroutine that called Stream, one monitor at a time.
//
// The returned File still owns the files its monitors' notifiers write
// to: call [File.Close] when the engine using the monitors has shut down.
func Stream(r io.Reader, fn func(*Streamed), opts ...Option) (*File, error) {
	return loadStream(r, newOptions(opts), &emitter{fn: fn})
}

// StreamFile is [Stream] for the file at path, with [LoadFile]'s check of
// its size.
func StreamFile(path string, fn func(*Streamed), opts ...Option) (*File, error) {
	fh, err := openFile(path, opts)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return Stream(fh, fn, opts...)
}

// openFile opens path for LoadFile and StreamFile, refusing a regular file
// above the size limit.
func openFile(path string, opts []Option) (*os.File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if fi, err := fh.Stat(); err == nil && fi.Mode().IsRegular() {
		if max := newOptions(opts).limits.FileSize; fi.Size() > max {
			fh.Close()
			return nil, Errors{{Index: -1, Err: fileTooLarge(0, max)}}
		}
	}
	return fh, nil
}

// emitter hands the monitors of a stream to its function.
type emitter struct {
	fn   func(*Streamed)
	s    Streamed
	sent int // monitors handed to fn
	// skip is the number of monitors a read started again from the top
	// (the whole-document path) passes over: fn has had them.
	skip int
	// b is the builder of the first read, whose notifiers the monitors
	// handed over use; the File returned owns it.
	b *builder
	// labels are the distinct label sets of the monitors handed over, for
	// the maintenances' selectors (the builder shares equal sets).
	labels     []map[string]string
	seen       map[uintptr]bool
	last       uintptr // the set of the monitor handed over last
	unlabelled bool    // a monitor without labels was handed over
}

func (em *emitter) emit(r *built) {
	if em.skip > 0 {
		em.skip--
		return
	}
	switch l := r.m.Labels; {
	case l == nil && !em.unlabelled:
		em.unlabelled = true
		em.labels = append(em.labels, nil)
	case l != nil:
		// Monitors in a row mostly share their labels: the map is looked
		// up only when the set changes.
		if p := reflect.ValueOf(l).Pointer(); p != em.last {
			em.last = p
			if !em.seen[p] {
				if em.seen == nil {
					em.seen = make(map[uintptr]bool)
				}
				em.seen[p] = true
				em.labels = append(em.labels, l)
			}
		}
	}
	em.s = Streamed{Monitor: r.m, Digest: r.digest, Index: int(r.index), Line: int(r.line)}
	em.sent++
	em.fn(&em.s)
	em.s = Streamed{}
}

// loadStream reads a file; em, when set, streams its monitors.
func loadStream(r io.Reader, o *options, em *emitter) (f *File, err error) {
	if em != nil {
		// The builders of a stream are closed here on failure: the monitors
		// handed over use their notifiers until the read is over.
		defer func() {
			if err != nil && em.b != nil {
				em.b.close()
			}
		}()
	}
	var start int64
	seeker, _ := r.(io.Seeker)
	if seeker != nil {
		if s, err := seeker.Seek(0, io.SeekCurrent); err == nil {
			start = s
		} else {
			seeker = nil
		}
	}
	br := bufio.NewReaderSize(newLimitReader(r, o.limits.FileSize), 256<<10)
	isJSON, err := sniffJSON(br)
	if err != nil {
		return nil, limitErrors(err)
	}
	var split splitter
	if isJSON {
		split = &jsonSplitter{r: br, line: 1, maxItem: o.limits.MonitorSize, values: o.limits.Values}
	} else {
		split = newYAMLSplitter(br, o.limits)
	}
	f, whole, err := run(o, split, em)
	if isJSON && seeker != nil && topSyntaxError(err) {
		// Perhaps YAML in flow style ({monitors: [...]}) rather than JSON.
		if _, serr := seeker.Seek(start, io.SeekStart); serr == nil {
			if fy, yerr := loadWhole(o, r, em.again()); yerr == nil {
				return fy, nil
			}
		}
		return nil, err
	}
	if !whole {
		return f, err
	}
	if seeker == nil {
		return nil, Errors{{Index: -1, Line: whole2line(err), Err: errors.New("this YAML (anchors, aliases or flow style at the top) is read as a whole document, which needs a seekable input such as a file")}}
	}
	if _, err := seeker.Seek(start, io.SeekStart); err != nil {
		return nil, err
	}
	return loadWhole(o, r, em.again())
}

// again prepares em for a read of the input from the top: the monitors
// handed over already are passed over. Nil stays nil.
func (em *emitter) again() *emitter {
	if em != nil {
		em.skip = em.sent
	}
	return em
}

// limitErrors turns a limit error into Errors.
func limitErrors(err error) error {
	var le *limitError
	if errors.As(err, &le) {
		return Errors{{Index: -1, Line: le.line, Err: le}}
	}
	return err
}

// topSyntaxError reports whether err holds a syntax error outside any
// monitor.
func topSyntaxError(err error) bool {
	var es Errors
	if !errors.As(err, &es) {
		return false
	}
	for _, e := range es {
		if e.Index == -1 && errors.Is(e, ErrSyntax) {
			return true
		}
	}
	return false
}

func whole2line(err error) int {
	var se *syntaxError
	if errors.As(err, &se) {
		return se.line
	}
	return 0
}

// sniffJSON reports whether the input starts with "{" (after a byte order
// mark and blanks).
func sniffJSON(br *bufio.Reader) (bool, error) {
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull) {
				return false, nil
			}
			return false, err
		}
		switch b[i-1] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true, nil
		}
		return false, nil
	}
}

// chunk is the text of one monitor, cut from the input by a splitter.
type chunk struct {
	text  string
	first int // line number of its first line
	index int // position in the monitors list
	json  bool
}

// batch is a run of chunks handed to a worker, and its results.
type batch struct {
	chunks []chunk
	out    []built
	done   chan struct{}
}

// splitter cuts the input into monitors. next returns the next batch of at
// most max chunks, nil at the end; top-level problems (unknown fields) go to
// errs. A returned error other than a *syntaxError is an I/O error; a
// *syntaxError ends the input; errWholeDocument asks for the whole-document
// path.
type splitter interface {
	next(max int) ([]chunk, error)
	topErrors() []*Error
	// maintenance returns the top-level maintenance list, a tree of its
	// own (nil when the file has none); call it after next returned nil.
	maintenance() *node
	// defaults returns the top-level defaults block, a tree of its own,
	// once read (before the first monitor), or nil.
	defaults() *node
}

const batchSize = 256

// run splits, parses and builds in parallel, keeping file order.
func run(o *options, split splitter, em *emitter) (f *File, whole bool, err error) {
	b := newBuilder(o)
	f = &File{b: b}
	// close closes b unless the monitors of a stream use it: then the
	// stream closes it if the read fails.
	release := b.close
	if em != nil {
		em.b = b
		release = func() error { return nil }
	}
	work := make(chan *batch, o.workers*2)
	order := make(chan *batch, o.workers*4)
	quit := make(chan struct{})
	var splitErr error
	var defErrs []*Error
	defsSet := false
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(work)
		defer close(order)
		for {
			cs, err := split.next(batchSize)
			if d := split.defaults(); d != nil && !defsSet {
				defsSet = true
				// The block comes before the monitors: it is set before
				// any worker builds one.
				defErrs = b.setDefaults(d)
			}
			if err != nil {
				splitErr = err
				return
			}
			if cs == nil {
				return
			}
			bt := &batch{chunks: cs, done: make(chan struct{})}
			select {
			case order <- bt:
			case <-quit:
				return
			}
			select {
			case work <- bt:
			case <-quit:
				return
			}
		}
	})
	for range o.workers {
		wg.Go(func() {
			var w worker
			w.a = &arena{limit: o.limits.Values}
			w.libraryOnly = o.libraryOnly
			w.p.a = w.a
			for bt := range work {
				bt.out = make([]built, len(bt.chunks))
				for i := range bt.chunks {
					w.do(b, &bt.chunks[i], &bt.out[i])
				}
				close(bt.done)
			}
		})
	}

	c := collector{o: o, f: f, emit: em}
	for bt := range order {
		<-bt.done
		if c.take(bt) {
			whole = true
			close(quit)
			for range order { // let the splitter finish
			}
			break
		}
	}
	wg.Wait()
	if whole {
		release()
		return nil, true, nil
	}
	if splitErr != nil {
		if errors.Is(splitErr, errWholeDocument) {
			release()
			return nil, true, splitErr
		}
		var se *syntaxError
		var le *limitError
		switch {
		case errors.As(splitErr, &le):
			c.add(&Error{Index: -1, Line: le.line, Err: le})
		case errors.As(splitErr, &se):
			c.add(&Error{Index: -1, Line: se.line, Err: fmt.Errorf("%w: %s", ErrSyntax, se.msg)})
		default:
			release()
			return nil, false, splitErr
		}
	}
	for _, e := range defErrs {
		c.add(e)
	}
	for _, e := range split.topErrors() {
		c.add(e)
	}
	if n := split.maintenance(); n != nil {
		c.maintenance(b, n)
	}
	return c.finish()
}

// worker parses and builds chunks; each has its own arena and parser.
type worker struct {
	a           *arena
	p           blockParser
	libraryOnly bool
}

func (w *worker) do(b *builder, c *chunk, out *built) {
	w.a.reset()
	out.index, out.line = int32(c.index), int32(c.first)
	var n *node
	var err error
	if c.json {
		n, err = parseJSONItem(w.a, c.text, c.first)
	} else {
		err = errUnsupported
		if !w.libraryOnly {
			n, err = w.p.parseItem(c.text, c.first)
		}
		if errors.Is(err, errUnsupported) {
			w.a.reset()
			n, err = parseItemLib(w.a, c.text, c.first)
			var se *syntaxError
			if errors.As(err, &se) && strings.HasPrefix(se.msg, "unknown anchor") {
				// An alias of an anchor in another monitor or at the top.
				err = errWholeDocument
			}
		}
	}
	if err != nil {
		if errors.Is(err, errWholeDocument) {
			out.whole = true
			return
		}
		var le *limitError
		if errors.As(err, &le) {
			out.errs = append(out.errs, &Error{Index: c.index, Line: le.line, Err: le})
			return
		}
		var se *syntaxError
		if errors.As(err, &se) {
			out.errs = append(out.errs, &Error{Index: c.index, Line: se.line, Err: fmt.Errorf("%w: %s", ErrSyntax, se.msg)})
			return
		}
		out.errs = append(out.errs, &Error{Index: c.index, Line: c.first, Err: err})
		return
	}
	b.build(w.a, n, c.index, out)
}

// collector gathers built monitors in file order.
type collector struct {
	o        *options
	f        *File
	names    nameSet
	errs     Errors
	nerrs    int
	count    int
	lastTell int
	deps     []depEntry      // the monitors with depends_on
	disabled map[string]bool // the names of disabled monitors
	emit     *emitter        // set for a stream
}

// depEntry is a monitor with parents, for the checks of the file as a
// whole.
type depEntry struct {
	name    string
	index   int32
	line    int32 // of depends_on
	enabled bool
	parents []cpra.Ref
}

func (c *collector) add(e *Error) {
	c.nerrs++
	if len(c.errs) < c.o.maxErrors {
		c.errs = append(c.errs, e)
	}
}

// take adds a batch; true when it needs the whole-document path.
func (c *collector) take(bt *batch) bool {
	f := c.f
	c.names.warm(bt.out)
	for i := range bt.out {
		r := &bt.out[i]
		if r.whole {
			return true
		}
		c.count++
		for _, e := range r.errs {
			c.add(e)
		}
		if len(r.warns) > 0 && len(f.Warnings) < c.o.maxErrors {
			f.Warnings = append(f.Warnings, r.warns...)
		}
		if name := r.m.Name; name != "" {
			if prev, dup := c.names.add(name, r.nameHash, position{index: r.index, line: r.nameLine}); dup {
				c.add(&Error{Index: int(r.index), Monitor: name, Field: "name", Line: int(r.nameLine),
					Err: fmt.Errorf("already used by monitors[%d] at line %d", prev.index, prev.line)})
			}
		}
		if len(r.m.DependsOn) > 0 {
			c.deps = append(c.deps, depEntry{name: r.m.Name, index: r.index, line: r.depLine, enabled: r.enabled, parents: r.m.DependsOn})
		}
		if !r.enabled && r.m.Name != "" {
			if c.disabled == nil {
				c.disabled = make(map[string]bool)
			}
			c.disabled[r.m.Name] = true
		}
		if c.nerrs > 0 {
			continue // the file will not load; keep only the errors
		}
		if !r.enabled {
			f.Disabled = append(f.Disabled, r.m.Name)
			continue
		}
		if c.emit != nil {
			c.emit.emit(r)
			continue
		}
		f.Monitors = append(f.Monitors, r.m)
		f.Digests = append(f.Digests, r.digest)
		f.pos = append(f.pos, position{index: r.index, line: r.line})
	}
	if c.nerrs > 0 && f.Monitors != nil {
		f.Monitors, f.Digests, f.pos, f.Disabled = nil, nil, nil, nil
	}
	if c.o.progress != nil && c.count-c.lastTell >= 10_000 {
		c.lastTell = c.count
		c.o.progress(Progress{Monitors: c.count, Errors: c.nerrs})
	}
	return false
}

// maintenance builds the top-level maintenance list n.
func (c *collector) maintenance(b *builder, n *node) {
	var out built
	ms, lines := b.topMaintenance(n, &out)
	for _, e := range out.errs {
		c.add(e)
	}
	c.f.Maintenance, c.f.maintPos = ms, lines
}

// warn records a problem that does not stop the file from loading.
func (c *collector) warn(e *Error) {
	if len(c.f.Warnings) < c.o.maxErrors {
		c.f.Warnings = append(c.f.Warnings, e)
	}
}

// checkDeps checks the dependencies between the monitors of the file: a
// parent that is not in the file, or disabled, is a warning (the program
// may add it otherwise); a cycle is an error, reported at the monitor whose
// addition would close it, as the engine would refuse it.
func (c *collector) checkDeps() {
	if len(c.deps) == 0 {
		return
	}
	byName := make(map[string]int, len(c.deps))
	for i, d := range c.deps {
		if d.enabled {
			byName[d.name] = i
		}
	}
	for _, d := range c.deps {
		if !d.enabled {
			continue
		}
		for _, p := range d.parents {
			switch {
			case p.Name == d.name:
				// Refused by cpra.Monitor.Validate.
			case c.disabled[p.Name]:
				c.warn(&Error{Index: int(d.index), Monitor: d.name, Field: "depends_on", Line: int(d.line),
					Err: fmt.Errorf("%q is disabled: this monitor waits for a monitor of that name to be added", p.Name)})
			case !c.known(p.Name) && c.o.strictDeps:
				c.add(&Error{Index: int(d.index), Monitor: d.name, Field: "depends_on", Line: int(d.line),
					Err: fmt.Errorf("no monitor %q in the file", p.Name)})
			case !c.known(p.Name):
				c.warn(&Error{Index: int(d.index), Monitor: d.name, Field: "depends_on", Line: int(d.line),
					Err: fmt.Errorf("no monitor %q in the file: this monitor waits for a monitor of that name to be added", p.Name)})
			}
		}
	}
	// Depth-first search along the parents, without recursion: a chain of
	// dependencies may be as long as the file.
	const (
		white = iota
		grey  // on the stack
		black // done
	)
	state := make([]uint8, len(c.deps))
	var stack []depFrame
	for s := range c.deps {
		if state[s] != white || !c.deps[s].enabled {
			continue
		}
		state[s] = grey
		stack = append(stack[:0], depFrame{v: s})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			d := &c.deps[top.v]
			if top.next == len(d.parents) {
				state[top.v] = black
				stack = stack[:len(stack)-1]
				continue
			}
			p := d.parents[top.next].Name
			top.next++
			w, ok := byName[p]
			if !ok || p == d.name {
				continue
			}
			switch state[w] {
			case white:
				state[w] = grey
				stack = append(stack, depFrame{v: w})
			case grey:
				k := len(stack) - 1
				for stack[k].v != w {
					k--
				}
				c.cycle(stack[k:])
			}
		}
	}
}

// depFrame is a monitor on the stack of checkDeps: its index in deps and
// the next parent to follow.
type depFrame struct{ v, next int }

// cycle reports the dependency cycle through the monitors of the frames.
func (c *collector) cycle(frames []depFrame) {
	// The engine, adding the monitors in file order, refuses the last
	// monitor of the cycle to be added: start the path there.
	last := 0
	for i, fr := range frames {
		if c.deps[fr.v].index > c.deps[frames[last].v].index {
			last = i
		}
	}
	path := make([]string, 0, len(frames)+1)
	for i := range frames {
		path = append(path, c.deps[frames[(last+i)%len(frames)].v].name)
	}
	path = append(path, path[0])
	d := c.deps[frames[last].v]
	c.add(&Error{Index: int(d.index), Monitor: d.name, Field: "depends_on", Line: int(d.line),
		Err: fmt.Errorf("dependency cycle: %s", strings.Join(path, " -> "))})
}

func (c *collector) known(name string) bool {
	return c.names.has(name)
}

// checkSelectors warns of top-level maintenances that select no monitor of
// the file.
func (c *collector) checkSelectors() {
	for i, m := range c.f.Maintenance {
		found := false
		for j := range c.f.Monitors {
			if selects(m.Selector, c.f.Monitors[j].Labels) {
				found = true
				break
			}
		}
		if c.emit != nil {
			for _, l := range c.emit.labels {
				if selects(m.Selector, l) {
					found = true
					break
				}
			}
		}
		if !found {
			line := 0
			if i < len(c.f.maintPos) {
				line = int(c.f.maintPos[i])
			}
			c.warn(&Error{Index: -1, Field: fmt.Sprintf("maintenance[%d].selector", i), Line: line,
				Err: errors.New("selects no monitor of the file")})
		}
	}
}

func selects(sel, labels map[string]string) bool {
	for k, v := range sel {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (c *collector) finish() (*File, bool, error) {
	c.checkDeps()
	if c.nerrs == 0 {
		c.checkSelectors()
	}
	if c.o.progress != nil {
		c.o.progress(Progress{Monitors: c.count, Errors: c.nerrs, Done: true})
	}
	if c.nerrs > 0 {
		if c.emit == nil {
			c.f.b.close()
		}
		c.errs.sort()
		if c.nerrs > len(c.errs) {
			c.errs = append(c.errs, &Error{Index: -1, Err: fmt.Errorf("and %d more errors", c.nerrs-len(c.errs))})
		}
		return nil, false, c.errs
	}
	c.f.Warnings.sort()
	f := c.f
	f.Monitors = slices.Clip(f.Monitors)
	return f, false, nil
}
