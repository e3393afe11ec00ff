// Package budget keeps the limits on remediation: the fleet's (attempts
// running at once, and attempts started within a window as a share of the
// monitors), a label group's (the same share, per value of a label), and a
// monitor's own (attempts within a window). The engine asks for a verdict
// before an attempt starts and records the attempts that start.
package budget

import (
	"fmt"
	"time"
)

// Config sets the fleet's and the groups' limits; zero values mean none.
// Times are milliseconds.
type Config struct {
	Concurrent  int     // attempts running at once
	Share       float64 // of the monitors that may start an attempt within Window
	Window      int64
	GroupLabel  string  // the label that makes groups
	GroupShare  float64 // of a group's monitors that may start an attempt within GroupWindow
	GroupWindow int64
	Err         error // wrapped by every reason (cpra.ErrBudget)
}

// Budget is the fleet's and the groups' accounts. It is owned by the
// engine's loop.
type Budget struct {
	cfg    Config
	starts []int64            // start times within the window, oldest first
	groups map[string][]int64 // the same per value of the group label
	sizes  map[string]int     // monitors per value of the group label
}

// New returns an empty budget.
func New(cfg Config) *Budget { return &Budget{cfg: cfg} }

// within drops the times older than the window ending at now.
func within(starts []int64, now, window int64) []int64 {
	k := 0
	for k < len(starts) && starts[k] <= now-window {
		k++
	}
	return append(starts[:0], starts[k:]...)
}

// Count adds d monitors with these labels (a monitor added: 1, removed:
// -1), for the groups' shares.
func (b *Budget) Count(labels map[string]string, d int) {
	v, ok := labels[b.cfg.GroupLabel]
	if b.cfg.GroupLabel == "" || !ok {
		return
	}
	if b.sizes == nil {
		b.sizes = make(map[string]int)
	}
	if b.sizes[v] += d; b.sizes[v] == 0 {
		delete(b.sizes, v)
	}
}

// Admit returns nil when an attempt of a monitor with these labels may
// start at now, with running attempts running and monitors in the fleet;
// otherwise the reason.
func (b *Budget) Admit(now int64, running, monitors int, labels map[string]string) error {
	cfg := &b.cfg
	if cfg.Concurrent > 0 && running >= cfg.Concurrent {
		return fmt.Errorf("%w: %d remediations already running", cfg.Err, cfg.Concurrent)
	}
	if cfg.Share > 0 && cfg.Window > 0 {
		b.starts = within(b.starts, now, cfg.Window)
		allowed := max(1, int(cfg.Share*float64(monitors)))
		if len(b.starts) >= allowed {
			return fmt.Errorf("%w: %d remediations in %v (%.3g%% of the fleet)", cfg.Err, allowed, ms(cfg.Window), cfg.Share*100)
		}
	}
	if lb := cfg.GroupLabel; lb != "" {
		if v, ok := labels[lb]; ok {
			starts := within(b.groups[v], now, cfg.GroupWindow)
			if len(starts) == 0 {
				delete(b.groups, v) // forget groups with nothing in the window
			} else {
				b.groups[v] = starts
			}
			allowed := max(1, int(cfg.GroupShare*float64(b.sizes[v])))
			if len(starts) >= allowed {
				return fmt.Errorf("%w: %d remediations in %v (%.3g%% of %s=%s)", cfg.Err, allowed, ms(cfg.GroupWindow),
					cfg.GroupShare*100, lb, v)
			}
		}
	}
	return nil
}

// Started records an attempt that started at now.
func (b *Budget) Started(now int64, labels map[string]string) {
	if b.cfg.Share > 0 {
		b.starts = append(b.starts, now)
	}
	if lb := b.cfg.GroupLabel; lb != "" {
		if v, ok := labels[lb]; ok {
			if b.groups == nil {
				b.groups = make(map[string][]int64)
			}
			b.groups[v] = append(b.groups[v], now)
		}
	}
}

// Unstart takes back an attempt Started at now that never ran.
func (b *Budget) Unstart(at int64, labels map[string]string) {
	b.starts = dropLast(b.starts, at)
	if lb := b.cfg.GroupLabel; lb != "" {
		if v, ok := labels[lb]; ok && b.groups[v] != nil {
			b.groups[v] = dropLast(b.groups[v], at)
		}
	}
}

// dropLast removes the last time at from starts.
func dropLast(starts []int64, at int64) []int64 {
	for i := len(starts) - 1; i >= 0; i-- {
		if starts[i] == at {
			return append(starts[:i], starts[i+1:]...)
		}
	}
	return starts
}

// Own applies a monitor's own limit, at most limit attempts within window,
// to the start times of its recent attempts (oldest first), which it
// trims. When an attempt at now is over the limit it returns when one may
// start and the reason.
func Own(starts []int64, limit int, window, now int64) ([]int64, int64, error) {
	starts = within(starts, now, window)
	if limit > 0 && len(starts) >= limit {
		return starts, starts[0] + window, fmt.Errorf("remediation limit: %d in %v", limit, ms(window))
	}
	return starts, 0, nil
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

// Windows returns the start times counted now: the fleet's and each
// group's (for keeping them across restarts).
func (b *Budget) Windows() ([]int64, map[string][]int64) { return b.starts, b.groups }

// Restore puts back windows kept across a restart.
func (b *Budget) Restore(fleet []int64, groups map[string][]int64) {
	b.starts = append(b.starts[:0], fleet...)
	if len(groups) > 0 {
		b.groups = make(map[string][]int64, len(groups))
		for k, v := range groups {
			b.groups[k] = append([]int64(nil), v...)
		}
	}
}

// Counts reports whether the budget counts attempts in windows (and so
// has windows worth keeping).
func (b *Budget) Counts() bool { return b.cfg.Share > 0 || b.cfg.GroupLabel != "" }
