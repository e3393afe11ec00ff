package config

import (
	"errors"
	"fmt"
	"slices"
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

	mu   sync.Mutex
	mons map[string]running
	// refs counts the running monitors of each file; a file none uses any
	// more is closed (its log files with it). Only what closes a file is
	// kept, not the file: its monitors are in the engine, and a program
	// that reloads should not hold every monitor twice.
	refs   map[*builder]int
	maints []cpra.MaintenanceID
}

// running is a monitor the engine runs for a Syncer.
type running struct {
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
	return &Syncer{e: e, mons: make(map[string]running), refs: make(map[*builder]int)}
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

	if len(s.mons) == 0 && len(f.Monitors) > 0 {
		// Sized for the file at once: a large fleet's map does not grow
		// by doubling and keep the slack.
		s.mons = make(map[string]running, len(f.Monitors))
	}
	index := make(map[string]int, len(f.Monitors))
	for i := range f.Monitors {
		index[f.Monitors[i].Name] = i
	}
	// Monitors gone leave first; changed ones are updated in place below,
	// keeping their state (an open episode goes on: no second red).
	replaced := make(map[string]bool)
	changed := make(map[string]running)
	for name, r := range s.mons {
		i, ok := index[name]
		if ok && f.Digests[i] == r.digest {
			continue
		}
		if ok {
			changed[name] = r
			delete(s.mons, name)
			continue
		}
		if err := s.e.Remove(r.id); err != nil && !errors.Is(err, cpra.ErrNotFound) {
			if errors.Is(err, cpra.ErrClosed) {
				s.adopt(fb)
				return ch, err
			}
			errs = append(errs, &Error{Index: -1, Monitor: name, Err: fmt.Errorf("removing the running monitor: %w", err)})
		}
		delete(s.mons, name)
		s.release(r.file)
		if ok {
			replaced[name] = true
		} else {
			ch.Removed++
		}
	}
	for i := range f.Monitors {
		m := &f.Monitors[i]
		if r, ok := changed[m.Name]; ok {
			id, err := s.e.Update(r.id, *m)
			switch {
			case err == nil:
				s.mons[m.Name] = running{id: id, digest: f.Digests[i], file: fb}
				s.refs[fb]++
				s.release(r.file)
				ch.Replaced++
				continue
			case errors.Is(err, cpra.ErrClosed):
				s.mons[m.Name] = r
				s.adopt(fb)
				return ch, err
			case !errors.Is(err, cpra.ErrNotFound):
				// Refused: the monitor runs on as it was.
				s.mons[m.Name] = r
				ch.Failed++
				errs = append(errs, f.addError(i, err))
				continue
			}
			s.release(r.file) // gone meanwhile: added afresh below
			replaced[m.Name] = true
		}
		if _, ok := s.mons[m.Name]; ok {
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
		s.mons[m.Name] = running{id: id, digest: f.Digests[i], file: fb}
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
	r, ok := s.mons[name]
	return r.id, ok
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
	clear(s.mons)
	return errors.Join(errs...)
}
