package ecs

import (
	ark "github.com/mlange-42/ark/ecs"
)

// Entity is a handle to one monitor in the store.
type Entity = ark.Entity

// Store holds every monitor: the ark world with its component mappers, an
// index from names to entities, and the scheduling wheel.
type Store struct {
	World    *ark.World
	Monitors *ark.Map3[Probe, Schedule, Health]
	withPlug *ark.Map4[Probe, Schedule, Health, Plugins]
	Probes   *ark.Map[Probe]
	Scheds   *ark.Map[Schedule]
	Healths  *ark.Map[Health]
	Plugins  *ark.Map[Plugins]
	Episodes *ark.Map[Episode]
	Wheel    *Wheel

	names   map[uint64]Entity // by name hash
	collide map[string]Entity // names whose hash is already taken by another name
}

// NewStore returns an empty store whose wheel clock starts at tick now,
// sized for capacity monitors.
func NewStore(now int64, capacity int) *Store {
	w := ark.NewWorld(max(capacity, 1024))
	s := &Store{
		World:    w,
		Monitors: ark.NewMap3[Probe, Schedule, Health](w),
		withPlug: ark.NewMap4[Probe, Schedule, Health, Plugins](w),
		Probes:   ark.NewMap[Probe](w),
		Scheds:   ark.NewMap[Schedule](w),
		Healths:  ark.NewMap[Health](w),
		Plugins:  ark.NewMap[Plugins](w),
		Episodes: ark.NewMap[Episode](w),
		names:    make(map[uint64]Entity, capacity),
	}
	s.Wheel = NewWheel(now, s.due)
	return s
}

func (s *Store) due(e Entity) (int64, bool) {
	if !s.World.Alive(e) {
		return 0, false
	}
	return s.Scheds.Get(e).Due, true
}

// Len returns the number of monitors.
func (s *Store) Len() int { return len(s.names) + len(s.collide) }

// Alive reports whether e is a monitor in the store.
func (s *Store) Alive(e Entity) bool { return s.World.Alive(e) }

// HashName is the 64-bit FNV-1a hash of a monitor name. It is stable across
// processes, so it also fixes a monitor's phase within its interval.
func HashName(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return h
}

// Lookup returns the monitor with the given name.
func (s *Store) Lookup(name string) (Entity, bool) {
	e, ok := s.names[HashName(name)]
	if !ok {
		return Entity{}, false
	}
	if s.Probes.Get(e).Name == name {
		return e, true
	}
	e, ok = s.collide[name]
	return e, ok
}

// Create adds a monitor whose name is not in the store yet and files it in
// the wheel at sched.Due. plugins may be nil.
func (s *Store) Create(p Probe, sched Schedule, h Health, plugins *Plugins) Entity {
	var e Entity
	if plugins != nil {
		e = s.withPlug.NewEntity(&p, &sched, &h, plugins)
	} else {
		e = s.Monitors.NewEntity(&p, &sched, &h)
	}
	key := HashName(p.Name)
	if _, taken := s.names[key]; taken {
		if s.collide == nil {
			s.collide = make(map[string]Entity)
		}
		s.collide[p.Name] = e
	} else {
		s.names[key] = e
	}
	s.Wheel.Insert(e, sched.Due)
	return e
}

// Delete removes a monitor. Its wheel entry is dropped when reached.
func (s *Store) Delete(e Entity) {
	name := s.Probes.Get(e).Name
	key := HashName(name)
	if s.names[key] == e {
		delete(s.names, key)
		// Promote a colliding name with the same hash, if any.
		for n, c := range s.collide {
			if HashName(n) == key {
				s.names[key] = c
				delete(s.collide, n)
				break
			}
		}
	} else {
		delete(s.collide, name)
	}
	s.World.RemoveEntity(e)
}
