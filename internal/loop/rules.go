package loop

import (
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/pulse"
)

// rules is the table of the monitors' rule sets, check timeouts and check
// types. Monitors with the same rules, timeout and type of check share one
// entry, which their Health names by index: a fleet holds few distinct
// sets, and a check reads its monitor's by a slice index. The interval,
// the timeout and the check's type live here, not in each monitor's
// Schedule and Probe.
type rules struct {
	list     []episode.Settings
	timeouts []uint32   // ms a check may take, by entry
	kinds    []ecs.Kind // the type of the checks, by entry
	refs     []int32
	index    map[ruleKey]uint32
	free     []uint32
}

type ruleKey struct {
	episode.Settings
	timeout uint32
	kind    ecs.Kind
}

// intern returns the index of c with a check timeout of timeout ms and
// checks of type kind, adding it if new; false when the table is full.
func (r *rules) intern(c episode.Settings, timeout uint32, kind ecs.Kind) (uint32, bool) {
	k := ruleKey{c, timeout, kind}
	if i, ok := r.index[k]; ok {
		r.refs[i]++
		return i, true
	}
	if r.index == nil {
		r.index = make(map[ruleKey]uint32)
	}
	var i uint32
	if n := len(r.free); n > 0 {
		i = r.free[n-1]
		r.free = r.free[:n-1]
		r.list[i], r.timeouts[i], r.kinds[i], r.refs[i] = c, timeout, kind, 1
	} else {
		if len(r.list) >= ecs.MaxRules {
			return 0, false
		}
		i = uint32(len(r.list))
		r.list = append(r.list, c)
		r.timeouts = append(r.timeouts, timeout)
		r.kinds = append(r.kinds, kind)
		r.refs = append(r.refs, 1)
	}
	r.index[k] = i
	return i, true
}

// unref drops a monitor's use of entry i.
func (r *rules) unref(i uint32) {
	if r.refs[i]--; r.refs[i] == 0 {
		delete(r.index, ruleKey{r.list[i], r.timeouts[i], r.kinds[i]})
		r.list[i], r.timeouts[i], r.kinds[i] = episode.Settings{}, 0, ecs.Kind{}
		r.free = append(r.free, i)
	}
}

// interval returns the milliseconds between a monitor's checks.
func (r *rules) interval(h *ecs.Health) int64 { return r.list[h.RulesIndex()].Interval }

// check returns a monitor's check, whose type its rules keep.
func (r *rules) check(p *ecs.Probe, h *ecs.Health) pulse.Checker {
	return p.Checker(r.kinds[h.RulesIndex()])
}

// timeout returns the milliseconds a monitor's check may take.
func (r *rules) timeout(h *ecs.Health) uint32 { return r.timeouts[h.RulesIndex()] }
