package loop

import (
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/episode"
)

// rules is the table of the monitors' rule sets. Monitors with the same
// rules share one entry, which their Health names by index: a fleet holds
// few distinct sets, and a check reads its monitor's by a slice index.
type rules struct {
	list  []episode.Settings
	refs  []int32
	index map[episode.Settings]uint32
	free  []uint32
}

// intern returns the index of c, adding it if new; false when the table
// is full.
func (r *rules) intern(c episode.Settings) (uint32, bool) {
	if i, ok := r.index[c]; ok {
		r.refs[i]++
		return i, true
	}
	if r.index == nil {
		r.index = make(map[episode.Settings]uint32)
	}
	var i uint32
	if n := len(r.free); n > 0 {
		i = r.free[n-1]
		r.free = r.free[:n-1]
		r.list[i], r.refs[i] = c, 1
	} else {
		if len(r.list) >= ecs.MaxRules {
			return 0, false
		}
		i = uint32(len(r.list))
		r.list = append(r.list, c)
		r.refs = append(r.refs, 1)
	}
	r.index[c] = i
	return i, true
}

// unref drops a monitor's use of entry i.
func (r *rules) unref(i uint32) {
	if r.refs[i]--; r.refs[i] == 0 {
		delete(r.index, r.list[i])
		r.list[i] = episode.Settings{}
		r.free = append(r.free, i)
	}
}
