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

// reloader loads the monitors file again and applies it with a
// config.Syncer. It is used by one goroutine at a time.
type reloader struct {
	path   string
	e      *cpra.Engine
	sync   *config.Syncer
	stdout io.Writer
	log    *slog.Logger
}

func newReloader(path string, e *cpra.Engine, stdout io.Writer, log *slog.Logger) *reloader {
	return &reloader{path: path, e: e, sync: config.NewSyncer(e), stdout: stdout, log: log}
}

// reload reads the file again, as a stream: the syncer holds only the
// monitors that change until the whole file has been read. When it loads,
// the engine runs it (see config.Syncer: new monitors added, gone ones
// removed, changed ones updated in place, the others untouched; its
// maintenances replace the previous ones). When it does not load, its
// problems are logged and nothing changes.
func (r *reloader) reload() {
	f, ch, err := r.sync.SyncFile(r.path, fileOptions(config.WithStdout(r.stdout))...)
	if f == nil {
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
	var es config.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			r.log.Error("reload", "refused", e.Error())
		}
	} else if err != nil {
		r.log.Error("reload", "err", err)
	}
	r.log.Info("reloaded", "file", r.path, "added", ch.Added, "changed", ch.Replaced, "removed", ch.Removed,
		"unchanged", ch.Unchanged, "failed", ch.Failed, "monitors", r.e.Stats().Monitors, "maintenance", ch.Maintenance)
}

// firstLine returns the first line of err's message.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// close closes every loaded file still in use. Call it after the engine
// has shut down.
func (r *reloader) close() { r.sync.Close() }
