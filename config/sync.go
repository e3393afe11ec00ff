package config

import (
	"errors"
	"fmt"
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
	var ch Changes
	var errs Errors
	fb := f.owner()

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

	index := make(map[string]int, len(f.Monitors))
	for i := range f.Monitors {
		index[f.Monitors[i].Name] = i
	}
	// The list is sorted again when Sync returns, whichever way.
	defer s.sort()
	// Monitors gone leave first; changed ones are updated in place below,
	// keeping their state (an open episode goes on: no second red).
	// Unchanged ones stay in the list, compacted in place.
	unchanged := make([]bool, len(f.Monitors))
	changed := make(map[string]running)
	kept := 0
	for k := 0; k < len(s.mons); k++ {
		r := s.mons[k]
		i, ok := index[r.name]
		if ok && f.Digests[i] == r.digest {
			unchanged[i] = true
			s.mons[kept] = r
			kept++
			continue
		}
		if ok {
			changed[r.name] = r
			continue
		}
		if err := s.e.Remove(r.id); err != nil && !errors.Is(err, cpra.ErrNotFound) {
			if errors.Is(err, cpra.ErrClosed) {
				s.mons = append(s.mons[:kept], s.mons[k:]...)
				s.adopt(fb)
				return ch, err
			}
			errs = append(errs, &Error{Index: -1, Monitor: r.name, Err: fmt.Errorf("removing the running monitor: %w", err)})
		}
		s.release(r.file)
		ch.Removed++
	}
	clear(s.mons[kept:])
	s.mons = s.mons[:kept]
	if len(s.mons) == 0 {
		// Sized for the file at once: a large fleet's list does not grow
		// by doubling and keep the slack.
		s.mons = slices.Grow(s.mons, len(f.Monitors))
	}
	replaced := make(map[string]bool)
	for i := range f.Monitors {
		m := &f.Monitors[i]
		if r, ok := changed[m.Name]; ok {
			id, err := s.e.Update(r.id, *m)
			switch {
			case err == nil:
				s.mons = append(s.mons, running{name: m.Name, id: id, digest: f.Digests[i], file: fb})
				s.refs[fb]++
				s.release(r.file)
				ch.Replaced++
				continue
			case errors.Is(err, cpra.ErrClosed):
				s.mons = append(s.mons, r)
				s.adopt(fb)
				return ch, err
			case !errors.Is(err, cpra.ErrNotFound):
				// Refused: the monitor runs on as it was.
				s.mons = append(s.mons, r)
				ch.Failed++
				errs = append(errs, f.addError(i, err))
				continue
			}
			s.release(r.file) // gone meanwhile: added afresh below
			replaced[m.Name] = true
		}
		if unchanged[i] {
			ch.Unchanged++
			continue
		}
		id, err := s.e.Add(*m)
		if err != nil {
			if errors.Is(err, cpra.ErrClosed) {
				s.adopt(fb)
				return ch, err
			}
			ch.Failed++
			errs = append(errs, f.addError(i, err))
			continue
		}
		s.mons = append(s.mons, running{name: m.Name, id: id, digest: f.Digests[i], file: fb})
		s.refs[fb]++
		if replaced[m.Name] {
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
func (s *Syncer) find(name string) (int, bool) {
	return slices.BinarySearchFunc(s.mons, name, func(r running, name string) int { return strings.Compare(r.name, name) })
}
