// Package etcd runs several CPRA engines as one cluster on etcd: each
// monitor is checked, alerted on and repaired by exactly one engine, and
// when that engine stops or dies its monitors move to the others, which
// resume their open episodes where it left them.
//
// It is a Go module of its own (github.com/ziad/cpra/cluster/etcd), so a
// program that embeds the engine without a cluster never downloads etcd.
// It builds no consensus of its own: etcd decides, through leases and
// transactions. It keeps its lease itself rather than through the client's
// concurrency.Session, because fencing by its own clock needs the time
// each renewal was sent.
//
// # How it works
//
// Every engine is given the same monitors. A monitor belongs to one of a
// fixed number of shards ([cpra.ShardOf] its name). Each member keeps a
// lease and a member key under it; the shards go to the live members by
// rendezvous hashing, so when a member comes or goes only the shards it
// gains or loses move (about 1/N of them). A member claims a shard with a
// transaction that creates the shard's owner key under its lease; the
// revision of that key is the shard's fencing token.
//
// The state of a shard (the open episodes of its monitors and the alerts
// not yet delivered) is one key per shard, written in batches with a
// transaction that succeeds only while the writer's token is the shard's,
// so a former owner never overwrites the state of the next. Healthy
// monitors have no state: a fleet that is well costs no writes.
//
// Before every alert delivery and every repair, the engine asks the
// cluster ([Cluster.Begin]). It says no for a shard the member does not
// hold, for one being handed over, and once the member's lease could have
// expired by its own clock (the time it sent its last successful renewal
// plus the lease's TTL): a member cut off from etcd stops sending and
// repairing before etcd lets another member take its shards over. It goes
// on checking meanwhile, and takes part again when it regains etcd.
// [Config].FailOpen chooses the other way: keep alerting for the shards
// last held while etcd cannot be reached (when every member loses etcd,
// alerts still go out, possibly twice).
//
// # Handover
//
// A member that leaves (its engine shuts down) or loses shards to a new
// member stops allowing actions for them, waits for the deliveries and
// repairs in flight, writes their state and only then deletes its claims:
// the next owner sends exactly the alerts the last did not, with the same
// [alert.Alert].Key. A member that dies is noticed when its lease expires
// (the TTL); its shards are claimed within a second after that, and the
// alerts that were in flight at the crash are sent again with the same
// key, so a receiver that drops repeated keys (PagerDuty's dedup key)
// sees each once.
package etcd
