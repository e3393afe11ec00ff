package etcd

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ziad/cpra"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Defaults of [Config].
const (
	DefaultShards         = 512
	DefaultTTL            = 10 * time.Second
	DefaultPrefix         = "/cpra/"
	DefaultReleaseTimeout = 30 * time.Second
)

// Config configures a member of a cluster.
type Config struct {
	// Client is the etcd client; required. The cluster does not close it.
	Client *clientv3.Client
	// Prefix is where the cluster's keys live ([DefaultPrefix]). Clusters
	// with different prefixes share nothing.
	Prefix string
	// Name names this member; unique among live members. Default: the
	// host name and the process ID.
	Name string
	// Location is where this member probes from (default "default"); see
	// [cpra.Monitor].Quorum.
	Location string
	// Shards is the number of shards ([DefaultShards]); the same on every
	// member.
	Shards int
	// TTL is the lease's time to live ([DefaultTTL]): a member that dies
	// is replaced after about this long. At least 2s.
	TTL time.Duration
	// FailOpen keeps a member cut off from etcd sending alerts and
	// repairing for the shards it last held, at the risk of doing so twice
	// when another member took them over. By default it holds them once
	// its lease could have expired.
	FailOpen bool
	// ReleaseTimeout bounds the wait for the deliveries and repairs in
	// flight when shards are handed over ([DefaultReleaseTimeout]).
	ReleaseTimeout time.Duration
	// Logger receives the cluster's events (default: slog.Default()).
	Logger *slog.Logger
}

// Stats are a member's counters and gauges.
type Stats struct {
	Members       int    // live members it last saw
	ShardsOwned   int    // shards it holds now
	Acquired      uint64 // shards it claimed
	Released      uint64 // shards it handed over, gracefully
	Lost          uint64 // shards it lost with its lease
	Fenced        uint64 // actions refused: the shard was not held, or held at risk
	LeaseLosses   uint64 // leases that expired under it
	Writes        uint64 // state keys written
	WriteBytes    uint64 // bytes of state written
	WriteConflict uint64 // state writes refused because the shard had moved on
	Records       int    // state records it holds for its shards
}

// Cluster is one member of a cluster on etcd: a [cpra.Cluster]. Give it
// to [cpra.WithCluster].
type Cluster struct {
	cfg   Config
	cli   *clientv3.Client
	log   *slog.Logger
	start time.Time // monotonic origin of deadline

	token    []atomic.Int64
	allowed  []atomic.Bool
	inflight []atomic.Int64
	deadline atomic.Int64 // ns since start: the lease may have expired after it

	mu     sync.Mutex
	states []map[string][]byte // owned shards' records; nil for others
	logs   []shardLog          // owned shards' keys
	owner  []int64             // owned shards' tokens, as Run knows them

	watching []bool // shards whose quorum monitors this member checks for their owner; Run's
	reports  reports
	obs      observations

	running atomic.Bool
	members atomic.Int64
	owned   atomic.Int64
	stats   struct {
		acquired, released, lost, fenced, leaseLosses atomic.Uint64
		writes, writeBytes, conflicts                 atomic.Uint64
		records                                       atomic.Int64
	}
}

// New returns a member of the cluster cfg describes. It talks to etcd
// only once Run runs.
func New(cfg Config) (*Cluster, error) {
	if cfg.Client == nil {
		return nil, errors.New("etcd cluster: Config.Client is nil")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.Name == "" {
		h, _ := os.Hostname()
		cfg.Name = h + "-" + strconv.Itoa(os.Getpid())
	}
	if strings.ContainsAny(cfg.Name, "/\x00") {
		return nil, fmt.Errorf("etcd cluster: Config.Name %q: no '/' allowed", cfg.Name)
	}
	if cfg.Location == "" {
		cfg.Location = "default"
	}
	if cfg.Shards == 0 {
		cfg.Shards = DefaultShards
	}
	if cfg.Shards < 1 || cfg.Shards > 1<<16 {
		return nil, fmt.Errorf("etcd cluster: Config.Shards %d: want 1 to 65536", cfg.Shards)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TTL < 2*time.Second {
		return nil, fmt.Errorf("etcd cluster: Config.TTL %v: want at least 2s", cfg.TTL)
	}
	if cfg.ReleaseTimeout <= 0 {
		cfg.ReleaseTimeout = DefaultReleaseTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	n := cfg.Shards
	return &Cluster{
		cfg: cfg, cli: cfg.Client, log: cfg.Logger.With("member", cfg.Name), start: time.Now(),
		token: make([]atomic.Int64, n), allowed: make([]atomic.Bool, n), inflight: make([]atomic.Int64, n),
		states: make([]map[string][]byte, n), logs: make([]shardLog, n), owner: make([]int64, n), watching: make([]bool, n),
		obs: observations{failing: map[int]map[string]bool{}, dirty: map[int]bool{}},
	}, nil
}

// Name returns the member's name.
func (c *Cluster) Name() string { return c.cfg.Name }

// Location returns the member's location.
func (c *Cluster) Location() string { return c.cfg.Location }

// Shards returns the number of shards.
func (c *Cluster) Shards() int { return c.cfg.Shards }

func (c *Cluster) now() int64 { return int64(time.Since(c.start)) }

// Begin reports whether the engine may act for shard s now, counting the
// action in flight if so.
func (c *Cluster) Begin(s int) bool {
	if s < 0 || s >= len(c.token) || c.token[s].Load() == 0 || !c.allowed[s].Load() ||
		!c.cfg.FailOpen && c.now() >= c.deadline.Load() {
		c.stats.fenced.Add(1)
		return false
	}
	c.inflight[s].Add(1)
	if !c.allowed[s].Load() { // a handover began meanwhile
		c.inflight[s].Add(-1)
		c.stats.fenced.Add(1)
		return false
	}
	return true
}

// End ends an action Begin allowed.
func (c *Cluster) End(s int) { c.inflight[s].Add(-1) }

// Token returns shard s's fencing token while the member holds it.
func (c *Cluster) Token(s int) int64 {
	if s < 0 || s >= len(c.token) {
		return 0
	}
	return c.token[s].Load()
}

// Stats returns the member's counters.
func (c *Cluster) Stats() Stats {
	return Stats{
		Members: int(c.members.Load()), ShardsOwned: int(c.owned.Load()),
		Acquired: c.stats.acquired.Load(), Released: c.stats.released.Load(), Lost: c.stats.lost.Load(),
		Fenced: c.stats.fenced.Load(), LeaseLosses: c.stats.leaseLosses.Load(),
		Writes: c.stats.writes.Load(), WriteBytes: c.stats.writeBytes.Load(), WriteConflict: c.stats.conflicts.Load(),
		Records: int(c.stats.records.Load()),
	}
}

func (c *Cluster) memberKey(name string) string { return c.cfg.Prefix + "members/" + name }
func (c *Cluster) ownerKey(s int) string        { return c.cfg.Prefix + "owner/" + strconv.Itoa(s) }
func (c *Cluster) stateKey(s int) string        { return c.cfg.Prefix + "state/" + strconv.Itoa(s) }

// Run takes part in the cluster until ctx is done; then it gives up its
// lease, which hands its shards over at once. It returns nil then.
func (c *Cluster) Run(ctx context.Context, h cpra.ClusterHost) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("etcd cluster: Run called twice")
	}
	defer c.running.Store(false)
	for ctx.Err() == nil {
		err := c.session(ctx, h)
		if ctx.Err() != nil {
			return nil
		}
		c.log.Warn("cluster session ended; joining again", "error", err)
		c.loseAll(h)
		select {
		case <-ctx.Done():
		case <-time.After(c.cfg.TTL / 4):
		}
	}
	return nil
}

// session runs one lease's life: join, keep the lease, follow the
// membership and claim and release shards, until the lease is lost or ctx
// is done.
func (c *Cluster) session(ctx context.Context, h cpra.ClusterHost) error {
	ttl := int64((c.cfg.TTL + time.Second - 1) / time.Second)
	sent := c.now()
	g, err := c.cli.Grant(ctx, ttl)
	if err != nil {
		return fmt.Errorf("granting a lease: %w", err)
	}
	lease := g.ID
	c.deadline.Store(sent + g.TTL*int64(time.Second))
	defer func() {
		// Leaving: the lease's end deletes the member key and the claims.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if _, err := c.cli.Revoke(rctx, lease); err != nil {
			c.log.Warn("could not give up the lease; it expires by itself", "error", err)
		}
	}()
	if _, err := c.cli.Put(ctx, c.memberKey(c.cfg.Name), c.cfg.Location, clientv3.WithLease(lease)); err != nil {
		return fmt.Errorf("joining: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		lost <- c.keepAlive(sctx, lease, g.TTL)
		cancel()
	}()
	defer wg.Wait()
	c.reports.reset()
	rev, err := c.loadReports(sctx)
	if err != nil {
		return fmt.Errorf("reading the locations' reports: %w", err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.publish(sctx, lease)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.followReports(sctx, rev)
	}()
	// Members coming and going, and claims let go, call for a new pass.
	joins := c.cli.Watch(clientv3.WithRequireLeader(sctx), c.cfg.Prefix+"members/", clientv3.WithPrefix())
	frees := c.cli.Watch(clientv3.WithRequireLeader(sctx), c.cfg.Prefix+"owner/", clientv3.WithPrefix(), clientv3.WithFilterPut())
	tick := time.NewTicker(c.cfg.TTL / 3)
	defer tick.Stop()
	for {
		if err := c.reconcile(sctx, h, lease); err != nil && sctx.Err() == nil {
			c.log.Warn("could not settle the shards; trying again", "error", err)
		}
		select {
		case <-sctx.Done():
			if ctx.Err() != nil {
				c.leave(h)
				return nil
			}
			return <-lost
		case _, ok := <-joins:
			if !ok {
				joins = c.cli.Watch(clientv3.WithRequireLeader(sctx), c.cfg.Prefix+"members/", clientv3.WithPrefix())
			}
			drain(joins, frees, 20*time.Millisecond)
		case _, ok := <-frees:
			if !ok {
				frees = c.cli.Watch(clientv3.WithRequireLeader(sctx), c.cfg.Prefix+"owner/", clientv3.WithPrefix(), clientv3.WithFilterPut())
			}
			drain(joins, frees, 20*time.Millisecond)
		case <-tick.C:
		}
	}
}

// drain lets a burst of changes settle into one pass: it takes the
// events arriving within d.
func drain(a, b clientv3.WatchChan, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case _, ok := <-a:
			if !ok {
				return
			}
		case _, ok := <-b:
			if !ok {
				return
			}
		case <-t.C:
			return
		}
	}
}

// keepAlive renews the lease every third of its TTL, moving the deadline
// to the time each successful renewal was sent plus the TTL, until ctx is
// done or etcd says the lease is gone.
func (c *Cluster) keepAlive(ctx context.Context, lease clientv3.LeaseID, ttl int64) error {
	every := time.Duration(ttl) * time.Second / 3
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		sent := c.now()
		rctx, cancel := context.WithTimeout(ctx, every)
		r, err := c.cli.KeepAliveOnce(rctx, lease)
		cancel()
		switch {
		case err == nil && r.TTL > 0:
			c.deadline.Store(sent + r.TTL*int64(time.Second))
			t.Reset(every)
		case err == nil, errors.Is(err, rpctypes.ErrLeaseNotFound):
			c.stats.leaseLosses.Add(1)
			return errors.New("the lease expired")
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			// etcd is out of reach: try again soon; Begin refuses once the
			// deadline passes.
			t.Reset(time.Second / 4)
		}
	}
}

// reconcile moves the member's shards toward what the membership says:
// it hands over the shards another member should hold and claims those it
// should hold and nobody does.
func (c *Cluster) reconcile(ctx context.Context, h cpra.ClusterHost, lease clientv3.LeaseID) error {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.TTL)
	defer cancel()
	r, err := c.cli.Get(rctx, c.cfg.Prefix+"members/", clientv3.WithPrefix())
	if err != nil {
		return err
	}
	names := make([]string, 0, len(r.Kvs))
	locs := map[string]string{}
	for _, kv := range r.Kvs {
		name := strings.TrimPrefix(string(kv.Key), c.cfg.Prefix+"members/")
		names = append(names, name)
		locs[name] = string(kv.Value)
	}
	c.members.Store(int64(len(names)))
	if !slices.Contains(names, c.cfg.Name) {
		return errors.New("this member's key is gone")
	}
	n := c.cfg.Shards
	plan := assign(n, names)
	var give, want []int
	for s := range n {
		mine := plan[s] == c.cfg.Name
		held := c.owner[s] != 0
		switch {
		case held && !mine:
			give = append(give, s)
		case !held && mine:
			want = append(want, s)
		}
	}
	if len(give) > 0 {
		if err := c.release(rctx, h, give); err != nil {
			return err
		}
	}
	if len(want) > 0 {
		if err := c.claim(rctx, h, lease, want); err != nil {
			return err
		}
	}
	return c.rewatch(rctx, h, plan, names, locs)
}

// assign gives each shard a member: the member that ranks it highest by
// rendezvous hashing among those not yet holding their share (the shards
// over the members, rounded down; the first members to reach it may
// take one more, as many as the division leaves over). Every member computes the same answer
// from the same list; when a member comes or goes, mostly the shards it
// gains or loses move, and members hold their share within one shard.
func assign(shards int, names []string) []string {
	plan := make([]string, shards)
	if len(names) == 0 {
		return plan
	}
	floor, extra := shards/len(names), shards%len(names) // extra members hold floor+1
	load := make(map[string]int, len(names))
	ranked := make([]ranking, len(names))
	for s := range shards {
		for i, m := range names {
			ranked[i] = ranking{m, rank(s, m)}
		}
		slices.SortFunc(ranked, func(a, b ranking) int {
			if a.v != b.v {
				if a.v > b.v {
					return -1
				}
				return 1
			}
			return strings.Compare(a.m, b.m)
		})
		for _, r := range ranked {
			if l := load[r.m]; l < floor || l == floor && extra > 0 {
				if l == floor {
					extra--
				}
				plan[s] = r.m
				load[r.m]++
				break
			}
		}
	}
	return plan
}

type ranking struct {
	m string
	v uint64
}

// rank is member m's rendezvous weight for shard s.
func rank(s int, m string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(m))
	f.Write([]byte{0, byte(s >> 8), byte(s)})
	v := f.Sum64()
	v ^= v >> 33
	v *= 0xff51afd7ed558ccd
	v ^= v >> 33
	return v
}

// claim claims the shards nobody holds among want, reading each one's
// state in the same transaction, and gives them to the engine.
func (c *Cluster) claim(ctx context.Context, h cpra.ClusterHost, lease clientv3.LeaseID, want []int) error {
	var got []cpra.OwnedShard
	take := func(s int, tok int64, kvs []*mvccpb.KeyValue) {
		recs, lg, err := loadShard(kvs)
		if err != nil {
			c.log.Error("the state of a shard cannot be read; its monitors start afresh", "shard", s, "error", err)
			recs, lg = map[string][]byte{}, shardLog{fresh: true}
		}
		c.mu.Lock()
		c.states[s] = recs
		c.logs[s] = lg
		c.owner[s] = tok
		c.mu.Unlock()
		c.stats.records.Add(int64(len(recs)))
		os := cpra.OwnedShard{Shard: s, Token: tok, Records: make([]cpra.Change, 0, len(recs))}
		for _, k := range slices.Sorted(maps.Keys(recs)) {
			os.Records = append(os.Records, cpra.Change{Key: []byte(k), Value: recs[k], Shard: s, Token: tok})
		}
		got = append(got, os)
		c.token[s].Store(tok)
	}
	// Shards are claimed in batches; a batch fails whole when one of its
	// shards is still held, and its shards are then claimed one by one.
	for len(want) > 0 {
		batch := want[:min(len(want), txnShards)]
		want = want[len(batch):]
		r, err := c.claimTxn(ctx, lease, batch)
		if err != nil {
			return err
		}
		if r.Succeeded {
			for i, s := range batch {
				take(s, r.Header.Revision, r.Responses[len(batch)+i].GetResponseRange().Kvs)
			}
			continue
		}
		for _, s := range batch {
			r, err := c.claimTxn(ctx, lease, []int{s})
			if err != nil {
				return err
			}
			if r.Succeeded {
				take(s, r.Header.Revision, r.Responses[1].GetResponseRange().Kvs)
			}
			// Otherwise its owner has not let it go yet: the deletion of
			// its claim wakes us.
		}
	}
	if len(got) == 0 {
		return nil
	}
	// Allowed before the engine hears of them: the alerts it resends as it
	// resumes them go out at once.
	for _, g := range got {
		c.allowed[g.Shard].Store(true)
	}
	if err := h.Own(got); err != nil {
		return fmt.Errorf("handing shards to the engine: %w", err)
	}
	c.owned.Add(int64(len(got)))
	c.stats.acquired.Add(uint64(len(got)))
	c.log.Info("shards claimed", "count", len(got), "owned", c.owned.Load())
	return nil
}

// claimTxn claims shards nobody holds, under the lease, reading their
// state in the same transaction. All the claims share one revision: the
// shards' token.
func (c *Cluster) claimTxn(ctx context.Context, lease clientv3.LeaseID, shards []int) (*clientv3.TxnResponse, error) {
	cmps := make([]clientv3.Cmp, len(shards))
	ops := make([]clientv3.Op, 0, 2*len(shards))
	for i, s := range shards {
		cmps[i] = clientv3.Compare(clientv3.CreateRevision(c.ownerKey(s)), "=", 0)
		ops = append(ops, clientv3.OpPut(c.ownerKey(s), c.cfg.Name, clientv3.WithLease(lease)))
	}
	for _, s := range shards {
		ops = append(ops, clientv3.OpGet(c.stateKey(s)+"/", clientv3.WithPrefix()))
	}
	r, err := c.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return nil, fmt.Errorf("claiming %d shards: %w", len(shards), err)
	}
	return r, nil
}

// release hands shards over gracefully: no new action, the engine stops
// running them, the actions in flight end, their state is written, and
// the claims are deleted.
func (c *Cluster) release(ctx context.Context, h cpra.ClusterHost, give []int) error {
	for _, s := range give {
		c.allowed[s].Store(false)
	}
	if err := h.Disown(give); err != nil {
		return fmt.Errorf("taking shards from the engine: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, c.cfg.ReleaseTimeout)
	defer cancel()
	for _, s := range give {
		for c.inflight[s].Load() > 0 && wctx.Err() == nil {
			sleep(wctx, 5*time.Millisecond)
		}
	}
	if err := h.Flush(wctx); err != nil {
		c.log.Warn("the state of shards being handed over was not all written", "error", err)
	}
	for _, s := range give {
		c.mu.Lock()
		tok := c.owner[s]
		c.mu.Unlock()
		_, err := c.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(c.ownerKey(s)), "=", tok)).
			Then(clientv3.OpDelete(c.ownerKey(s))).Commit()
		if err != nil {
			return fmt.Errorf("letting shard %d go: %w", s, err)
		}
		c.drop(s)
		c.stats.released.Add(1)
	}
	c.log.Info("shards handed over", "count", len(give), "owned", c.owned.Load())
	return nil
}

// drop forgets a shard the member no longer holds.
func (c *Cluster) drop(s int) {
	c.allowed[s].Store(false)
	c.token[s].Store(0)
	c.mu.Lock()
	if c.owner[s] != 0 {
		c.owned.Add(-1)
	}
	c.stats.records.Add(-int64(len(c.states[s])))
	c.owner[s], c.states[s] = 0, nil
	c.mu.Unlock()
}

// loseAll forgets every shard after the lease was lost: their claims are
// gone, others may hold them, and the engine stops running them without
// writing anything.
func (c *Cluster) loseAll(h cpra.ClusterHost) {
	c.unwatchAll(h)
	var gone []int
	for s := range c.owner {
		c.allowed[s].Store(false)
		c.token[s].Store(0)
		if c.owner[s] != 0 {
			gone = append(gone, s)
		}
	}
	if len(gone) == 0 {
		return
	}
	if err := h.Disown(gone); err != nil {
		c.log.Warn("could not take the lost shards from the engine", "error", err)
	}
	for _, s := range gone {
		c.drop(s)
	}
	c.stats.lost.Add(uint64(len(gone)))
	c.log.Warn("shards lost with the lease", "count", len(gone))
}

// leave ends the member's part when its engine has shut down: nothing
// more is written, and the lease's revocation deletes the claims.
func (c *Cluster) leave(cpra.ClusterHost) {
	for s := range c.owner {
		c.allowed[s].Store(false)
		c.token[s].Store(0)
		if c.owner[s] != 0 {
			c.drop(s)
			c.stats.released.Add(1)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// opContext bounds one etcd call made outside Run.
func (c *Cluster) opContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.cfg.TTL)
}
