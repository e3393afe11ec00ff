package etcd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/pulse"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// fleet is a loopback fleet of targets: /m/<i> answers 200, or 503 while
// target i is down. It counts the checks each member makes of each target
// (members say who they are in a header).
type fleet struct {
	srv  *httptest.Server
	mu   sync.Mutex
	down map[int]bool
	hits map[int]map[string]int
}

func newFleet(t *testing.T) *fleet {
	f := &fleet{down: map[int]bool{}, hits: map[int]map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/m/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		if f.hits[i] == nil {
			f.hits[i] = map[string]int{}
		}
		f.hits[i][r.Header.Get("X-Member")]++
		down := f.down[i]
		f.mu.Unlock()
		if down {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fleet) setDown(from, to int, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := from; i < to; i++ {
		f.down[i] = down
	}
}

// checkers returns, and forgets, who checked each target since the last
// call.
func (f *fleet) checkers() map[int]map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hits
	f.hits = map[int]map[string]int{}
	return h
}

// receiver is one alert receiver for the whole cluster, shaped like
// PagerDuty: it tells copies apart by Alert.Key.
type receiver struct {
	mu    sync.Mutex
	byKey map[string]int
	codes map[string][]alert.Code // by monitor, in delivery order
}

func newReceiver() *receiver {
	return &receiver{byKey: map[string]int{}, codes: map[string][]alert.Code{}}
}

func (r *receiver) Notify(_ context.Context, a alert.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byKey[a.Key]++
	if r.byKey[a.Key] == 1 {
		r.codes[a.Monitor] = append(r.codes[a.Monitor], a.Code)
	}
	return nil
}

func (r *receiver) count(monitor string, code alert.Code) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.codes[monitor] {
		if c == code {
			n++
		}
	}
	return n
}

// duplicates returns the deliveries beyond the first of each key.
func (r *receiver) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.byKey {
		n += c - 1
	}
	return n
}

// member is one engine of the cluster with its etcd client.
type member struct {
	name string
	cli  *clientv3.Client
	cl   *Cluster
	eng  *cpra.Engine
	down atomic.Bool
}

const testShards = 32

// testTTL is the members' lease TTL: short, so that failovers are quick,
// and long enough that a member of a race-enabled test on a busy machine
// (etcd's server is instrumented too) renews it in time.
const testTTL = 4 * time.Second

// spec describes a member to start.
type spec struct {
	endpoint, name, location string
	notify                   alert.Notifier
	monitors                 []cpra.Monitor // the same on every member
	// each, if given, changes monitor i on this member; a monitor left
	// without a Check checks the fleet's target i, telling the member's
	// name in a header.
	each  func(member string, i int, m *cpra.Monitor)
	fleet *fleet
	opts  []cpra.Option // for the engine, beyond the cluster, notifier and logger
}

// fleetMonitors returns n monitors of the fleet's targets, each changed
// by edit if given.
func fleetMonitors(n int, edit func(*cpra.Monitor)) []cpra.Monitor {
	ms := make([]cpra.Monitor, n)
	for i := range ms {
		ms[i] = cpra.Monitor{Name: "svc-" + strconv.Itoa(i), Interval: 100 * time.Millisecond, Timeout: 2 * time.Second, FailureThreshold: 2}
		if edit != nil {
			edit(&ms[i])
		}
	}
	return ms
}

// start starts a member: its etcd client, its cluster member and its
// engine with the monitors, stopped when the test ends.
func start(t *testing.T, sp spec) *member {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{sp.endpoint}, DialTimeout: 2 * time.Second,
		DialKeepAliveTime: time.Second, DialKeepAliveTimeout: time.Second, Logger: nopZap()})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := New(Config{Client: cli, Name: sp.name, Location: sp.location, Shards: testShards, TTL: testTTL, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := cpra.New(append([]cpra.Option{cpra.WithCluster(cl), cpra.WithNotifier(sp.notify), cpra.WithLogger(quietLog())}, sp.opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range sp.monitors {
		if sp.each != nil {
			sp.each(sp.name, i, &m)
		}
		if m.Check == nil {
			m.Check = pulse.MustHTTP(sp.fleet.srv.URL+"/m/"+strconv.Itoa(i), pulse.WithHeader("X-Member", sp.name))
		}
		if _, err := eng.Add(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := &member{name: sp.name, cli: cli, cl: cl, eng: eng}
	t.Cleanup(func() { m.stop(context.Background()) })
	return m
}

// startMember starts a member running n monitors of the fleet.
func startMember(t *testing.T, endpoint, name string, f *fleet, n int, rcv alert.Notifier) *member {
	t.Helper()
	return start(t, spec{endpoint: endpoint, name: name, notify: rcv, fleet: f, monitors: fleetMonitors(n, nil)})
}

// waitCode waits until every monitor named prefix+i, i in [0, n), has
// had an alert of code delivered.
func waitCode(t *testing.T, rcv *receiver, prefix string, n int, code alert.Code) {
	t.Helper()
	waitFor(t, "a "+code.String()+" for every "+prefix+"*", 60*time.Second, func() bool {
		for i := range n {
			if rcv.count(prefix+strconv.Itoa(i), code) == 0 {
				return false
			}
		}
		return true
	})
}

// oneEach checks that every monitor named prefix+i, i in [0, n), was
// told one red and one green, and that no alert was delivered twice.
func oneEach(t *testing.T, rcv *receiver, prefix string, n int) {
	t.Helper()
	for i := range n {
		name := prefix + strconv.Itoa(i)
		if r, g := rcv.count(name, alert.Red), rcv.count(name, alert.Green); r != 1 || g != 1 {
			t.Errorf("%s: %d reds and %d greens (codes %v), want one of each", name, r, g, rcv.codes[name])
		}
	}
	if d := rcv.duplicates(); d != 0 {
		t.Errorf("%d alerts delivered twice with the same key: %v", d, rcv.dupKeys())
	}
}

// stop shuts the member down: gracefully with a live context, like a
// crash with a cancelled one after its client was closed.
func (m *member) stop(ctx context.Context) {
	if m.down.Swap(true) {
		return
	}
	m.eng.Shutdown(ctx)
	m.cli.Close()
}

// waitFor polls cond until it holds or a generous limit passes.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func owned(ms ...*member) (sum int, each []int) {
	for _, m := range ms {
		n := m.eng.Stats().ShardsOwned
		sum += n
		each = append(each, n)
	}
	return sum, each
}

// settled waits until the live members hold every shard once between
// them, each at least one.
func settled(t *testing.T, ms ...*member) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range ms {
				t.Logf("%s: %+v", m.name, m.cl.Stats())
			}
		}
	})
	waitFor(t, "shards spread over the members", 2*time.Minute, func() bool {
		sum, each := owned(ms...)
		for _, n := range each {
			if n == 0 {
				return false
			}
		}
		held := 0
		for _, m := range ms {
			held += m.cl.Stats().ShardsOwned
		}
		return sum == testShards && held == testShards
	})
}

// exactlyOnce checks that over a few intervals every target was checked,
// each by exactly one member.
func exactlyOnce(t *testing.T, f *fleet, n int, live ...*member) map[int]string {
	t.Helper()
	// Checks a member started before it handed a shard over may still
	// arrive: let them land before the window opens.
	time.Sleep(time.Second)
	f.checkers()
	time.Sleep(2 * time.Second)
	hits := f.checkers()
	by := map[int]string{}
	names := map[string]bool{}
	for _, m := range live {
		names[m.name] = true
	}
	for i := range n {
		if len(hits[i]) != 1 {
			t.Fatalf("target %d was checked by %v, want exactly one member", i, hits[i])
		}
		for name := range hits[i] {
			if !names[name] {
				t.Fatalf("target %d was checked by %s, which is not a live member", i, name)
			}
			by[i] = name
		}
	}
	return by
}

// TestThreeMembersShareFailOverAndResume runs three engines on one real
// etcd: every monitor runs on exactly one; an incident is reported once;
// one member then crashes (its etcd client is cut and it stops without
// handing over); it fences itself off before anyone takes its shards; the
// others take them within TTL + 5 s and carry the open episodes on: no
// second red, and one green each when the targets recover; no alert is
// delivered twice.
func TestThreeMembersShareFailOverAndResume(t *testing.T) {
	ep := startEtcd(t)
	f := newFleet(t)
	rcv := newReceiver()
	const n = 200
	a := startMember(t, ep, "a", f, n, rcv)
	b := startMember(t, ep, "b", f, n, rcv)
	c := startMember(t, ep, "c", f, n, rcv)
	settled(t, a, b, c)
	by := exactlyOnce(t, f, n, a, b, c)
	perMember := map[string]int{}
	for _, name := range by {
		perMember[name]++
	}
	t.Logf("monitors per member: %v", perMember)
	// Each member lists the monitors the others run as away.
	for _, m := range []*member{a, b, c} {
		cnt := m.eng.Counts()
		if cnt.Monitors != n || cnt.Away != n-perMember[m.name] {
			t.Errorf("%s counts %d monitors, %d away; want %d, %d away", m.name, cnt.Monitors, cnt.Away, n, n-perMember[m.name])
		}
		away := 0
		for _, st := range m.eng.Statuses(cpra.StatusFilter{Conditions: cpra.ConditionAway}) {
			if !st.Away {
				t.Errorf("%s lists %s as away, and its status says it is not", m.name, st.Name)
			}
			away++
		}
		if away != cnt.Away {
			t.Errorf("%s lists %d monitors away, counts %d", m.name, away, cnt.Away)
		}
	}

	// An incident: 30 targets go down, each is reported red once.
	f.setDown(0, 30, true)
	waitCode(t, rcv, "svc-", 30, alert.Red)
	// Let the deliveries' fates be written: an alert whose fate was not
	// yet in etcd at the crash is in flight, and is sent again, with its
	// key. Then the member that runs the most of them crashes.
	time.Sleep(500 * time.Millisecond)
	var victim *member
	count := map[string]int{}
	for i := range 30 {
		count[by[i]]++
	}
	for _, m := range []*member{a, b, c} {
		if victim == nil || count[m.name] > count[victim.name] {
			victim = m
		}
	}
	var survivors []*member
	for _, m := range []*member{a, b, c} {
		if m != victim {
			survivors = append(survivors, m)
		}
	}
	if count[victim.name] == 0 {
		t.Fatalf("no target down runs on a member: %v", by)
	}
	crash := time.Now()
	victimShards := victim.cl.Stats().ShardsOwned
	before := survivors[0].cl.Stats().Acquired + survivors[1].cl.Stats().Acquired
	victim.cli.Close() // cut from etcd: it can neither renew nor hand over

	// It fences itself off by its own clock...
	fenced := waitFor(t, "the crashed member fences itself off", 30*time.Second, func() bool {
		return victim.cl.now() >= victim.cl.deadline.Load()
	})
	took := survivors[0].cl.Stats().Acquired + survivors[1].cl.Stats().Acquired
	if took != before {
		t.Fatalf("the survivors claimed %d shards before the crashed member fenced itself off", took-before)
	}
	// ...and the survivors take its shards over: within TTL + 5 s on a
	// machine that is not overloaded (BenchmarkCluster measures it; the
	// limit here leaves a busy machine room).
	waitFor(t, "the survivors hold every shard", 30*time.Second, func() bool {
		sum, _ := owned(survivors...)
		return sum == testShards
	})
	failover := time.Since(crash)
	victim.stop(canceled())
	t.Logf("crashed member held %d shards (%d targets down); fenced off after %v; failed over after %v",
		victimShards, count[victim.name], fenced.Round(time.Millisecond), failover.Round(time.Millisecond))
	exactlyOnce(t, f, n, survivors...)

	// The open episodes carried on: no second red; recovery sends one
	// green each.
	time.Sleep(time.Second)
	f.setDown(0, 30, false)
	waitCode(t, rcv, "svc-", 30, alert.Green)
	time.Sleep(500 * time.Millisecond)
	oneEach(t, rcv, "svc-", 30)
	for i := 30; i < n; i++ {
		if codes := rcv.codes["svc-"+strconv.Itoa(i)]; len(codes) != 0 {
			t.Errorf("svc-%d was never down, yet alerted %v", i, codes)
		}
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// slowReceiver is a receiver that takes its time, so that alerts are
// queued and in flight when shards change hands.
type slowReceiver struct {
	*receiver
	delay time.Duration
}

func (s slowReceiver) Notify(ctx context.Context, a alert.Alert) error {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.receiver.Notify(ctx, a)
}

// TestGracefulHandoverLosesAndDuplicatesNothing hands shards over while
// alerts are queued and in flight at a slow receiver: a member shuts down
// in the middle of an outage's reds, and a new member joins in the middle
// of the recovery's greens. Every target gets exactly one red and one
// green, and no key is delivered twice.
func TestGracefulHandoverLosesAndDuplicatesNothing(t *testing.T) {
	ep := startEtcd(t)
	f := newFleet(t)
	rcv := newReceiver()
	slow := slowReceiver{rcv, 150 * time.Millisecond}
	const n, bad = 150, 60
	a := startMember(t, ep, "a", f, n, slow)
	b := startMember(t, ep, "b", f, n, slow)
	c := startMember(t, ep, "c", f, n, slow)
	settled(t, a, b, c)

	f.setDown(0, bad, true)
	// Shut b down as soon as its first reds are on the way.
	waitFor(t, "reds on the way", 30*time.Second, func() bool { return b.eng.Stats().AlertsRaised > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	b.stop(ctx)
	cancel()
	settled(t, a, c)
	waitCode(t, rcv, "svc-", bad, alert.Red)

	f.setDown(0, bad, false)
	waitFor(t, "greens on the way", 30*time.Second, func() bool {
		return a.eng.Stats().AlertsRaised+c.eng.Stats().AlertsRaised > 2*bad
	})
	d := startMember(t, ep, "d", f, n, slow)
	settled(t, a, c, d)
	waitCode(t, rcv, "svc-", bad, alert.Green)
	time.Sleep(time.Second)
	oneEach(t, rcv, "svc-", bad)
	var handed uint64
	for _, m := range []*member{a, b, c, d} {
		handed += m.eng.Stats().AlertsFenced
	}
	t.Logf("alerts left to the next owner at handovers: %d; shards a:%d c:%d d:%d",
		handed, a.cl.Stats().ShardsOwned, c.cl.Stats().ShardsOwned, d.cl.Stats().ShardsOwned)
}

// TestFormerOwnerCannotOverwriteState: a member whose claim on a shard is
// gone (its lease expired while it was away) writes the shard's state
// with its old token; the write is refused, and the new owner's state
// stands.
func TestFormerOwnerCannotOverwriteState(t *testing.T) {
	ep := startEtcd(t)
	cli := newClient(t, ep)
	old, err := New(Config{Client: cli, Name: "old", Shards: testShards, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lease, err := cli.Grant(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	const s = 3
	r, err := old.claimTxn(ctx, lease.ID, []int{s})
	if err != nil || !r.Succeeded {
		t.Fatalf("claim: %v %v", r, err)
	}
	tok := r.Header.Revision
	old.owner[s], old.states[s], old.logs[s] = tok, map[string][]byte{}, shardLog{fresh: true}
	old.token[s].Store(tok)
	if err := old.Write([]cpra.Change{{Key: []byte("k"), Value: []byte("old-1"), Shard: s, Token: tok}}); err != nil {
		t.Fatal(err)
	}
	// The lease ends behind the member's back; another member claims the
	// shard and writes its own state.
	if _, err := cli.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	next, _ := New(Config{Client: cli, Name: "next", Shards: testShards, Logger: quietLog()})
	lease2, _ := cli.Grant(ctx, 5)
	r, err = next.claimTxn(ctx, lease2.ID, []int{s})
	if err != nil || !r.Succeeded {
		t.Fatalf("the next member could not claim the shard: %v %v", r, err)
	}
	tok2 := r.Header.Revision
	if tok2 <= tok {
		t.Fatalf("token went from %d to %d, want it to grow", tok, tok2)
	}
	recs, lg, err := loadShard(r.Responses[1].GetResponseRange().Kvs)
	if err != nil {
		t.Fatal(err)
	}
	if string(recs["k"]) != "old-1" {
		t.Fatalf("the next owner read %q, want the state the former owner wrote", recs["k"])
	}
	next.owner[s], next.states[s], next.logs[s] = tok2, recs, lg
	next.token[s].Store(tok2)
	if err := next.Write([]cpra.Change{{Key: []byte("k"), Value: []byte("next-1"), Shard: s, Token: tok2}}); err != nil {
		t.Fatal(err)
	}
	// The former owner comes back and writes with its old token.
	if err := old.Write([]cpra.Change{{Key: []byte("k"), Value: []byte("old-2"), Shard: s, Token: tok}}); err != nil {
		t.Fatal(err)
	}
	if c := old.Stats().WriteConflict; c != 1 {
		t.Errorf("former owner's write conflicts: %d, want 1", c)
	}
	g, err := cli.Get(ctx, old.stateKey(s)+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	recs, _, _ = loadShard(g.Kvs)
	if string(recs["k"]) != "next-1" {
		t.Errorf("shard state holds %q, want the new owner's %q", recs["k"], "next-1")
	}
	// A change stamped with a token the member does not hold is dropped
	// before it reaches etcd.
	if err := next.Write([]cpra.Change{{Key: []byte("k"), Value: []byte("stale"), Shard: s, Token: tok}}); err != nil {
		t.Fatal(err)
	}
	if w := next.Stats().Writes; w != 1 {
		t.Errorf("writes of the new owner: %d, want 1 (the stale change is dropped)", w)
	}
	cli.Revoke(ctx, lease2.ID)
}
