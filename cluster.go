package cpra

import (
	"context"
	"errors"

	"github.com/ziad/cpra/internal/loop"
)

// Cluster lets several engines share one fleet, so that a host that dies
// leaves nobody unwatched and a fleet watched twice pages once. Every
// engine of a cluster is given the same monitors; each monitor belongs to
// a shard (see [ShardOf]), and each shard to one engine at a time, which
// alone checks its monitors, sends their alerts and repairs them. The
// others hold the monitors without running them ([Status].Away).
//
// A Cluster is the coordinator the engine consults: which shards it owns
// (it tells the engine through the [ClusterHost] given to Run), whether it
// may still act for a shard (Begin, before every alert delivery and every
// remediation), and where the state of each shard lives (Write), so that
// the next owner resumes the open episodes where this one left them.
// Package github.com/ziad/cpra/cluster/etcd is a Cluster on etcd; it is a
// module of its own, so programs that do not use it do not download etcd.
// An engine without a Cluster runs every monitor itself.
type Cluster interface {
	// Shards returns the number of shards: at least 1, at most 65536, the
	// same on every engine of the cluster for the cluster's life.
	Shards() int
	// Run takes part in the cluster until ctx is done, telling h which
	// shards the engine owns as members come and go. [Engine.Start] runs
	// it on a goroutine of its own; [Engine.Shutdown] cancels ctx once the
	// engine has stopped and its state is written, and waits for Run to
	// return, so that Run can hand the shards over at once.
	Run(ctx context.Context, h ClusterHost) error
	// Begin reports whether the engine may act for a shard now: send an
	// alert of one of its monitors, or start a repair. When it may, the
	// action counts as in flight until End, and the shard is not handed
	// over before that. It is called from many goroutines and must be
	// cheap.
	Begin(shard int) bool
	// End ends an action Begin allowed.
	End(shard int)
	// Token returns the fencing token of a shard while the engine holds
	// it, else 0. Tokens grow each time a shard changes hands.
	Token(shard int) int64
	// Write keeps changes of the state of shards, as a [Store]'s Write
	// does. Each change names its shard and the token the engine held
	// when it made the change; a change whose token is no longer the
	// shard's is dropped, so a former owner never overwrites the state of
	// the next. The engine calls Write from one goroutine at a time.
	Write(changes []Change) error
	// Observe reports, for the owner of the shard, the check of a monitor
	// with a quorum ([Monitor].Quorum) that this engine made from its
	// location (see [ClusterHost].Watch). It is called from the engine's
	// loop and must not block.
	Observe(shard int, monitor string, failed bool)
	// Verdict decides a check of a monitor with a quorum that this engine
	// owns: whether at least quorum locations see it fail, counting this
	// engine's own check (failed) for its location and the latest reports
	// of the other locations, and which locations do. It is called from
	// the engine's loop and must not block.
	Verdict(shard int, monitor string, failed bool, quorum int) (down bool, where []string)
}

// ClusterHost is the engine as its [Cluster] sees it. Its methods may be
// called from any goroutine once [Cluster.Run] runs.
type ClusterHost interface {
	// Own makes the engine run the monitors of the shards, each monitor
	// resuming the state its shard's records hold: those the engine that
	// owned the shard before wrote with [Cluster.Write]. Alerts that
	// engine had not delivered are sent, with the same [alert.Alert].Key.
	Own(shards []OwnedShard) error
	// Disown makes the engine stop running the monitors of the shards at
	// once. The Cluster stops allowing actions for them (Begin) before it
	// calls Disown, and hands them over once the actions in flight ended
	// and Flush returned.
	Disown(shards []int) error
	// Watch makes the engine check (on) or stop checking the monitors
	// with a quorum of shards another engine owns, reporting each check
	// through [Cluster.Observe]: the cluster asks one engine per location
	// to do so.
	Watch(shards []int, on bool) error
	// Flush returns once every change the engine made so far has been
	// given to [Cluster.Write] and the write returned.
	Flush(ctx context.Context) error
}

// OwnedShard is a shard an engine now owns: its number, its fencing
// token, and the records of its state, as written by [Cluster.Write].
type OwnedShard struct {
	Shard   int
	Token   int64
	Records []Change
}

// ShardOf returns the shard of the monitor called name among shards: a
// hash of the name, the same on every engine.
func ShardOf(name string, shards int) int { return loop.ShardOf(name, shards) }

// ErrFenced is wrapped by the error of a remediation the engine did not
// start because it no longer owns the monitor's shard, or could not tell
// (a cluster engine that lost its coordinator).
var ErrFenced = loop.ErrFenced

// WithCluster makes the engine one member of a cluster (see [Cluster]):
// it runs only the monitors of the shards c gives it, and keeps their
// state in c rather than in a [Store], so WithStore cannot be used with
// it. Remediation budgets ([WithRemediationBudget], [WithGroupRemediationBudget]) count
// the repairs of this engine only.
func WithCluster(c Cluster) Option {
	return optionFunc(func(cf *config) {
		switch {
		case c == nil:
			cf.fail("WithCluster: nil cluster")
		case c.Shards() < 1 || c.Shards() > 1<<16:
			cf.fail("WithCluster: %d shards, want 1 to 65536", c.Shards())
		default:
			cf.Cluster = clusterAdapter{c}
		}
	})
}

// clusterAdapter is a Cluster as the engine's machinery calls it.
type clusterAdapter struct{ c Cluster }

func (a clusterAdapter) Shards() int           { return a.c.Shards() }
func (a clusterAdapter) Begin(shard int) bool  { return a.c.Begin(shard) }
func (a clusterAdapter) End(shard int)         { a.c.End(shard) }
func (a clusterAdapter) Token(shard int) int64 { return a.c.Token(shard) }
func (a clusterAdapter) Observe(shard int, monitor string, failed bool) {
	a.c.Observe(shard, monitor, failed)
}
func (a clusterAdapter) Verdict(shard int, monitor string, failed bool, quorum int) (bool, []string) {
	return a.c.Verdict(shard, monitor, failed, quorum)
}
func (a clusterAdapter) Run(ctx context.Context, h loop.Host) error {
	return a.c.Run(ctx, hostAdapter{h})
}

func (a clusterAdapter) Write(changes []loop.Change) error {
	cs := make([]Change, len(changes))
	for i, c := range changes {
		cs[i] = Change(c)
	}
	return a.c.Write(cs)
}

// hostAdapter is the engine's machinery as a ClusterHost.
type hostAdapter struct{ h loop.Host }

func (a hostAdapter) Own(shards []OwnedShard) error {
	gs := make([]loop.Grant, len(shards))
	for i, s := range shards {
		if s.Shard < 0 || s.Token <= 0 {
			return errors.New("cpra: Own: a shard needs a number and a positive token")
		}
		rs := make([]loop.Change, len(s.Records))
		for k, r := range s.Records {
			rs[k] = loop.Change(r)
		}
		gs[i] = loop.Grant{Shard: s.Shard, Token: s.Token, Records: rs}
	}
	return a.h.Own(gs)
}

func (a hostAdapter) Disown(shards []int) error         { return a.h.Disown(shards) }
func (a hostAdapter) Watch(shards []int, on bool) error { return a.h.Watch(shards, on) }
func (a hostAdapter) Flush(ctx context.Context) error   { return a.h.Flush(ctx) }
