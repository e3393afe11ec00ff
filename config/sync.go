package config

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/ziad/cpra"
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
// A Syncer only touches the monitors and maintenances it added. Its
// methods may be called from several goroutines.
type Syncer struct {
	e *cpra.Engine

	mu sync.Mutex
	// mons are the running monitors sorted by name: 40 bytes each, where
	// a map by name would take about 100 at a million.
	mons []running
	// refs counts the running monitors of each file; a file none uses any
	// more is closed (its log files with it). Only what closes a file is
	// kept, not the file: its monitors are in the engine, and a program
	// that reloads should not hold every monitor twice.
	refs   map[*builder]int
	maints []cpra.MaintenanceID
}

// running is a monitor the engine runs for a Syncer.
type running struct {
	name   string
	id     cpra.ID
	digest uint64
	file   *builder // what closes the file that added it
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
	return &Syncer{e: e, refs: make(map[*builder]int)}
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
	for i := range f.Monitors {
		m := &f.Monitors[i]
		p := position{index: int32(i)}
		if i < len(f.pos) {
			p = f.pos[i]
		}
		if d.classify(s, m, f.Digests[i]) {
			d.staged = append(d.staged, pending{m: m, digest: f.Digests[i], index: p.index, line: p.line, prev: d.prev, at: d.at})
		}
	}
	return s.apply(f, f.owner(), &d)
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
	// sorted part, which classify searches.
	var closed bool
	f, err = Stream(r, func(st *Streamed) {
		if closed || !d.classify(s, &st.Monitor, st.Digest) {
			return
		}
		if d.at >= 0 || !direct {
			m := st.Monitor
			d.staged = append(d.staged, pending{m: &m, digest: st.Digest, index: int32(st.Index), line: int32(st.Line), prev: d.prev, at: d.at})
			return
		}
		id, err := s.e.Add(st.Monitor)
		if err != nil {
			if errors.Is(err, cpra.ErrClosed) {
				closed = true
				return
			}
			d.ch.Failed++
			d.errs = append(d.errs, refused(st.Monitor.Name, st.Index, st.Line, err))
			return
		}
		s.mons = append(s.mons, running{name: st.Monitor.Name, id: id, digest: st.Digest})
		d.ch.Added++
	}, opts...)
	if err != nil {
		// Refused: the monitors added while it was read leave again.
		for _, r := range s.mons[d.base:] {
			s.e.Remove(r.id)
		}
		clear(s.mons[d.base:])
		s.mons = s.mons[:d.base]
		return nil, Changes{}, err
	}
	fb := f.owner()
	if added := s.mons[d.base:]; len(added) > 0 {
		for i := range added {
			added[i].file = fb
		}
		s.refs[fb] += len(added)
	}
	if closed {
		s.sort()
		s.adopt(fb)
		return f, d.ch, cpra.ErrClosed
	}
	ch, err = s.apply(f, fb, &d)
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
	// prev and at are what classify found for a changed monitor.
	prev running
	at   int
}

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
	d.base = len(s.mons)
	d.state = make([]uint8, d.base)
}

// classify looks m up among the running monitors: false when it runs
// unchanged; true when it is new (d.at < 0) or changed (d.at is its place,
// d.prev what runs now).
func (d *diff) classify(s *Syncer, m *cpra.Monitor, digest uint64) bool {
	i, ok := s.findIn(d.base, m.Name)
	if !ok {
		d.at = -1
		return true
	}
	if s.mons[i].digest == digest {
		d.state[i] = same
		d.ch.Unchanged++
		return false
	}
	d.state[i] = changed
	d.at, d.prev = i, s.mons[i]
	return true
}

// apply makes e run f given d: the file's maintenances first, then the
// monitors gone leave, the changed ones are updated in place (keeping their
// state: an open episode goes on, with no second red) and the new ones not
// added yet are added. fb is what closes f.
func (s *Syncer) apply(f *File, fb *builder, d *diff) (Changes, error) {
	ch, errs := d.ch, d.errs
	// The list is sorted again when apply returns, whichever way.
	defer s.sort()
	mids, err := f.AddMaintenanceTo(s.e)
	if errors.Is(err, cpra.ErrClosed) {
		s.adopt(fb)
		return ch, err
	}
	var merrs Errors
	if errors.As(err, &merrs) {
		errs = append(errs, merrs...)
	}
	for _, id := range s.maints {
		if err := s.e.RemoveMaintenance(id); err != nil && !errors.Is(err, cpra.ErrNotFound) {
			if errors.Is(err, cpra.ErrClosed) {
				s.adopt(fb)
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
		r := s.mons[k]
		switch d.state[k] {
		case same:
			s.mons[kept] = r
			kept++
			continue
		case changed:
			continue
		}
		if err := s.e.Remove(r.id); err != nil && !errors.Is(err, cpra.ErrNotFound) {
			if errors.Is(err, cpra.ErrClosed) {
				s.mons = append(s.mons[:kept], s.mons[k:]...)
				s.restore(d.staged, k)
				s.adopt(fb)
				return ch, err
			}
			errs = append(errs, &Error{Index: -1, Monitor: r.name, Err: fmt.Errorf("removing the running monitor: %w", err)})
		}
		s.release(r.file)
		ch.Removed++
	}
	n := kept + copy(s.mons[kept:], s.mons[d.base:])
	clear(s.mons[n:])
	s.mons = s.mons[:n]
	if len(s.mons) == 0 {
		// Sized for the file at once: a large fleet's list does not grow
		// by doubling and keep the slack.
		s.mons = slices.Grow(s.mons, len(d.staged))
	}
	for j := range d.staged {
		p := &d.staged[j]
		replaced := false
		if p.at >= 0 {
			id, err := s.e.Update(p.prev.id, *p.m)
			switch {
			case err == nil:
				s.mons = append(s.mons, running{name: p.m.Name, id: id, digest: p.digest, file: fb})
				s.refs[fb]++
				s.release(p.prev.file)
				ch.Replaced++
				continue
			case errors.Is(err, cpra.ErrClosed):
				s.mons = append(s.mons, p.prev)
				s.restore(d.staged[j+1:], d.base)
				s.adopt(fb)
				return ch, err
			case !errors.Is(err, cpra.ErrNotFound):
				// Refused: the monitor runs on as it was.
				s.mons = append(s.mons, p.prev)
				ch.Failed++
				errs = append(errs, refused(p.m.Name, int(p.index), int(p.line), err))
				continue
			}
			s.release(p.prev.file) // gone meanwhile: added afresh below
			replaced = true
		}
		id, err := s.e.Add(*p.m)
		if err != nil {
			if errors.Is(err, cpra.ErrClosed) {
				s.restore(d.staged[j+1:], d.base)
				s.adopt(fb)
				return ch, err
			}
			ch.Failed++
			errs = append(errs, refused(p.m.Name, int(p.index), int(p.line), err))
			continue
		}
		s.mons = append(s.mons, running{name: p.m.Name, id: id, digest: p.digest, file: fb})
		s.refs[fb]++
		if replaced {
			ch.Replaced++
		} else {
			ch.Added++
		}
	}
	s.adopt(fb)
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
			s.mons = append(s.mons, p.prev)
		}
	}
}

// adopt closes the file of b if no running monitor uses it.
func (s *Syncer) adopt(b *builder) {
	if s.refs[b] == 0 {
		delete(s.refs, b)
		b.close()
	}
}

func (s *Syncer) release(b *builder) {
	if s.refs[b]--; s.refs[b] <= 0 {
		delete(s.refs, b)
		b.close()
	}
}

// ID returns the ID of the monitor named name that the Syncer runs.
func (s *Syncer) ID(name string) (cpra.ID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.find(name); ok {
		return s.mons[i].id, true
	}
	return cpra.ID{}, false
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
	var errs []error
	for b := range s.refs {
		errs = append(errs, b.close())
	}
	clear(s.refs)
	s.mons = nil
	return errors.Join(errs...)
}

// sort puts the list of running monitors in name order.
func (s *Syncer) sort() {
	slices.SortFunc(s.mons, func(a, b running) int { return strings.Compare(a.name, b.name) })
}

// find returns the position of the running monitor named name.
func (s *Syncer) find(name string) (int, bool) { return s.findIn(len(s.mons), name) }

// findIn is find in the first n monitors of the list.
func (s *Syncer) findIn(n int, name string) (int, bool) {
	return slices.BinarySearchFunc(s.mons[:n], name, func(r running, name string) int { return strings.Compare(r.name, name) })
}
