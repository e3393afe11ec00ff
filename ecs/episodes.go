package ecs

import "maps"

// episodes holds the open episodes, by monitor. An episode opens at a
// monitor's first failed check and most close at its next, passing, one.
// Kept in a map, an episode costs its slot (about 80 bytes at the map's
// usual load) and the monitor's components stay where they are; as a
// component, it would move the monitor's whole row (72 bytes and more)
// to another archetype table and back, and leave both tables sized for
// their peaks. Only the checks of failing monitors look here.
type episodes struct {
	m    map[Entity]Episode
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
		m := make(map[Entity]Episode, len(x.m))
		maps.Copy(m, x.m)
		x.m, x.peak = m, len(m)
	}
}

// Episode returns the open episode of e, and false if it has none.
func (s *Store) Episode(e Entity) (Episode, bool) {
	ep, ok := s.eps.m[e]
	return ep, ok
}

// SetEpisode opens the episode of e, or replaces it.
func (s *Store) SetEpisode(e Entity, ep Episode) {
	x := &s.eps
	if x.m == nil {
		x.m = make(map[Entity]Episode)
	}
	x.m[e] = ep
	x.peak = max(x.peak, len(x.m))
}

// EndEpisode closes the episode of e, if it has one.
func (s *Store) EndEpisode(e Entity) { s.eps.end(e) }
