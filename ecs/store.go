package ecs

import (
	"unsafe"

	ark "github.com/mlange-42/ark/ecs"

	"github.com/ziad/cpra/pulse"
)

// Entity is a handle to one monitor in the store.
type Entity = ark.Entity

// Store holds every monitor: the ark world with its component mappers, the
// columns of the plain components every monitor has, an index from names
// to entities, and the scheduling wheel.
type Store struct {
	World    *ark.World
	withPlug *ark.Map2[Probe, Plugins]
	Probes   *ark.Map[Probe]
	Scheds   *Column[Schedule]
	Healths  *Column[Health]
	Plugins  *ark.Map[Plugins]
	Metas    *Part[Meta]
	Rings    *ark.Map[Ring]
	Windows  *ark.Map[Window]
	Maints   *Part[Maint]
	Deps     *ark.Map[Deps]
	Wheel    *Wheel

	metaFilter  *ark.Filter0 // monitors with a Meta and a Maint
	probeFilter *ark.Filter1[Probe]
	ids         [2 + optionals]ark.ID // component IDs for Create: the one every monitor has in ark's tables, the optional ones, then the one that goes with Ring
	tags        [shardBits]ark.ID
	shards      shards

	names *nameIndex
	hs    handles
	books arkBooks       // ark's own record of entities, moved outside the heap
	long  map[uint32]int // the length of each name of 65535 bytes or more, by entity ID
	eps   episodes
	sink  uintptr // what Warm read, so that the reads are kept
}

// NewStore returns an empty store whose wheel clock starts at tick now,
// sized for capacity monitors.
func NewStore(now int64, capacity int) *Store {
	// The hint does not go to ark: it would give every archetype table,
	// such as the one of monitors with a remediator, that many rows up
	// front.
	w := ark.NewWorld()
	// The entity bookkeeping is sized once, when the hint is known: ark's
	// arrays outside the heap if they are large and can be moved there, on
	// the heap by a dump of free entities if not.
	var hs handles
	var books arkBooks
	n := max(0, min(capacity, MaxMonitors))
	if !books.attach(w, n) || n+2 < arkBooksMin {
		hs.reserve(w, n)
	} else {
		hs.gens.Grow(n + 2)
	}
	s := &Store{
		hs:       hs,
		books:    books,
		World:    w,
		withPlug: ark.NewMap2[Probe, Plugins](w),
		Probes:   ark.NewMap[Probe](w),
		Plugins:  ark.NewMap[Plugins](w),
		Rings:    ark.NewMap[Ring](w),
		Windows:  ark.NewMap[Window](w),
		Deps:     ark.NewMap[Deps](w),
	}
	s.tags = shardTags(w)
	s.shards.rows = ShardRows
	s.metaFilter = ark.NewFilter0(w).With(ark.C[metaTag](), ark.C[maintTag]())
	s.Scheds, s.Healths = newColumn[Schedule](&s.hs, "schedule"), newColumn[Health](&s.hs, "health")
	s.Metas = &Part[Meta]{col: Column[Meta]{}, w: w, tag: ark.ComponentID[metaTag](w)}
	s.Maints = &Part[Maint]{col: Column[Maint]{}, w: w, tag: ark.ComponentID[maintTag](w)}
	s.probeFilter = ark.NewFilter1[Probe](w)
	for i, id := range []ark.ID{ark.ComponentID[Probe](w),
		ark.ComponentID[Plugins](w), ark.ComponentID[metaTag](w), ark.ComponentID[Ring](w), ark.ComponentID[Deps](w),
		ark.ComponentID[maintTag](w), ark.ComponentID[Window](w)} {
		s.ids[i] = id
	}
	s.names = newNameIndex(capacity, func(id uint32) string {
		e, _ := s.hs.entity(id)
		return s.Name(e)
	})
	s.Wheel = newWheel(now, &s.hs, s.due)
	s.Wheel.warm = s.Warm
	return s
}

// WarmMax is the most entities Warm and WarmHealths read ahead at once.
const WarmMax = 32

var _ [WarmMax - chunkLen]struct{} // a wheel chunk fits

// Warm reads, for up to WarmMax live entities, the part of each
// component a check reads first ([Probe], [Schedule], [Health]), and
// does nothing else. At a million monitors each read misses the caches;
// done one monitor after the other, as the loop handles them, the misses
// wait for each other. Done here, in a loop with nothing else in it, the
// processor has the reads of many monitors in flight at once, and the
// loop then finds them in the cache. Entities past WarmMax are not read.
func (s *Store) Warm(es []Entity) {
	es = es[:min(len(es), WarmMax)]
	var ps [WarmMax]*Probe
	var ss [WarmMax]*Schedule
	var hs [WarmMax]*Health
	for i, e := range es {
		ps[i], ss[i], hs[i] = s.RowUnchecked(e)
	}
	sink := s.sink
	for i := range es {
		if ps[i] != nil && ss[i] != nil && hs[i] != nil {
			sink += uintptr(ss[i].Due) + uintptr(hs[i].Rules) + uintptr(unsafe.Pointer(ps[i].name))
		}
	}
	s.sink = sink
}

// WarmHealths is [Store.Warm] for the [Health] alone, of the entities
// of es that are alive.
func (s *Store) WarmHealths(es []Entity) {
	es = es[:min(len(es), WarmMax)]
	var hs [WarmMax]*Health
	for i, e := range es {
		if s.hs.alive(e) {
			hs[i] = s.Healths.GetUnchecked(e)
		}
	}
	sink := s.sink
	for _, h := range hs[:len(es)] {
		if h != nil {
			sink += uintptr(h.Rules)
		}
	}
	s.sink = sink
}

// due is called with live entities only.
func (s *Store) due(e Entity) (int64, bool) { return s.Scheds.GetUnchecked(e).Due, true }

// Alive reports whether e is a monitor in the store.
func (s *Store) Alive(e Entity) bool { return s.hs.alive(e) }

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

// Row returns a monitor's components that every monitor has. Like ark's
// Get it panics when e is gone.
func (s *Store) Row(e Entity) (*Probe, *Schedule, *Health) {
	return s.Probes.Get(e), s.Scheds.Get(e), s.Healths.Get(e)
}

// RowUnchecked is [Store.Row] for an entity known to be alive.
func (s *Store) RowUnchecked(e Entity) (*Probe, *Schedule, *Health) {
	id := e.ID()
	return s.Probes.GetUnchecked(e), s.Scheds.at(id), s.Healths.at(id)
}

// Health returns a monitor's health: [Column.Get] of Healths, which
// panics when e is gone.
func (s *Store) Health(e Entity) *Health { return s.Healths.Get(e) }

// Name returns a monitor's name.
func (s *Store) Name(e Entity) string {
	return s.name(e.ID(), s.Probes.Get(e), s.Healths.Get(e))
}

func (s *Store) name(id uint32, p *Probe, h *Health) string {
	n := h.nameLen()
	if n == nameLong {
		n = s.long[id]
	}
	return unsafe.String(p.name, n)
}

// Lookup returns the monitor with the given name.
func (s *Store) Lookup(name string) (Entity, bool) {
	id, ok := s.names.get(name)
	if !ok {
		return Entity{}, false
	}
	return s.hs.entity(id)
}

// Optional holds the components only some monitors have; nil for none.
type Optional struct {
	Plugins *Plugins
	Meta    *Meta
	Ring    *Ring
	Deps    *Deps
	// Labelled gives the monitor a [Maint]: it has labels or maintenance
	// windows of its own. It needs a Meta.
	Labelled bool
}

// MaxMonitors is the number of monitors a store can hold.
const MaxMonitors = 1<<idBits - 2 // ark's IDs start after its two reserved ones

// Create adds a monitor named name that runs check and files it in the
// wheel at sched.Due, unless the name is taken: then it returns the
// monitor holding it and false; or unless the store holds MaxMonitors:
// then it returns the zero entity and false. The monitor keeps name's
// bytes, which strings never change, and check's value: the caller keeps
// its [Kind] (the monitor's rules do) to give to [Probe.Checker].
func (s *Store) Create(name string, check pulse.Checker, sched Schedule, h Health, opt Optional) (Entity, bool) {
	if id, taken := s.names.reserve(name); taken {
		e, _ := s.hs.entity(id)
		return e, false
	}
	if s.names.n >= MaxMonitors {
		return Entity{}, false
	}
	p := Probe{check: (*checkWords)(unsafe.Pointer(&check)).data, name: unsafe.StringData(name)}
	h.setNameLen(len(name))
	mix := mixOf(&opt)
	shard := s.shards.take(mix)
	s.books.room()
	var e Entity
	switch {
	case shard == 0 && mix == 0:
		e = s.Probes.NewEntity(&p)
	case shard == 0 && mix == mixPlugins:
		e = s.withPlug.NewEntity(&p, opt.Plugins)
	default:
		// Any other mix or shard: create the entity in its final table
		// at once rather than move it once per component.
		var buf [len(s.ids) + shardBits]ark.ID
		ids := append(buf[:0], s.ids[0])
		for i := range optionals {
			if mix&(1<<i) != 0 {
				ids = append(ids, s.ids[1+i])
			}
		}
		if opt.Ring != nil {
			ids = append(ids, s.ids[1+optionals]) // Window
		}
		for i, id := range s.tags {
			if shard&(1<<i) != 0 {
				ids = append(ids, id)
			}
		}
		e = s.World.Unsafe().NewEntity(ids...)
		*s.Probes.Get(e) = p
		if opt.Plugins != nil {
			*s.Plugins.Get(e) = *opt.Plugins
		}
		if opt.Ring != nil {
			*s.Rings.Get(e) = *opt.Ring
			*s.Windows.Get(e) = Window{}
		}
		if opt.Deps != nil {
			*s.Deps.Get(e) = *opt.Deps
		}
	}
	s.books.placed(e)
	if e.ID() >= 1<<idBits {
		// ark takes a new ID only when no freed one is left, so
		// below MaxMonitors monitors every ID fits.
		panic("ecs: an entity ID beyond the name index's width")
	}
	s.hs.add(e)
	id := e.ID()
	if opt.Meta != nil {
		s.Metas.set(id, *opt.Meta)
	}
	if opt.Labelled {
		s.Maints.set(id, Maint{})
	}
	s.Scheds.cover(id)
	s.Healths.cover(id)
	*s.Scheds.at(id), *s.Healths.at(id) = sched, h
	if len(name) >= nameLong {
		if s.long == nil {
			s.long = make(map[uint32]int)
		}
		s.long[e.ID()] = len(name)
	}
	s.names.fill(e.ID())
	s.Wheel.Insert(e, sched.Due)
	return e, true
}

// Delete removes a monitor. Its wheel entry is dropped when reached, or
// stands for the next monitor given its ID (see [Wheel]).
func (s *Store) Delete(e Entity) {
	s.names.del(s.Name(e))
	if s.long != nil {
		delete(s.long, e.ID())
	}
	s.hs.remove(e)
	s.eps.end(e)
	s.shards.give(s.placeOf(e))
	s.World.RemoveEntity(e)
}

// Select appends to out the monitors with labels or maintenance windows
// of their own (a [Maint]) whose [Meta] satisfies match, and returns it. It reads the store only, so the caller may change the
// monitors it returns afterwards.
func (s *Store) Select(match func(Meta) bool, out []Entity) []Entity {
	q := s.metaFilter.Query()
	for q.Next() {
		if e := q.Entity(); match(*s.Metas.col.at(e.ID())) {
			out = append(out, e)
		}
	}
	return out
}

// Named appends to out the monitors whose names satisfy match, and returns
// it. Like Select, it reads the store only.
func (s *Store) Named(match func(name string) bool, out []Entity) []Entity {
	q := s.probeFilter.Query()
	for q.Next() {
		id := q.Entity().ID()
		if match(s.name(id, q.Get(), s.Healths.at(id))) {
			out = append(out, q.Entity())
		}
	}
	return out
}
