package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/ecs"
	"github.com/ziad/cpra/internal/backoff"
)

// Pending is a raised alert waiting in a lane (or, packed in an item, in
// its sink's queue): all of it but its monitor's name and labels, which
// are read when it is sent. It is 48 bytes.
//
// A lane's place in a group is a Pending too: its Err is the *group,
// which no check's error can be (the type is this package's own).
type Pending struct {
	Err     error
	Start   int64 // its episode (Unix ms); 0 for none
	At      int64 // Unix ms when it was raised
	Code    alert.Code
	Flap    alert.Flap
	Ends    bool // it ends its episode (a green, or the gray of a removal)
	Repeat  uint16
	Attempt uint16
	Fails   uint16
	Skipped uint16 // episodes it stands for beyond its own
	Seq     uint16 // its number among the alerts sent in its episode
}

// place returns the group of a lane's place in a group, or nil for an
// alert.
func (a *Pending) place() *group {
	g, _ := a.Err.(*group)
	return g
}

// waitCost is what the backlog's memory bound counts for each waiting
// alert: about what one takes on the heap when it is its monitor's only
// one (its item in its sink's queue and its slot in Path.single, about 77
// bytes) or waits with one other (a red and its green: the red's item, the
// lane, the green's place and the lane's slot, about 190 bytes for both),
// the common cases of a notifier that is behind. An alert waiting alone
// behind one of its monitor's already sent has the lane to itself: about
// 141 bytes.
const waitCost = 96

// Config is what the alert path needs from the engine.
type Config struct {
	Default     alert.Notifier // for monitors without a notifier of their own
	GroupBy     string
	GroupWait   time.Duration
	Timeout     time.Duration // of each Notify call
	Retries     int
	Backoff     time.Duration // first wait between tries
	MaxElapsed  time.Duration // bound of all tries of one alert
	PerNotifier int           // deliveries in flight per notifier
	MaxInFlight int           // deliveries in flight in all
	PerMonitor  int           // alerts waiting per monitor before its lane is collapsed
	Memory      int64         // bytes of waiting alerts in all
	Undelivered func(alert.Alert, error)
	Raised      func(alert.Alert) // sees each alert as it is raised, on the loop; nil: none
	Log         *slog.Logger
	Epoch       time.Time
	TimeoutErr  func(op string, d time.Duration) error
	PanicErr    func(op string, v any, stack []byte) error
	// Info returns a monitor's name and labels.
	Info func(en ecs.Entity) (name string, labels map[string]string)
	// Settled, when set, is told of every alert that has its fate or was
	// folded into another, and Folded of every summary alert a fold made;
	// both run on the loop. With Keep, alerts still on the way at the
	// shutdown deadline are kept (for the next start), not dead-lettered.
	Settled func(name string, p *Pending)
	Folded  func(name string, p *Pending)
	Keep    bool
	// Fence, in a cluster, is asked before every try of a delivery
	// whether the engine may still send for the monitor's shard (ShardOf
	// its name). An alert it refuses is left in the outbox for the
	// shard's next owner.
	Fence   Fence
	ShardOf func(name string) int
}

// Fence is the cluster's say on whether the engine may act for a shard.
type Fence interface {
	Begin(shard int) bool
	End(shard int)
}

// Counters count what happened to alerts. Sent and Failed count calls: a
// grouped alert counts once.
type Counters struct {
	Raised    atomic.Uint64 // alerts raised for the notifier
	Sent      atomic.Uint64 // delivered
	Failed    atomic.Uint64 // handed to the dead-letter hook
	Grouped   atomic.Uint64 // monitors' alerts sent inside grouped alerts
	Collapsed atomic.Uint64 // alerts folded into others while waiting
	Abandoned atomic.Uint64 // Notify calls left behind past the hard limit
	Kept      atomic.Uint64 // alerts on the way at the shutdown deadline, kept for the next start
	Fenced    atomic.Uint64 // alerts left for the next owner of their shard
	Running   atomic.Int64  // Notify calls still running, abandoned ones included
	InFlight  atomic.Int64  // deliveries in flight
	Queued    atomic.Int64  // alerts waiting
}

// gauges publishes the path's gauges.
func (p *Path) gauges() {
	p.ctr.InFlight.Store(int64(p.inflight))
	p.ctr.Queued.Store(int64(p.queued))
}

// ErrBacklog is the dead-letter reason of an alert raised when the alert
// memory was full.
var ErrBacklog = errors.New("alert backlog full: the notifier is too far behind")

// Path is the alert path. Its methods but Counters run on the engine's
// loop, which owns it.
type Path struct {
	cfg  Config
	base context.Context
	ctr  *Counters

	lanes    table[lane, *lane]
	single   table[item, *item] // monitors whose one alert on the way waits in their sink's queue, with no lane
	gone     map[*lane]goneInfo // lanes of removed monitors with alerts on the way
	sinks    map[any]*sink
	sinkList []*sink  // sinks by index, for the items that name theirs
	freeIdx  []uint32 // indexes of dropped sinks, for new ones
	starved  []*sink  // sinks with work, waiting for room in MaxInFlight
	inflight int
	jobs     map[*job]struct{} // deliveries in flight
	bytes    int64             // of waiting alerts
	queued   int               // waiting alerts

	groups   map[groupKey]*group // groups taking members
	groupQ   []*group            // open groups by due time
	groupSeq uint64

	done     chan *job // finished deliveries, for the loop
	dead     chan struct{}
	wg       sync.WaitGroup
	draining bool
	closed   bool // past the shutdown deadline: nothing new starts
}

// lane keeps one monitor's alerts in order, when it has more than one
// on the way (one in flight, or more than one waiting), is in a group or
// was removed. A monitor with a single alert waiting has none: its alert
// waits in its sink's queue (see item). A lane's next alert waits there
// too, as an alert of its own (its head): the first alert of a monitor
// that raises another stays where it was (adopt), and the next alert of
// a lane whose head was sent goes there (schedule). The lane holds the
// alerts behind its head: a red and its green waiting cost the red's
// item, the lane and one place. Only a collapse moves the head into the
// lane (claim), and an item then stands for the lane. It is kept small
// (64 bytes).
type lane struct {
	en   ecs.Entity
	q    []Pending
	head *item  // its next alert, waiting in its sink's queue as an item of its own; nil if none or claimed
	top  uint64 // the newest group the lane has been in
	sent int64  // the episode of the last alert handed to the notifier
	sink uint32 // its sink's index in Path.sinkList
	busy bool   // its head is in flight, in a sink's queue, or in a forming group
	gone bool   // its monitor was removed: its name and labels are in Path.gone
}

// waiting is the number of the lane's alerts waiting, its head included.
func (l *lane) waiting() int {
	if l.head != nil {
		return len(l.q) + 1
	}
	return len(l.q)
}

// goneInfo is what a removed monitor's lane still needs to send its alerts.
type goneInfo struct {
	name   string
	labels map[string]string
}

// sink is one notifier: the deliveries in flight to it and the work
// waiting for its turn, urgent first.
type sink struct {
	key      any
	n        alert.Notifier
	idx      uint32 // in Path.sinkList
	inflight int
	ready    [2]fifo // urgent, other
	starved  bool
}

// group gathers the alerts with one code of monitors sharing a label
// value and a sink until it is due. It is sent once it is due and every
// member's earlier alerts are delivered.
type group struct {
	key     groupKey
	sink    *sink
	seq     uint64 // groups are numbered in the order they open
	due     int64  // ns since the epoch
	waits   int    // members still delivering earlier alerts, plus 1 until due
	members []*lane
	alerts  []Pending
}

// Error makes a group fit in a Pending's Err, for a lane's place in it;
// a place is never sent or reported, so this is never read.
func (g *group) Error() string { return "alert group" }

type groupKey struct {
	sink  any
	value string
	code  alert.Code
	flap  alert.Flap
}

// job is one delivery: one alert, or one grouped alert, to one notifier.
type job struct {
	sink    *sink
	lane    *lane   // nil for a group
	pend    Pending // a lane's alert
	group   *group  // a group's alerts
	members []*lane // a group's
	a       alert.Alert
	settled atomic.Bool
	kept    bool // its outcome is unknown at shutdown: kept for the next start
	err     error
	tries   int
	shard   int  // its monitor's shard, in a cluster
	begun   bool // the fence allowed its last try: Finished ends it
}

// keep marks a job caught by the shutdown deadline as kept for the next
// start, when the engine keeps its state; it reports whether it did.
func (p *Path) keep(j *job) bool {
	if !p.cfg.Keep || !j.settled.CompareAndSwap(false, true) {
		return false
	}
	j.kept = true
	p.ctr.Kept.Add(uint64(max(1, len(j.members))))
	return true
}

// New returns an alert path; base is the parent of every Notify call's
// context, cancelled at the shutdown deadline.
func New(cfg Config, base context.Context, ctr *Counters) *Path {
	return &Path{
		cfg: cfg, base: base, ctr: ctr,
		sinks:  make(map[any]*sink),
		jobs:   make(map[*job]struct{}),
		groups: make(map[groupKey]*group),
		done:   make(chan *job, 1024),
		dead:   make(chan struct{}),
	}
}

// Done delivers finished deliveries to the loop, which hands each to
// Finished.
func (p *Path) Done() <-chan *job { return p.done }

// Raise queues an alert of a monitor whose notifier is n (own: the
// monitor's own, not the default), behind its alerts on the way, or adds
// it to a group.
func (p *Path) Raise(en ecs.Entity, n alert.Notifier, own bool, a Pending, labels map[string]string) {
	if n == nil {
		return
	}
	p.ctr.Raised.Add(1)
	if p.cfg.Raised != nil {
		name, _ := p.cfg.Info(en)
		p.cfg.Raised(alertFor(name, labels, &a))
	}
	l := p.lanes.get(en)
	if l == nil {
		if it := p.single.get(en); it != nil {
			l = p.adopt(en, it)
		} else {
			s := p.sinkFor(en, n, own)
			if !p.grouping(s, en, labels) {
				p.raiseAlone(en, s, &a)
				return
			}
			l = &lane{en: en, sink: s.idx}
			p.lanes.put(l)
		}
	}
	if s := p.sinkList[l.sink]; p.grouping(s, en, labels) {
		if p.join(l, groupKey{s.key, labels[p.cfg.GroupBy], a.Code, a.Flap}, a) {
			return
		}
	}
	if p.bytes+waitCost > p.cfg.Memory {
		p.shrink(l)
		if p.bytes+waitCost > p.cfg.Memory {
			name, labels := p.info(l)
			p.deadLetter(name, labels, a, ErrBacklog)
			p.forget(l)
			return
		}
	}
	p.push(l, a)
	if l.waiting() > p.cfg.PerMonitor {
		p.collapse(l)
	}
	if !l.busy {
		p.schedule(l)
	}
	p.gauges()
}

// sinkFor returns the sink of notifier n, making it if needed.
func (p *Path) sinkFor(en ecs.Entity, n alert.Notifier, own bool) *sink {
	key := notifierID(n, own)
	if key == nil {
		key = en // a notifier that cannot be told apart: a sink of its own
	}
	s := p.sinks[key]
	if s == nil {
		s = &sink{key: key, n: n}
		if k := len(p.freeIdx); k > 0 {
			s.idx = p.freeIdx[k-1]
			p.freeIdx = p.freeIdx[:k-1]
			p.sinkList[s.idx] = s
		} else {
			s.idx = uint32(len(p.sinkList))
			p.sinkList = append(p.sinkList, s)
		}
		p.sinks[key] = s
	}
	return s
}

// grouping reports whether an alert of a monitor with sink s and labels
// is for a group.
func (p *Path) grouping(s *sink, en ecs.Entity, labels map[string]string) bool {
	if p.cfg.GroupBy == "" || p.draining || p.closed || s.key == en {
		return false
	}
	_, ok := labels[p.cfg.GroupBy]
	return ok
}

// raiseAlone queues the alert of a monitor with nothing else on the way:
// it waits in its sink's queue itself, with no lane.
func (p *Path) raiseAlone(en ecs.Entity, s *sink, a *Pending) {
	if p.bytes+waitCost > p.cfg.Memory {
		p.shrink(nil)
		if p.bytes+waitCost > p.cfg.Memory {
			name, labels := p.cfg.Info(en)
			p.deadLetter(name, labels, *a, ErrBacklog)
			p.dropSink(s)
			return
		}
	}
	p.bytes += waitCost
	p.queued++
	p.single.put(s.wait(en, a))
	p.pump(s)
	p.gauges()
}

// adopt gives a monitor whose one alert waits alone in its sink's queue
// a lane, with that alert as its head: the alert stays in the queue.
func (p *Path) adopt(en ecs.Entity, it *item) *lane {
	p.single.del(en)
	l := &lane{en: en, head: it, sink: it.sink, busy: true}
	p.lanes.put(l)
	return l
}

// claim moves a lane's head from its sink's queue into the lane, whose
// place in the queue it takes: all the lane's waiting alerts are then in
// l.q, where they can be collapsed.
func (p *Path) claim(l *lane) {
	it := l.head
	if it == nil {
		return
	}
	l.head = nil
	l.q = slices.Insert(l.q, 0, it.pending())
	*it = item{v: l}
}

func (p *Path) push(l *lane, a Pending) {
	l.q = append(l.q, a)
	p.bytes += waitCost
	p.queued++
}

// pop takes the head of a lane, an alert.
func (p *Path) pop(l *lane) Pending {
	p.bytes -= waitCost
	p.queued--
	return l.take()
}

// take takes the first of l.q.
func (l *lane) take() Pending {
	a := l.q[0]
	l.q[0] = Pending{}
	l.q = l.q[1:]
	if len(l.q) == 0 {
		l.q = nil
	}
	return a
}

// Removed tells the path that a monitor is gone: its alerts on the way
// still go out, with the name and labels it had.
func (p *Path) Removed(en ecs.Entity, name string, labels map[string]string) {
	l := p.lanes.get(en)
	if it := p.single.get(en); l == nil && it != nil {
		l = p.adopt(en, it)
	}
	if l != nil {
		if p.gone == nil {
			p.gone = make(map[*lane]goneInfo)
		}
		p.gone[l] = goneInfo{name, labels}
		l.gone = true
	}
}

// schedule moves an idle lane on: its head goes to its sink, or the lane
// waits for the group its head is a place in.
func (p *Path) schedule(l *lane) {
	if len(l.q) == 0 {
		p.forget(l)
		return
	}
	l.busy = true
	a := l.take()
	if g := a.place(); g != nil {
		// A place: its alert is counted in the group.
		p.release(g)
		return // the lane now waits for that group
	}
	// The head waits in the sink's queue as an alert of its own, as the
	// head of a lane that adopted it does.
	s := p.sinkList[l.sink]
	l.head = s.wait(l.en, &a)
	p.pump(s)
}

// forget drops an idle lane with nothing waiting.
func (p *Path) forget(l *lane) {
	if !l.busy && len(l.q) == 0 && p.lanes.get(l.en) == l {
		p.lanes.del(l.en)
		if l.gone {
			delete(p.gone, l)
		}
		p.dropSink(p.sinkList[l.sink])
	}
}

func (p *Path) dropSink(s *sink) {
	if s.inflight == 0 && s.ready[0].len()+s.ready[1].len() == 0 && p.sinks[s.key] == s {
		used := false
		p.lanes.all(func(l *lane) bool {
			used = l.sink == s.idx
			return !used
		})
		if used {
			return
		}
		for _, g := range p.groups {
			if g.sink == s {
				return
			}
		}
		delete(p.sinks, s.key)
		p.sinkList[s.idx] = nil
		p.freeIdx = append(p.freeIdx, s.idx)
	}
}

func urgent(c alert.Code, f alert.Flap) bool {
	return c == alert.Red || (c == alert.Yellow && f != alert.FlapEnd)
}

// readyOf is the queue of a sink that work waits in: 0 for urgent work.
func readyOf(urgentWork bool) int {
	if urgentWork {
		return 0
	}
	return 1
}

// wait puts a monitor's alert in the sink's queue as an item of its own
// and returns where it waits. The caller records that before it pumps the
// sink, which may send the alert at once (start then forgets it).
func (s *sink) wait(en ecs.Entity, a *Pending) *item {
	return s.ready[readyOf(urgent(a.Code, a.Flap))].push(newItem(en, s, a))
}

func (p *Path) enqueue(s *sink, it item, urgentWork bool) {
	s.ready[readyOf(urgentWork)].push(it)
	p.pump(s)
}

// pump starts what the sink and the overall bound have room for.
func (p *Path) pump(s *sink) {
	for !p.closed && s.inflight < p.cfg.PerNotifier {
		if p.inflight >= p.cfg.MaxInFlight {
			if !s.starved && s.ready[0].len()+s.ready[1].len() > 0 {
				s.starved = true
				p.starved = append(p.starved, s)
			}
			return
		}
		var it item
		switch {
		case s.ready[0].len() > 0:
			it = s.ready[0].pop()
		case s.ready[1].len() > 0:
			it = s.ready[1].pop()
		default:
			return
		}
		p.start(s, &it)
	}
}

// start hands a unit of work to a delivery goroutine.
func (p *Path) start(s *sink, it *item) {
	j := &job{sink: s}
	switch v := it.v.(type) {
	case *group:
		g := v
		j.group = g
		j.members = g.members
		j.a = p.groupAlert(g)
		if len(g.alerts) > 1 {
			p.ctr.Grouped.Add(uint64(len(g.alerts)))
		}
		p.bytes -= waitCost * int64(len(g.alerts))
		p.queued -= len(g.alerts)
		for _, m := range g.members {
			m.sent = -1 // the members' receivers heard of a group
		}
	case *lane:
		l := v
		a := p.pop(l)
		l.sent = a.Start
		j.lane = l
		j.pend = a
		j.a = p.alertOf(l, &a)
	default:
		// A monitor's alert that waited alone: the monitor gets a lane
		// for as long as the alert is on the way, so that its next
		// alerts wait behind it; or it has one already, whose head this
		// alert is.
		p.single.del(it.en)
		a := it.pending()
		p.bytes -= waitCost
		p.queued--
		l := p.lanes.get(it.en)
		if l != nil {
			l.head = nil
		} else {
			l = &lane{en: it.en, sink: s.idx, busy: true}
			p.lanes.put(l)
		}
		l.sent = a.Start
		j.lane = l
		j.pend = a
		j.a = p.alertOf(l, &a)
	}
	if p.cfg.Fence != nil {
		if j.lane != nil {
			j.shard = p.cfg.ShardOf(j.a.Monitor)
		} else {
			name, _ := p.info(j.members[0])
			j.shard = p.cfg.ShardOf(name)
		}
	}
	s.inflight++
	p.inflight++
	p.jobs[j] = struct{}{}
	p.wg.Add(1)
	go p.deliver(j)
}

func (p *Path) info(l *lane) (string, map[string]string) {
	if l.gone {
		g := p.gone[l]
		return g.name, g.labels
	}
	return p.cfg.Info(l.en)
}

func (p *Path) alertOf(l *lane, a *Pending) alert.Alert {
	name, labels := p.info(l)
	return alertFor(name, labels, a)
}

// alertFor is the alert a monitor's waiting alert stands for.
func alertFor(name string, labels map[string]string, a *Pending) alert.Alert {
	out := alert.Alert{
		Monitor:  name,
		Code:     a.Code,
		Err:      a.Err,
		At:       time.UnixMilli(a.At),
		Failures: int(a.Fails),
		Attempt:  int(a.Attempt),
		Repeat:   int(a.Repeat),
		Labels:   labels,
		Flap:     a.Flap,
		Skipped:  int(a.Skipped),
	}
	id, seq := a.Start, a.Seq
	if a.Start != 0 {
		out.Since = time.UnixMilli(a.Start)
	} else {
		id, seq = a.At, 0
	}
	out.Key = name + "/" + strconv.FormatInt(id, 10) + "/" + strconv.Itoa(int(seq))
	return out
}

// groupAlert is the one alert of a formed group: a plain alert when it
// has one member.
func (p *Path) groupAlert(g *group) alert.Alert {
	if len(g.alerts) == 1 {
		return p.alertOf(g.members[0], &g.alerts[0])
	}
	members := make([]alert.Alert, len(g.alerts))
	for i := range g.alerts {
		members[i] = p.alertOf(g.members[i], &g.alerts[i])
	}
	first := members[0]
	return alert.Alert{
		Monitor:  p.cfg.GroupBy + "=" + g.key.value,
		Code:     g.key.code,
		Err:      first.Err,
		At:       time.Now(),
		Since:    first.Since,
		Failures: first.Failures,
		Attempt:  first.Attempt,
		Labels:   map[string]string{p.cfg.GroupBy: g.key.value},
		Flap:     g.key.flap,
		Group:    members,
	}
}

// Finished applies a finished delivery: its lane, or its group's lanes,
// move on.
func (p *Path) Finished(j *job) {
	if _, ok := p.jobs[j]; !ok {
		return
	}
	delete(p.jobs, j)
	p.report(j)
	p.end(j)
	s := j.sink
	s.inflight--
	p.inflight--
	if j.lane != nil {
		p.advance(j.lane)
	} else {
		for _, l := range j.members {
			p.advance(l)
		}
	}
	p.pump(s)
	for len(p.starved) > 0 && p.inflight < p.cfg.MaxInFlight {
		t := p.starved[0]
		p.starved = p.starved[1:]
		t.starved = false
		p.pump(t)
	}
	p.dropSink(s)
	p.gauges()
}

// report tells Settled of a finished delivery's alerts.
func (p *Path) report(j *job) {
	if p.cfg.Settled == nil || j.kept {
		return
	}
	if j.lane != nil {
		name, _ := p.info(j.lane)
		p.cfg.Settled(name, &j.pend)
		return
	}
	for i, l := range j.group.members {
		name, _ := p.info(l)
		p.cfg.Settled(name, &j.group.alerts[i])
	}
}

// advance moves a lane on once its delivery or group is done.
func (p *Path) advance(l *lane) {
	l.busy = false
	p.schedule(l)
}

// join adds a monitor's alert to the open group of key, opening one if
// needed, and reports whether it did. A monitor joins only groups newer
// than every group already in its lane: then a group waits only for older
// ones and no two groups wait for each other.
func (p *Path) join(l *lane, key groupKey, a Pending) bool {
	g := p.groups[key]
	if g == nil {
		p.groupSeq++ // newer than every group in any lane
		g = &group{key: key, sink: p.sinkList[l.sink], seq: p.groupSeq, due: p.now() + int64(p.cfg.GroupWait), waits: 1}
		p.groups[key] = g
		p.groupQ = append(p.groupQ, g)
	} else if l.top >= g.seq {
		return false // already in it, or in a newer group: sent on its own
	}
	g.members = append(g.members, l)
	g.alerts = append(g.alerts, a)
	p.bytes += waitCost
	p.queued++
	l.top = g.seq
	if !l.busy && len(l.q) == 0 {
		l.busy = true // the lane waits for the group
		return true
	}
	l.q = append(l.q, Pending{Err: g})
	g.waits++
	return true
}

func (p *Path) now() int64 { return int64(time.Since(p.cfg.Epoch)) }

// NextDue is when the first open group is due (ns since the epoch), or -1.
func (p *Path) NextDue() int64 {
	if len(p.groupQ) == 0 {
		return -1
	}
	return p.groupQ[0].due
}

// Due closes the groups due by now: they take no more members and are
// sent once their members are ready.
func (p *Path) Due(now int64) {
	k := 0
	for k < len(p.groupQ) && p.groupQ[k].due <= now {
		g := p.groupQ[k]
		p.groupQ[k] = nil
		k++
		delete(p.groups, g.key)
		p.release(g)
	}
	p.groupQ = append(p.groupQ[:0], p.groupQ[k:]...)
	p.gauges()
}

// release drops one of the things a group waits for.
func (p *Path) release(g *group) {
	if g.waits--; g.waits == 0 {
		p.enqueue(g.sink, item{v: g}, urgent(g.key.code, g.key.flap))
	}
}

// Drain starts the shutdown: open groups are sent now, and no new group
// forms.
func (p *Path) Drain() {
	p.draining = true
	p.Due(math.MaxInt64)
}

// Idle reports whether nothing waits and nothing is in flight.
func (p *Path) Idle() bool {
	return p.lanes.len() == 0 && p.single.len() == 0 && p.inflight == 0 && len(p.groupQ) == 0
}

// Stats returns the deliveries in flight and the alerts waiting.
func (p *Path) Stats() (inflight, queued int) { return p.inflight, p.queued }

// ErrShutdown is the dead-letter reason of the alerts the shutdown
// deadline caught on the way.
var ErrShutdown = errors.New("engine shut down before the alert was delivered")

// Abandon is the shutdown deadline: every alert still waiting goes to the
// dead-letter hook, in each monitor's order; deliveries still running get
// grace to return (their context is cancelled), then go to the hook too.
// Close must follow.
func (p *Path) Abandon(grace time.Duration) {
	p.closed = true
	// left gives a waiting alert its fate: of lane l, or of monitor en
	// when it waited alone.
	left := func(l *lane, en ecs.Entity, a Pending) {
		if p.cfg.Keep {
			p.ctr.Kept.Add(1) // stays in the outbox for the next start
			return
		}
		var name string
		var labels map[string]string
		if l != nil {
			name, labels = p.info(l)
		} else {
			name, labels = p.cfg.Info(en)
		}
		p.deadLetter(name, labels, a, ErrShutdown)
	}
	for _, g := range p.groupQ {
		for i, l := range g.members {
			left(l, l.en, g.alerts[i])
		}
	}
	p.groupQ = nil
	clear(p.groups)
	for _, s := range p.sinks {
		for i := range s.ready {
			for s.ready[i].len() > 0 {
				it := s.ready[i].pop()
				switch v := it.v.(type) {
				case *group:
					for k, l := range v.members {
						left(l, l.en, v.alerts[k])
					}
				case *lane: // its alerts are in the lane
				default:
					// A lane whose head this is has the rest.
					left(p.lanes.get(it.en), it.en, it.pending())
				}
			}
		}
	}
	p.lanes.all(func(l *lane) bool {
		for _, a := range l.q {
			if a.place() == nil {
				left(l, l.en, a)
			}
		}
		l.q = nil
		return true
	})
	t := time.NewTimer(grace)
	defer t.Stop()
	for len(p.jobs) > 0 {
		select {
		case j := <-p.done:
			delete(p.jobs, j)
			p.report(j)
			p.end(j)
		case <-t.C:
			for j := range p.jobs {
				// Its outcome is unknown: kept, and sent again (with the
				// same key) at the next start; or dead-lettered.
				if !p.keep(j) {
					p.settle(j, ErrShutdown)
					p.report(j)
				}
			}
			clear(p.jobs)
		}
	}
	p.inflight, p.queued, p.bytes = 0, 0, 0
	p.lanes.clear()
	p.single.clear()
	clear(p.gone)
	p.gauges()
}

// Close stops the path: a delivery still running when it returns is not
// waited for by the loop.
func (p *Path) Close() { close(p.dead) }

// Wait waits for the delivery goroutines; they return once their calls
// return or the hard limit passes.
func (p *Path) Wait() { p.wg.Wait() }

// deadLetter hands a waiting alert of the monitor with name and labels
// to the hook.
func (p *Path) deadLetter(name string, labels map[string]string, a Pending, err error) {
	j := &job{a: alertFor(name, labels, &a)}
	p.settle(j, err)
	if p.cfg.Settled != nil {
		p.cfg.Settled(name, &a)
	}
}

// DeadLetter hands an alert of a monitor the engine no longer has to the
// dead-letter hook.
func (p *Path) DeadLetter(name string, a Pending, err error) {
	p.ctr.Raised.Add(1)
	j := &job{a: alertFor(name, nil, &a)}
	p.settle(j, err)
}

// settle gives an alert its one fate. It runs on any goroutine; the first
// call for a job wins.
func (p *Path) settle(j *job, err error) {
	if !j.settled.CompareAndSwap(false, true) {
		return
	}
	if err == nil {
		p.ctr.Sent.Add(1)
		return
	}
	p.ctr.Failed.Add(1)
	p.cfg.Log.Error("alert not delivered", "monitor", j.a.Monitor, "code", j.a.Code.String(), "tries", j.tries, "error", err)
	h := p.cfg.Undelivered
	if h == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			p.cfg.Log.Error("undelivered-alert hook panicked", "monitor", j.a.Monitor, "panic", fmt.Sprint(v))
		}
	}()
	h(j.a, err)
}

// Bounds of the wait between delivery tries.
const (
	maxBackoff    = time.Minute
	maxRetryAfter = 5 * time.Minute
)

// deliver runs on a goroutine of its own: it tries the notifier as the
// retry policy allows, settles the alert's fate and reports to the loop.
func (p *Path) deliver(j *job) {
	defer p.wg.Done()
	cfg := &p.cfg
	first := time.Now()
	for {
		if f := cfg.Fence; f != nil {
			if !f.Begin(j.shard) {
				p.fenced(j)
				break
			}
			j.begun = true
		}
		j.tries++
		err := p.try(j)
		if err == nil || p.base.Err() != nil || j.tries > cfg.Retries || !alert.Retryable(err) {
			if err != nil && p.base.Err() != nil {
				if p.keep(j) {
					break
				}
				if !errors.Is(err, ErrShutdown) {
					err = fmt.Errorf("%w: %w", ErrShutdown, err)
				}
			}
			p.settle(j, err)
			break
		}
		d := time.Duration(backoff.Delay(int64(cfg.Backoff), int64(maxBackoff), j.tries, 0.2, rand.Uint32()))
		var de *alert.DeliveryError
		if errors.As(err, &de) && de.RetryAfter > d {
			d = min(de.RetryAfter, maxRetryAfter)
		}
		if time.Since(first)+d > cfg.MaxElapsed {
			p.settle(j, err)
			break
		}
		if j.begun {
			j.begun = false
			cfg.Fence.End(j.shard) // the next try asks again
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-p.base.Done():
			t.Stop()
			if !p.keep(j) {
				p.settle(j, fmt.Errorf("%w: %w", ErrShutdown, err))
			}
			select {
			case p.done <- j:
			case <-p.dead:
			}
			return
		}
	}
	select {
	case p.done <- j:
	case <-p.dead:
	}
}

// try makes one Notify call. The call's own result wins over its
// deadline: it is waited for past the deadline until the hard limit,
// twice the timeout, and only then left behind.
func (p *Path) try(j *job) error {
	timeout := p.cfg.Timeout
	ctx, cancel := context.WithTimeout(p.base, timeout)
	defer cancel()
	out := make(chan error, 1)
	p.ctr.Running.Add(1)
	go func() {
		defer p.ctr.Running.Add(-1)
		out <- p.call(ctx, j)
	}()
	hard := time.NewTimer(2 * timeout)
	defer hard.Stop()
	select {
	case err := <-out:
		return err
	case <-hard.C:
	case <-p.base.Done():
		// The shutdown deadline: a call that honours its context returns
		// at once.
		g := time.NewTimer(50 * time.Millisecond)
		defer g.Stop()
		select {
		case err := <-out:
			return err
		case <-g.C:
		case <-hard.C:
		}
	}
	select {
	case err := <-out: // it returned as we gave up: its result wins
		return err
	default:
	}
	p.ctr.Abandoned.Add(1)
	p.cfg.Log.Warn("notify call abandoned past its hard limit", "monitor", j.a.Monitor, "timeout", timeout)
	return p.cfg.TimeoutErr("notify", timeout)
}

// call calls the notifier, recovering a panic.
func (p *Path) call(ctx context.Context, j *job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			stack := debug.Stack()
			p.cfg.Log.Debug("notifier panicked", "monitor", j.a.Monitor, "panic", fmt.Sprint(v), "stack", string(stack))
			err = p.cfg.PanicErr("notify", v, stack)
		}
	}()
	return j.sink.n.Notify(ctx, j.a)
}

// engineNotifier stands for the engine's notifier in sink keys.
type engineNotifier struct{}

// notifierID identifies a notifier, so that monitors sharing one share a
// sink and groups: for a notifier held by pointer (a pointer, a map such
// as an alert.Route, a channel, a function value such as a NotifierFunc
// closure), that pointer: the same closure given to many monitors is one
// notifier, two closures of one function literal are two; for a slice,
// its array and length; for another comparable value, the value; and nil,
// meaning "a notifier of its own", for any other.
func notifierID(n alert.Notifier, own bool) any {
	if !own {
		return engineNotifier{}
	}
	type ref struct {
		t reflect.Type
		p uintptr
		n int
	}
	v := reflect.ValueOf(n)
	switch v.Kind() {
	case reflect.Map, reflect.Func, reflect.Pointer, reflect.Chan:
		// The interface's data word is the value itself for these kinds;
		// for a function it is the closure, where reflect gives only the
		// code shared by every closure of one literal.
		return ref{t: v.Type(), p: uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&n))[1])}
	case reflect.Slice:
		return ref{t: v.Type(), p: v.Pointer(), n: v.Len()}
	}
	if v.Comparable() {
		return n
	}
	return nil
}

// SetHooks sets the Settled and Folded callbacks (see Config).
func (p *Path) SetHooks(settled, folded func(name string, p *Pending)) {
	p.cfg.Settled, p.cfg.Folded = settled, folded
}

// Rekey moves a monitor's lane to its new entity, when an update replaced
// it: its alerts on the way stay in order ahead of the new ones.
func (p *Path) Rekey(old, new ecs.Entity) {
	if l := p.lanes.get(old); l != nil {
		p.lanes.del(old)
		l.en = new
		if l.head != nil {
			l.head.en = new
		}
		p.lanes.put(l)
	} else if it := p.single.get(old); it != nil {
		p.single.del(old)
		it.en = new
		p.single.put(it)
	}
}

// fenced leaves a job the fence refused for the next owner of its shard:
// its records stay in the outbox, which that owner sends.
func (p *Path) fenced(j *job) {
	if j.settled.CompareAndSwap(false, true) {
		j.kept = true
		p.ctr.Fenced.Add(uint64(max(1, len(j.members))))
	}
}

// end ends the fence's allowance of a job's last try, once the loop has
// recorded its fate: a shard is handed over only after that.
func (p *Path) end(j *job) {
	if j.begun {
		j.begun = false
		p.cfg.Fence.End(j.shard)
	}
}
