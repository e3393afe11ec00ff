package ecs

import "maps"

// episodes holds the open episodes, by monitor. An episode opens at a
// monitor's first failed check and most close at its next, passing, one.
// Kept apart, an episode costs its map slot and its 48 bytes (about 80
// bytes in all, as the map's load varies) and the monitor's components
// stay where they are; as a component, it would move the monitor's whole
// row (72 bytes and more) to another archetype table and back, and leave
// both tables sized for their peaks: 120 to 240 bytes a failing monitor.
// Only the checks of failing monitors look here.
type episodes struct {
	m    map[Entity]*Episode
	peak int // the most episodes open at once since the map was last made
}

// shrinkFloor is the peak below which the map is kept as it is: Go's maps
// do not give memory back, so one sized for a large outage is made again,
// smaller, once most of its episodes have closed.
const shrinkFloor = 1024

func (x *episodes) end(e Entity) {
	if _, ok := x.m[e]; !ok {
		return
	}
	delete(x.m, e)
	if x.peak >= shrinkFloor && len(x.m) < x.peak/4 {
		m := make(map[Entity]*Episode, len(x.m))
		maps.Copy(m, x.m)
		x.m, x.peak = m, len(m)
	}
}

// Episode returns the open episode of e, or nil. The episode stays where
// it is until it ends: the pointer may be kept and written through.
func (s *Store) Episode(e Entity) *Episode { return s.eps.m[e] }

// OpenEpisode returns the open episode of e, opening an empty one if it has
// none.
func (s *Store) OpenEpisode(e Entity) *Episode {
	x := &s.eps
	if ep := x.m[e]; ep != nil {
		return ep
	}
	if x.m == nil {
		x.m = make(map[Entity]*Episode)
	}
	ep := new(Episode)
	x.m[e] = ep
	x.peak = max(x.peak, len(x.m))
	return ep
}

// EndEpisode closes the episode of e, if it has one.
func (s *Store) EndEpisode(e Entity) { s.eps.end(e) }
