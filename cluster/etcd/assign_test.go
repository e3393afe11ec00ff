package etcd

import (
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func counts(plan []string) map[string]int {
	c := map[string]int{}
	for _, m := range plan {
		c[m]++
	}
	return c
}

func moved(a, b []string) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// TestAssignBalancedAndStable checks the shard plan every member computes:
// each member holds its share (within one shard), and a change of
// membership moves few more shards than the ones that must move.
func TestAssignBalancedAndStable(t *testing.T) {
	const shards = DefaultShards
	for members := 1; members <= 7; members++ {
		var names []string
		for i := range members {
			names = append(names, fmt.Sprintf("member-%d", i))
		}
		plan := assign(shards, names)
		share := (shards + members - 1) / members
		for m, n := range counts(plan) {
			if n > share || n < shards/members {
				t.Errorf("%d members: %s holds %d shards, want %d to %d", members, m, n, shards/members, share)
			}
		}
		if got := len(counts(plan)); got != members {
			t.Errorf("%d members: %d of them hold shards", members, got)
		}
		// Same input, same plan, whatever the order of the list.
		rev := append([]string(nil), names...)
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		if moved(plan, assign(shards, rev)) != 0 {
			t.Errorf("%d members: the plan depends on the order of the member list", members)
		}
		// One member more: ideally shards/(members+1) move to it.
		grown := assign(shards, append(append([]string(nil), names...), "newcomer"))
		ideal := shards / (members + 1)
		if m := moved(plan, grown); m > ideal*3/2+2 {
			t.Errorf("%d members + 1: %d shards moved, want about %d", members, m, ideal)
		}
		// One member less: its shards must move, and few others.
		if members > 1 {
			shrunk := assign(shards, names[1:])
			must := counts(plan)[names[0]]
			if m := moved(plan, shrunk); m > must*3/2+2 {
				t.Errorf("%d members - 1: %d shards moved, %d had to", members, m, must)
			}
		}
	}
}

// TestBeginFencesByLeaseClock checks the fence: a shard not held, or
// being handed over, refuses; once the lease could have expired by the
// member's own clock every shard refuses, unless the member fails open.
func TestBeginFencesByLeaseClock(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		c, err := New(Config{Client: new(clientv3.Client), Shards: 4, FailOpen: failOpen, Logger: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		c.deadline.Store(c.now() + int64(time.Hour))
		if c.Begin(1) {
			t.Fatal("Begin allowed a shard the member does not hold")
		}
		c.token[1].Store(7)
		c.allowed[1].Store(true)
		if !c.Begin(1) {
			t.Fatal("Begin refused a held shard within the lease")
		}
		c.End(1)
		c.allowed[1].Store(false)
		if c.Begin(1) {
			t.Fatal("Begin allowed a shard being handed over")
		}
		c.allowed[1].Store(true)
		c.deadline.Store(c.now() - 1)
		if got := c.Begin(1); got != failOpen {
			t.Errorf("FailOpen %v: past the lease's deadline Begin says %v", failOpen, got)
		}
		if got := c.inflight[1].Load(); got != map[bool]int64{false: 0, true: 1}[failOpen] {
			t.Errorf("FailOpen %v: %d actions in flight", failOpen, got)
		}
	}
}
