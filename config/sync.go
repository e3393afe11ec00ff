package config

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/internal/offheap"
)

// Syncer keeps what an engine runs equal to a monitors file that changes,
// for programs that reload their file: each [Syncer.Sync] adds the
// monitors new in the file, removes those gone from it (or disabled),
// updates in place those whose settings changed (by [File.Digests];
// [cpra.Engine.Update]), which keep their state, so an outage that spans a
// reload is one episode with one red, and leaves the others running
// untouched. The file's maintenances
// replace those of the previous file, the new ones added before the old
// ones are removed, so that a monitor inside a window both files hold stays
// inside it.
//
// A Syncer only touches the monitors and maintenances it added; a monitor
// it added that the program removes or updates itself is no longer its
// own, and a later file that holds the name adds it again (or reports the
// name taken). Its methods may be called from several goroutines.
type Syncer struct {
	e *cpra.Engine

	mu sync.Mutex
	// The running monitors, in the order of their IDs, as two lists: 16
	// bytes a monitor, where a list of names would take 40 and a map by
	// name about 100 at a million. Their names are the engine's: its index
	// finds the ID of a name ([cpra.Engine.LookupAll]), and the list the
	// ID. A mark is the low 48 bits of the monitor's digest and, in the
	// top 16, the place in table of the file that added it.
	// Both lists are outside the Go heap once large (internal/offheap):
	// the collector's doubling of the heap would make their 16 bytes 32.
	ids   offheap.List[cpra.ID]
	marks offheap.List[uint64]
	// table counts the running monitors of each file; a file none uses
	// any more is closed (its log files with it). Only what closes a file
	// is kept, not the file: its monitors are in the engine, and a program
	// that reloads should not hold every monitor twice.
	table  fileTable
	maints []cpra.MaintenanceID
}

// running is a monitor the engine runs for a Syncer.
type running struct {
	id     cpra.ID
	digest uint64
	file   uint16 // its file's place in the table
}

// Changes says what one [Syncer.Sync] did.
type Changes struct {
	Added     int // monitors new in the file, added
	Replaced  int // monitors whose settings changed, updated in place with their state
	Removed   int // monitors no longer in the file (or disabled), removed
	Unchanged int // monitors left running as they were
	Failed    int // monitors the engine refused (see the error of Sync)
	// Maintenance is the number of the file's maintenances the engine now
	// holds.
	Maintenance int
}

// NewSyncer returns a Syncer for e, which runs nothing of a file yet.
func NewSyncer(e *cpra.Engine) *Syncer {
	return &Syncer{e: e}
}

// Sync makes e run f, as the type's documentation says, and takes f over:
// f is closed once no monitor of the engine uses it (the first Sync of a
// Syncer adds everything; later ones keep the notifiers of unchanged
// monitors, which belong to the file that added them). Pass each File to
// one Sync only.
//
// What e refuses (a monitor whose name is taken by a monitor the program
// added otherwise, say) is reported as Errors, each naming the monitor and
// its line, and the rest is applied all the same; a monitor it refuses no
// longer runs. Sync returns cpra.ErrClosed, having changed nothing more,
// once e is shut down.
func (s *Syncer) Sync(f *File) (Changes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d diff
	d.start(s)
	stage := func(it incoming, at int, prev running) bool {
		d.staged = append(d.staged, pending{m: it.m, digest: it.digest, index: it.index, line: it.line, prev: prev, at: at})
		return true
	}
	for i := range f.Monitors {
		p := position{index: int32(i)}
		if i < len(f.pos) {
			p = f.pos[i]
		}
		d.feed(s, incoming{m: &f.Monitors[i], digest: f.Digests[i], index: p.index, line: p.line}, stage)
	}
	d.flush(s, stage)
	fb := f.owner()
	return s.apply(f, s.table.open(fb), fb, &d)
}

// SyncFile is [Syncer.Sync] for the monitors file at path, read as a
// stream (see [Stream]): the Syncer holds no more than the monitors that
// change, instead of the whole file beside the engine. Into an engine not
// yet started (see [cpra.Engine.Started]) the monitors new to the Syncer go
// in as they are read, which is how a program loads a large file at
// start; in a running engine they wait, as changed monitors do, until the
// whole file has been read and found good.
//
// A file with problems is refused as [LoadFile] refuses it: f is nil, err
// holds its problems, and the engine runs what it ran before (monitors
// added while it was read are removed again). Otherwise f is the file
// without its monitors (its Disabled, Maintenance and Warnings are set;
// the Syncer owns it and closes it, as Sync does), and err reports what e
// refused, as Sync does.
func (s *Syncer) SyncFile(path string, opts ...Option) (f *File, ch Changes, err error) {
	fh, err := openFile(path, opts)
	if err != nil {
		return nil, Changes{}, err
	}
	defer fh.Close()
	return s.SyncReader(fh, opts...)
}

// SyncReader is [Syncer.SyncFile] for a file read from r.
func (s *Syncer) SyncReader(r io.Reader, opts ...Option) (f *File, ch Changes, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d diff
	d.start(s)
	direct := !s.e.Started()
	// Monitors new to the Syncer, added as read, go after the list's
	// sorted part, which flush searches.
	var closed bool
	handle := func(it incoming, at int, prev running) bool {
		if at >= 0 || !direct {
			m := *it.m
			d.staged = append(d.staged, pending{m: &m, digest: it.digest, index: it.index, line: it.line, prev: prev, at: at})
			return true
		}
		id, err := s.e.Add(*it.m)
		if err != nil {
			if errors.Is(err, cpra.ErrClosed) {
				closed = true
				return false
			}
			d.ch.Failed++
			d.errs = append(d.errs, refused(it.m.Name, int(it.index), int(it.line), err))
			return true
		}
		s.push(running{id: id, digest: it.digest})
		d.ch.Added++
		return true
	}
	f, err = Stream(r, func(st *Streamed) {
		if !closed {
			d.feed(s, incoming{m: &st.Monitor, digest: st.Digest, index: int32(st.Index), line: int32(st.Line), borrowed: true}, handle)
		}
	}, opts...)
	if err != nil {
		// Refused: the monitors added while it was read leave again.
		for _, id := range s.ids.S[d.base:] {
			s.e.Remove(id)
		}
		s.truncate(d.base)
		return nil, Changes{}, err
	}
	if !closed {
		d.flush(s, handle)
	}
	fb := f.owner()
	k := s.table.open(fb)
	if added := s.marks.S[d.base:]; len(added) > 0 {
		for i := range added {
			added[i] = mark(added[i], k)
		}
		s.table.hold(k, len(added))
	}
	if closed {
		s.sort()
		s.adopt(k, fb)
		return f, d.ch, cpra.ErrClosed
	}
	ch, err = s.apply(f, k, fb, &d)
	return f, ch, err
}

// diff is what a file changes in the monitors a Syncer runs.
type diff struct {
	// state says, for each running monitor (by its place in the list),
	// whether the file holds it unchanged, changed, or not at all.
	state  []uint8
	staged []pending // changed monitors, and new ones not added yet, in file order
	// base is the length of the Syncer's list before the file: the new
	// monitors added already follow it.
	base int
	ch   Changes
	errs Errors

	// batch holds the monitors of the file fed but not yet looked up in
	// the engine, which looks up a batch of names at a time; held copies
	// those of a stream, valid during their call only.
	batch []incoming
	held  []cpra.Monitor
	names []string
	ids   []cpra.ID
}

// incoming is a monitor of the file: m, or a copy of it in the batch when
// borrowed.
type incoming struct {
	m           *cpra.Monitor
	digest      uint64
	index, line int32
	borrowed    bool
}

// lookupBatch is the number of names a diff looks up in the engine at a
// time.
const lookupBatch = 512

const (
	gone uint8 = iota
	same
	changed
)

// pending is a monitor of the file to update (at >= 0: the place of the
// running monitor prev it changes) or to add (at < 0).
type pending struct {
	m           *cpra.Monitor
	digest      uint64
	index, line int32
	prev        running
	at          int
}

func (d *diff) start(s *Syncer) {
	d.base = len(s.ids.S)
	d.state = make([]uint8, d.base)
}

// feed classifies it, now or with the next batch, and hands it to handle
// unless it runs unchanged: with at < 0 when it is new, else with the
// place and the running monitor it changes, which returns false to stop
// there: the rest of the batch is dropped. A Syncer that runs nothing yet
// has nothing to look up.
func (d *diff) feed(s *Syncer, it incoming, handle func(it incoming, at int, prev running) bool) {
	if d.base == 0 {
		handle(it, -1, running{})
		return
	}
	if d.batch == nil {
		d.batch = make([]incoming, 0, lookupBatch)
		d.held = make([]cpra.Monitor, 0, lookupBatch)
		d.names = make([]string, 0, lookupBatch)
		d.ids = make([]cpra.ID, 0, lookupBatch)
	}
	if it.borrowed {
		d.held = append(d.held, *it.m)
		it.m = &d.held[len(d.held)-1]
	}
	d.batch = append(d.batch, it)
	d.names = append(d.names, it.m.Name)
	if len(d.batch) == lookupBatch {
		d.flush(s, handle)
	}
}

// flush classifies the batch.
func (d *diff) flush(s *Syncer, handle func(it incoming, at int, prev running) bool) {
	if len(d.batch) == 0 {
		return
	}
	d.ids = s.e.LookupAll(d.names, d.ids[:0])
	for j := range d.batch {
		it := &d.batch[j]
		i, ok := -1, false
		if id := d.ids[j]; !id.IsZero() {
			i, ok = s.findIn(d.base, id)
		}
		goOn := true
		switch {
		case !ok:
			goOn = handle(*it, -1, running{})
		case s.marks.S[i]&digestBits == it.digest&digestBits:
			d.state[i] = same
			d.ch.Unchanged++
		default:
			d.state[i] = changed
			goOn = handle(*it, i, s.at(i))
		}
		if !goOn {
			break
		}
	}
	clear(d.batch)
	clear(d.held)
	clear(d.names)
	d.batch, d.held, d.names = d.batch[:0], d.held[:0], d.names[:0]
}

// apply makes e run f given d: the file's maintenances first, then the
// monitors gone leave, the changed ones are updated in place (keeping their
// state: an open episode goes on, with no second red) and the new ones not
// added yet are added. fb is what closes f, at the place fk of the table.
func (s *Syncer) apply(f *File, fk uint16, fb *builder, d *diff) (Changes, error) {
	ch, errs := d.ch, d.errs
	// The list is sorted again when apply returns, whichever way.
	defer s.sort()
	mids, err := f.AddMaintenanceTo(s.e)
	if errors.Is(err, cpra.ErrClosed) {
		s.adopt(fk, fb)
		return ch, err
	}
	var merrs Errors
	if errors.As(err, &merrs) {
		errs = append(errs, merrs...)
	}
	for _, id := range s.maints {
		if err := s.e.RemoveMaintenance(id); err != nil && !errors.Is(err, cpra.ErrNotFound) {
			if errors.Is(err, cpra.ErrClosed) {
				s.adopt(fk, fb)
				return ch, err
			}
			errs = append(errs, &Error{Index: -1, Field: "maintenance", Err: fmt.Errorf("removing the previous file's maintenance %v: %w", id, err)})
		}
	}
	s.maints = s.maints[:0]
	for _, id := range mids {
		if id != 0 {
			s.maints = append(s.maints, id)
		}
	}
	ch.Maintenance = len(s.maints)

	// Monitors gone leave first. Unchanged ones stay in the list,
	// compacted in place; changed ones are taken out and put back once
	// updated.
	kept := 0
	for k := 0; k < d.base; k++ {
		switch d.state[k] {
		case same:
			s.ids.S[kept], s.marks.S[kept] = s.ids.S[k], s.marks.S[k]
			kept++
			continue
		case changed:
			continue
		}
		id := s.ids.S[k]
		if err := s.e.Remove(id); err != nil && !errors.Is(err, cpra.ErrNotFound) {
			if errors.Is(err, cpra.ErrClosed) {
				s.cut(kept, k)
				s.restore(d.staged, k)
				s.adopt(fk, fb)
				return ch, err
			}
			errs = append(errs, &Error{Index: -1, Monitor: s.nameOf(id), Err: fmt.Errorf("removing the running monitor: %w", err)})
		}
		s.table.release(fileOf(s.marks.S[k]))
		ch.Removed++
	}
	s.cut(kept, d.base)
	if len(s.ids.S) == 0 {
		// Sized for the file at once: a large fleet's list does not grow
		// by doubling and keep the slack.
		s.ids.Grow(len(d.staged))
		s.marks.Grow(len(d.staged))
	}
	for j := range d.staged {
		p := &d.staged[j]
		replaced := false
		if p.at >= 0 {
			id, err := s.e.Update(p.prev.id, *p.m)
			switch {
			case err == nil:
				s.push(running{id: id, digest: p.digest, file: fk})
				s.table.hold(fk, 1)
				s.table.release(p.prev.file)
				ch.Replaced++
				continue
			case errors.Is(err, cpra.ErrClosed):
				s.push(p.prev)
				s.restore(d.staged[j+1:], d.base)
				s.adopt(fk, fb)
				return ch, err
			case !errors.Is(err, cpra.ErrNotFound):
				// Refused: the monitor runs on as it was.
				s.push(p.prev)
				ch.Failed++
				errs = append(errs, refused(p.m.Name, int(p.index), int(p.line), err))
				continue
			}
			s.table.release(p.prev.file) // gone meanwhile: added afresh below
			replaced = true
		}
		id, err := s.e.Add(*p.m)
		if err != nil {
			if errors.Is(err, cpra.ErrClosed) {
				s.restore(d.staged[j+1:], d.base)
				s.adopt(fk, fb)
				return ch, err
			}
			ch.Failed++
			errs = append(errs, refused(p.m.Name, int(p.index), int(p.line), err))
			continue
		}
		s.push(running{id: id, digest: p.digest, file: fk})
		s.table.hold(fk, 1)
		if replaced {
			ch.Replaced++
		} else {
			ch.Added++
		}
	}
	s.adopt(fk, fb)
	if len(errs) > 0 {
		errs.sort()
		return ch, errs
	}
	return ch, nil
}

// restore puts back, when e closes during apply, the running monitors the
// pending changes of ps taken out of the list at places below k would have
// replaced: they still run as they were.
func (s *Syncer) restore(ps []pending, k int) {
	for _, p := range ps {
		if p.at >= 0 && p.at < k {
			s.push(p.prev)
		}
	}
}

// adopt lets go of the file fb, at the place fk of the table, once synced:
// it is closed if no running monitor uses it.
func (s *Syncer) adopt(fk uint16, fb *builder) {
	if fk == 0 {
		fb.close()
		return
	}
	s.table.release(fk)
}

// nameOf returns the name of the monitor id, as the engine has it.
func (s *Syncer) nameOf(id cpra.ID) string {
	st, _ := s.e.Status(id)
	return st.Name
}

// ID returns the ID of the monitor named name that the Syncer runs.
func (s *Syncer) ID(name string) (cpra.ID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.e.Lookup(name)
	if !ok {
		return cpra.ID{}, false
	}
	if _, ok := s.find(id); !ok {
		return cpra.ID{}, false
	}
	return id, true
}

// Maintenance returns the IDs of the current file's maintenances in the
// engine, in file order.
func (s *Syncer) Maintenance() []cpra.MaintenanceID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.maints)
}

// Close closes the files whose monitors still run. Call it after the
// engine has shut down.
func (s *Syncer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.table.closeAll()
	s.ids.Free()
	s.marks.Free()
	return err
}

// digestBits are the bits of a digest a mark keeps: two monitors'
// settings that differ are taken for the same when their digests agree in
// all 48, about once in 2^48 changes.
const digestBits = 1<<48 - 1

// mark is the mark of a monitor of digest d added by the file at place f.
func mark(d uint64, f uint16) uint64 { return d&digestBits | uint64(f)<<48 }

// fileOf returns the place of the file of a mark.
func fileOf(m uint64) uint16 { return uint16(m >> 48) }

// at returns the running monitor at place i of the list.
func (s *Syncer) at(i int) running {
	return running{id: s.ids.S[i], digest: s.marks.S[i] & digestBits, file: fileOf(s.marks.S[i])}
}

// push appends r to the list.
func (s *Syncer) push(r running) {
	s.ids.Append(r.id)
	s.marks.Append(mark(r.digest, r.file))
}

// truncate keeps the first n monitors of the list.
func (s *Syncer) truncate(n int) {
	s.ids.S, s.marks.S = s.ids.S[:n], s.marks.S[:n]
}

// cut takes the monitors at places [i, j) out of the list.
func (s *Syncer) cut(i, j int) {
	s.ids.S = append(s.ids.S[:i], s.ids.S[j:]...)
	s.marks.S = append(s.marks.S[:i], s.marks.S[j:]...)
}

// sort puts the list of running monitors in ID order, and lets go of the
// room a list that grew by appends keeps beyond a 32nd of its length.
func (s *Syncer) sort() {
	if !slices.IsSortedFunc(s.ids.S, cpra.ID.Compare) {
		sort.Sort(byID{s})
	}
	s.ids.Trim()
	s.marks.Trim()
}

// byID sorts the list of a Syncer by ID.
type byID struct{ s *Syncer }

func (b byID) Len() int           { return len(b.s.ids.S) }
func (b byID) Less(i, j int) bool { return b.s.ids.S[i].Compare(b.s.ids.S[j]) < 0 }
func (b byID) Swap(i, j int) {
	s := b.s
	s.ids.S[i], s.ids.S[j] = s.ids.S[j], s.ids.S[i]
	s.marks.S[i], s.marks.S[j] = s.marks.S[j], s.marks.S[i]
}

// find returns the place of the running monitor id.
func (s *Syncer) find(id cpra.ID) (int, bool) { return s.findIn(len(s.ids.S), id) }

// findIn is find in the first n monitors of the list.
func (s *Syncer) findIn(n int, id cpra.ID) (int, bool) {
	return slices.BinarySearchFunc(s.ids.S[:n], id, cpra.ID.Compare)
}

// fileTable counts the running monitors of each file a Syncer synced, at
// a place of two bytes each monitor keeps. Place 0 is for files with
// nothing to close, which need no count: they are closed once synced.
type fileTable struct {
	slots []fileSlot // slots[0] is place 0
	free  []uint16   // places of files closed, to use again
}

// fileSlot is a place in a fileTable.
type fileSlot struct {
	b *builder
	// more are files that share the place, when each other one is taken:
	// they are closed together, when the last monitor of any of them
	// leaves.
	more []*builder
	refs int
}

// maxFilePlace is the last place of a fileTable. Each file at a place
// holds files open, so a program runs out of file descriptors long before
// its files share one.
var maxFilePlace = 1<<16 - 1

// open gives fb a place, held once by the sync in progress until it
// adopts fb.
func (t *fileTable) open(fb *builder) uint16 {
	if !fb.closes() {
		return 0
	}
	if n := len(t.free); n > 0 {
		k := t.free[n-1]
		t.free = t.free[:n-1]
		t.slots[k] = fileSlot{b: fb, refs: 1}
		return k
	}
	if len(t.slots) == 0 {
		t.slots = append(t.slots, fileSlot{})
	}
	if len(t.slots) <= maxFilePlace {
		t.slots = append(t.slots, fileSlot{b: fb, refs: 1})
		return uint16(len(t.slots) - 1)
	}
	k := len(t.slots) - 1
	t.slots[k].more = append(t.slots[k].more, fb)
	t.slots[k].refs++
	return uint16(k)
}

// hold counts n more monitors of the file at place k.
func (t *fileTable) hold(k uint16, n int) {
	if k != 0 {
		t.slots[k].refs += n
	}
}

// release counts one monitor less of the file at place k, and closes the
// file once none is left.
func (t *fileTable) release(k uint16) {
	if k == 0 {
		return
	}
	sl := &t.slots[k]
	if sl.refs--; sl.refs > 0 {
		return
	}
	sl.close()
	*sl = fileSlot{}
	t.free = append(t.free, k)
}

func (sl *fileSlot) close() error {
	errs := []error{sl.b.close()}
	for _, b := range sl.more {
		errs = append(errs, b.close())
	}
	return errors.Join(errs...)
}

// closeAll closes every file of the table and empties it.
func (t *fileTable) closeAll() error {
	var errs []error
	for k := 1; k < len(t.slots); k++ {
		if t.slots[k].b != nil {
			errs = append(errs, t.slots[k].close())
		}
	}
	t.slots, t.free = nil, nil
	return errors.Join(errs...)
}
