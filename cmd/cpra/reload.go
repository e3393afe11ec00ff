package main

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/config"
)

// reloadSignals make a program running a file reload it.
var reloadSignals = []os.Signal{syscall.SIGHUP}

// running is one monitor the engine runs: its ID, the digest of its
// settings and the loaded file its notifiers belong to.
type running struct {
	id     cpra.ID
	digest uint64
	file   *config.File
}

// reloader applies the differences between a monitors file as it was
// loaded and as it is now. It is used by one goroutine at a time.
type reloader struct {
	path   string
	e      *cpra.Engine
	stdout io.Writer
	log    *slog.Logger

	mons map[string]running
	// refs counts the running monitors of each loaded file; a file none
	// uses any more is closed (its log files with it).
	refs map[*config.File]int
	// maints are the IDs of the file's top-level maintenances in the
	// engine.
	maints []cpra.MaintenanceID
}

func newReloader(path string, e *cpra.Engine, stdout io.Writer, log *slog.Logger) *reloader {
	return &reloader{path: path, e: e, stdout: stdout, log: log,
		mons: map[string]running{}, refs: map[*config.File]int{}}
}

// adoptMaintenance records the maintenances of the file that the engine
// holds under ids.
func (r *reloader) adoptMaintenance(ids []cpra.MaintenanceID) {
	r.maints = nil
	for _, id := range ids {
		if id != 0 {
			r.maints = append(r.maints, id)
		}
	}
}

// adopt records the monitors of f that the engine runs under ids.
func (r *reloader) adopt(f *config.File, ids []cpra.ID) {
	for i, m := range f.Monitors {
		if !ids[i].IsZero() {
			r.mons[m.Name] = running{ids[i], f.Digests[i], f}
			r.refs[f]++
		}
	}
	if r.refs[f] == 0 {
		f.Close()
	}
}

func (r *reloader) release(f *config.File) {
	if r.refs[f]--; r.refs[f] <= 0 {
		delete(r.refs, f)
		f.Close()
	}
}

// reload reads the file again. When it loads, its maintenances replace
// those of the previous load (the new ones are added before the old ones
// are removed, so that a monitor inside a window both hold stays in it),
// monitors no longer in it (or disabled) are removed, monitors whose
// settings changed are replaced, new ones are added and the others keep
// running untouched. When it does not load, its problems are logged and
// nothing changes.
func (r *reloader) reload() {
	f, err := config.LoadFile(r.path, config.WithStdout(r.stdout))
	if err != nil {
		var es config.Errors
		if errors.As(err, &es) {
			for _, e := range es {
				r.log.Error("reload", "problem", e.Error())
			}
		}
		r.log.Error("reload failed; the running monitors are unchanged", "file", r.path, "err", firstLine(err))
		return
	}
	for _, w := range f.Warnings {
		r.log.Warn("config", "warning", w.Error())
	}
	mids, err := f.AddMaintenanceTo(r.e)
	if err != nil {
		r.log.Error("reload: add maintenance", "err", err)
	}
	for _, id := range r.maints {
		if err := r.e.RemoveMaintenance(id); err != nil {
			r.log.Error("reload: remove maintenance", "id", id, "err", err)
		}
	}
	r.adoptMaintenance(mids)
	index := make(map[string]int, len(f.Monitors))
	for i, m := range f.Monitors {
		index[m.Name] = i
	}
	var added, changed, removed, unchanged, failed int
	replaced := map[string]bool{}
	for name, m := range r.mons {
		i, ok := index[name]
		if ok && f.Digests[i] == m.digest {
			continue
		}
		if err := r.e.Remove(m.id); err != nil {
			r.log.Error("reload: remove", "monitor", name, "err", err)
		}
		delete(r.mons, name)
		r.release(m.file)
		if ok {
			replaced[name] = true
		} else {
			removed++
		}
	}
	ids := make([]cpra.ID, len(f.Monitors))
	for i, m := range f.Monitors {
		if _, ok := r.mons[m.Name]; ok {
			unchanged++
			continue
		}
		id, err := r.e.Add(m)
		if err != nil {
			r.log.Error("reload: add", "monitor", m.Name, "err", err)
			failed++
			continue
		}
		ids[i] = id
		if replaced[m.Name] {
			changed++
		} else {
			added++
		}
	}
	r.adopt(f, ids)
	r.log.Info("reloaded", "file", r.path, "added", added, "changed", changed, "removed", removed,
		"unchanged", unchanged, "failed", failed, "monitors", r.e.Stats().Monitors, "maintenance", len(r.maints))
}

// firstLine returns the first line of err's message.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// close closes every loaded file still in use. Call it after the engine
// has shut down.
func (r *reloader) close() {
	for f := range r.refs {
		f.Close()
	}
	clear(r.refs)
}
