package etcd

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ziad/cpra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Location quorum. The owner of a shard checks its monitors itself: that
// is its location's view. In every other location with a live member,
// one member (by rendezvous among that location's members) checks the
// shard's monitors that have a quorum and reports the ones failing, as
// one key per shard and location, under its lease: written when the set
// changes and renewed every third of the TTL while it is not empty. The
// owner follows the reports and counts, at each of its checks, the
// locations that see the monitor fail.

// observations are the failing monitors this member sees from its
// location, for the shards it watches.
type observations struct {
	mu      sync.Mutex
	failing map[int]map[string]bool
	dirty   map[int]bool
}

// report is one location's latest report for one shard.
type report struct {
	failing map[string]bool
	seen    int64 // c.now() when it arrived
}

// reports are the other locations' reports, by shard and location.
type reports struct {
	mu sync.RWMutex
	by map[int]map[string]report
}

func (r *reports) reset() {
	r.mu.Lock()
	r.by = map[int]map[string]report{}
	r.mu.Unlock()
}

func (c *Cluster) obsKey(s int, loc string) string {
	return c.cfg.Prefix + "obs/" + strconv.Itoa(s) + "/" + loc
}

// parseObsKey returns the shard and location of a report's key.
func (c *Cluster) parseObsKey(k string) (int, string, bool) {
	rest, ok := strings.CutPrefix(k, c.cfg.Prefix+"obs/")
	if !ok {
		return 0, "", false
	}
	sh, loc, ok := strings.Cut(rest, "/")
	s, err := strconv.Atoi(sh)
	return s, loc, ok && err == nil && s >= 0 && s < c.cfg.Shards
}

// Observe records a watched monitor's check from this member's location.
func (c *Cluster) Observe(s int, monitor string, failed bool) {
	o := &c.obs
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.failing[s]
	if m == nil {
		if !failed {
			return
		}
		m = map[string]bool{}
		o.failing[s] = m
	}
	if m[monitor] != failed {
		if failed {
			m[monitor] = true
		} else {
			delete(m, monitor)
		}
		o.dirty[s] = true
	}
}

// Verdict counts the locations that see a monitor fail: this member's
// own (failed) and those whose fresh report lists it.
func (c *Cluster) Verdict(s int, monitor string, failed bool, quorum int) (bool, []string) {
	var where []string
	if failed {
		where = append(where, c.cfg.Location)
	}
	fresh := c.now() - 3*int64(c.cfg.TTL)
	c.reports.mu.RLock()
	for loc, r := range c.reports.by[s] {
		if loc != c.cfg.Location && r.seen >= fresh && r.failing[monitor] {
			where = append(where, loc)
		}
	}
	c.reports.mu.RUnlock()
	slices.Sort(where)
	return len(where) >= max(quorum, 1), where
}

// rewatch makes this member watch, for their owners, the shards its
// location should watch through it: those its location's rendezvous
// gives it and whose owner is elsewhere.
func (c *Cluster) rewatch(ctx context.Context, h cpra.ClusterHost, plan, names []string, locs map[string]string) error {
	var mates []string
	for _, n := range names {
		if locs[n] == c.cfg.Location {
			mates = append(mates, n)
		}
	}
	local := assign(c.cfg.Shards, mates)
	var on, off []int
	for s := range c.cfg.Shards {
		want := local[s] == c.cfg.Name && plan[s] != c.cfg.Name && locs[plan[s]] != c.cfg.Location
		switch {
		case want && !c.watching[s]:
			on = append(on, s)
		case !want && c.watching[s]:
			off = append(off, s)
		}
	}
	if len(off) > 0 {
		if err := h.Watch(off, false); err != nil {
			return err
		}
		for _, s := range off {
			c.watching[s] = false
		}
		c.forget(ctx, off)
	}
	if len(on) > 0 {
		if err := h.Watch(on, true); err != nil {
			return err
		}
		for _, s := range on {
			c.watching[s] = true
		}
	}
	return nil
}

// forget drops the observations of shards no longer watched, and their
// reports.
func (c *Cluster) forget(ctx context.Context, shards []int) {
	o := &c.obs
	o.mu.Lock()
	for _, s := range shards {
		delete(o.failing, s)
		delete(o.dirty, s)
	}
	o.mu.Unlock()
	for _, s := range shards {
		c.cli.Delete(ctx, c.obsKey(s, c.cfg.Location))
	}
}

// unwatchAll stops every watch, when the lease is lost.
func (c *Cluster) unwatchAll(h cpra.ClusterHost) {
	var off []int
	for s, w := range c.watching {
		if w {
			off = append(off, s)
			c.watching[s] = false
		}
	}
	if len(off) > 0 {
		h.Watch(off, false)
	}
	c.obs.mu.Lock()
	clear(c.obs.failing)
	clear(c.obs.dirty)
	c.obs.mu.Unlock()
}

// publish writes the reports of the watched shards whose failing set
// changed, every 100ms, and renews the non-empty ones every third of the
// TTL, under the lease.
func (c *Cluster) publish(ctx context.Context, lease clientv3.LeaseID) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	renew := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		all := time.Since(renew) >= c.cfg.TTL/3
		if all {
			renew = time.Now()
		}
		var ops []clientv3.Op
		o := &c.obs
		o.mu.Lock()
		for s, m := range o.failing {
			if !o.dirty[s] && !(all && len(m) > 0) {
				continue
			}
			delete(o.dirty, s)
			if len(m) == 0 {
				delete(o.failing, s)
				ops = append(ops, clientv3.OpDelete(c.obsKey(s, c.cfg.Location)))
				continue
			}
			set := make(map[string][]byte, len(m))
			for name := range m {
				set[name] = nil
			}
			ops = append(ops, clientv3.OpPut(c.obsKey(s, c.cfg.Location), string(encodeState(set)), clientv3.WithLease(lease)))
		}
		o.mu.Unlock()
		for len(ops) > 0 {
			n := min(len(ops), txnShards)
			rctx, cancel := context.WithTimeout(ctx, c.cfg.TTL)
			_, err := c.cli.Txn(rctx).Then(ops[:n]...).Commit()
			cancel()
			if err != nil && ctx.Err() == nil {
				c.log.Warn("could not publish this location's reports", "error", err)
			}
			ops = ops[n:]
		}
	}
}

// loadReports reads the reports there are, and returns the revision to
// follow them from.
func (c *Cluster) loadReports(ctx context.Context) (int64, error) {
	r, err := c.cli.Get(ctx, c.cfg.Prefix+"obs/", clientv3.WithPrefix())
	if err != nil {
		return 0, err
	}
	for _, kv := range r.Kvs {
		c.take(string(kv.Key), kv.Value)
	}
	return r.Header.Revision + 1, nil
}

// followReports follows the reports as they change from revision rev.
func (c *Cluster) followReports(ctx context.Context, rev int64) {
	for ctx.Err() == nil {
		for w := range c.cli.Watch(clientv3.WithRequireLeader(ctx), c.cfg.Prefix+"obs/", clientv3.WithPrefix(), clientv3.WithRev(rev)) {
			if w.Header.Revision > 0 {
				rev = w.Header.Revision + 1
			}
			for _, ev := range w.Events {
				if ev.Type == clientv3.EventTypeDelete {
					c.take(string(ev.Kv.Key), nil)
				} else {
					c.take(string(ev.Kv.Key), ev.Kv.Value)
				}
			}
		}
		sleep(ctx, time.Second/4)
	}
}

// take records a report, or its deletion (nil).
func (c *Cluster) take(key string, v []byte) {
	s, loc, ok := c.parseObsKey(key)
	if !ok || loc == c.cfg.Location {
		return
	}
	var failing map[string]bool
	if v != nil {
		set, err := decodeState(v)
		if err != nil {
			c.log.Warn("a location's report cannot be read", "key", key, "error", err)
			return
		}
		failing = make(map[string]bool, len(set))
		for name := range set {
			failing[name] = true
		}
	}
	r := &c.reports
	r.mu.Lock()
	defer r.mu.Unlock()
	if v == nil {
		delete(r.by[s], loc)
		return
	}
	if r.by[s] == nil {
		r.by[s] = map[string]report{}
	}
	r.by[s][loc] = report{failing: failing, seen: c.now()}
}
