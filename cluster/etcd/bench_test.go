package etcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/pulse"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// BenchmarkCluster runs a fleet over three engines of one cluster on a
// real etcd, in this process, and reports:
//
//   - settle-s: from Start to every shard held;
//   - share-min/max-pct: the least and most of the checks one engine ran
//     over a steady window, in percent of all (a third is 33.3);
//   - steady-keys/s, steady-B/s: etcd state writes while the fleet is well;
//   - storm-keys/s, storm-B/s: the same while a tenth of the fleet goes
//     down and is alerted on;
//   - failover-s: from one engine's crash (its etcd client cut, no
//     handover) to the other two holding all its shards.
//
// The fleet is 1M monitors (10k with -short), checked every 20s by a
// checker that does no I/O (every second, with -short).
func BenchmarkCluster(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 10_000
	}
	b.Run(fmt.Sprintf("monitors=%d", n), func(b *testing.B) {
		for b.Loop() {
			clusterRun(b, n)
		}
	})
}

func clusterRun(b *testing.B, n int) {
	const ttl = 5 * time.Second
	interval := 20 * time.Second
	if testing.Short() {
		interval = time.Second
	}
	ep := startEtcd(b)
	down := make([]atomic.Bool, n)
	errDown := errors.New("down")
	names := make([]string, n)
	checks := make([]pulse.Checker, n)
	for i := range n {
		names[i] = "svc-" + strconv.Itoa(i)
		checks[i] = pulse.CheckerFunc(func(context.Context) error {
			if down[i].Load() {
				return errDown
			}
			return nil
		})
	}
	drop := alert.NotifierFunc(func(context.Context, alert.Alert) error { return nil })
	type member struct {
		cli *clientv3.Client
		cl  *Cluster
		eng *cpra.Engine
	}
	var ms []*member
	for i := range 3 {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 5 * time.Second, Logger: nopZap(),
			MaxCallSendMsgSize: 4 << 20})
		if err != nil {
			b.Fatal(err)
		}
		cl, err := New(Config{Client: cli, Name: "m" + strconv.Itoa(i), TTL: ttl, Logger: quietLog()})
		if err != nil {
			b.Fatal(err)
		}
		eng, err := cpra.New(cpra.WithCluster(cl), cpra.WithNotifier(drop), cpra.WithCapacity(n), cpra.WithLogger(quietLog()))
		if err != nil {
			b.Fatal(err)
		}
		for k := range n {
			if _, err := eng.Add(cpra.Monitor{Name: names[k], Check: checks[k], Interval: interval, FailureThreshold: 1}); err != nil {
				b.Fatal(err)
			}
		}
		ms = append(ms, &member{cli, cl, eng})
	}
	defer func() {
		for _, m := range ms {
			m.eng.Shutdown(context.Background())
			m.cli.Close()
		}
	}()
	t0 := time.Now()
	for _, m := range ms {
		if err := m.eng.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	owned := func(ms []*member) int {
		sum := 0
		for _, m := range ms {
			sum += m.eng.Stats().ShardsOwned
		}
		return sum
	}
	for owned(ms) != DefaultShards {
		if time.Since(t0) > 5*time.Minute {
			b.Fatalf("shards held: %d of %d after 5 minutes", owned(ms), DefaultShards)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportMetric(time.Since(t0).Seconds(), "settle-s")

	// Steady: one interval for every monitor to come round, then a window.
	time.Sleep(interval)
	writes := func() (keys, bytes uint64) {
		for _, m := range ms {
			s := m.cl.Stats()
			keys += s.Writes
			bytes += s.WriteBytes
		}
		return
	}
	ran := func() (per []uint64) {
		for _, m := range ms {
			per = append(per, m.eng.Stats().ChecksRun)
		}
		return
	}
	c0, s0 := ran(), time.Now()
	k0, w0 := writes()
	time.Sleep(interval)
	c1 := ran()
	k1, w1 := writes()
	el := time.Since(s0).Seconds()
	var total uint64
	for i := range c1 {
		total += c1[i] - c0[i]
	}
	lo, hi := 100.0, 0.0
	for i := range c1 {
		p := 100 * float64(c1[i]-c0[i]) / float64(total)
		lo, hi = min(lo, p), max(hi, p)
	}
	b.ReportMetric(lo, "share-min-pct")
	b.ReportMetric(hi, "share-max-pct")
	b.ReportMetric(float64(k1-k0)/el, "steady-keys/s")
	b.ReportMetric(float64(w1-w0)/el, "steady-B/s")

	// Storm: a tenth of the fleet goes down, over one interval.
	for i := 0; i < n; i += 10 {
		down[i].Store(true)
	}
	s0 = time.Now()
	k0, w0 = writes()
	time.Sleep(interval + interval/10)
	k1, w1 = writes()
	el = time.Since(s0).Seconds()
	b.ReportMetric(float64(k1-k0)/el, "storm-keys/s")
	b.ReportMetric(float64(w1-w0)/el, "storm-B/s")

	// Crash: the first engine loses etcd and stops without a handover.
	victim, rest := ms[0], ms[1:]
	s0 = time.Now()
	victim.cli.Close()
	for owned(rest) != DefaultShards {
		if time.Since(s0) > 2*time.Minute {
			b.Fatalf("survivors hold %d of %d shards 2 minutes after the crash", owned(rest), DefaultShards)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportMetric(time.Since(s0).Seconds(), "failover-s")
}
