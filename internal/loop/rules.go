package loop

import (
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/episode"
)

// rules is the table of the monitors' rule sets and check timeouts.
// Monitors with the same rules and timeout share one entry, which their
// Health names by index: a fleet holds few distinct sets, and a check reads
// its monitor's by a slice index. The interval and the timeout live here,
// not in each monitor's Schedule.
type rules struct {
	list     []episode.Settings
	timeouts []uint32 // ms a check may take, by entry
	refs     []int32
	index    map[ruleKey]uint32
	free     []uint32
}

type ruleKey struct {
	episode.Settings
	timeout uint32
}

// intern returns the index of c with a check timeout of timeout ms,
// adding it if new; false when the table is full.
func (r *rules) intern(c episode.Settings, timeout uint32) (uint32, bool) {
	k := ruleKey{c, timeout}
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
		r.list[i], r.timeouts[i], r.refs[i] = c, timeout, 1
	} else {
		if len(r.list) >= ecs.MaxRules {
			return 0, false
		}
		i = uint32(len(r.list))
		r.list = append(r.list, c)
		r.timeouts = append(r.timeouts, timeout)
		r.refs = append(r.refs, 1)
	}
	r.index[k] = i
	return i, true
}

// unref drops a monitor's use of entry i.
func (r *rules) unref(i uint32) {
	if r.refs[i]--; r.refs[i] == 0 {
		delete(r.index, ruleKey{r.list[i], r.timeouts[i]})
		r.list[i], r.timeouts[i] = episode.Settings{}, 0
		r.free = append(r.free, i)
	}
}

// interval returns the milliseconds between a monitor's checks.
func (r *rules) interval(h *ecs.Health) int64 { return r.list[h.RulesIndex()].Interval }

// timeout returns the milliseconds a monitor's check may take.
func (r *rules) timeout(h *ecs.Health) uint32 { return r.timeouts[h.RulesIndex()] }
