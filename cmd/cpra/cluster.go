package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ziad/cpra"
	etcdcluster "github.com/ziad/cpra/cluster/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// clusterFlags are the settings of a run as one member of a cluster.
type clusterFlags struct {
	etcd     string
	location string
	name     string
	prefix   string
	ttl      time.Duration
	shards   int
	failOpen bool
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.etcd, "cluster.etcd", "", "run as one member of a cluster on these etcd endpoints (URL[,URL]): each monitor runs on one member, and moves to another when its member stops or dies; the state lives in etcd, not in a --state file")
	fs.StringVar(&c.location, "cluster.location", "", "the location this member probes from (default \"default\")")
	fs.StringVar(&c.name, "cluster.name", "", "this member's name, unique in the cluster (default: host name and process ID)")
	fs.StringVar(&c.prefix, "cluster.prefix", etcdcluster.DefaultPrefix, "etcd key prefix of the cluster")
	fs.DurationVar(&c.ttl, "cluster.ttl", etcdcluster.DefaultTTL, "lease TTL: a member that dies is replaced after about this long")
	fs.IntVar(&c.shards, "cluster.shards", etcdcluster.DefaultShards, "number of shards; the same on every member")
	fs.BoolVar(&c.failOpen, "cluster.fail-open", false, "keep alerting and repairing for the shards last held while etcd is out of reach (possibly twice); by default a member cut off from etcd holds them once its lease could have expired")
}

// join returns the engine option of a cluster member, and a function that
// closes its etcd client once the engine has shut down. It returns nils
// without --cluster.etcd.
func (c *clusterFlags) join(log *slog.Logger) (cpra.Option, *etcdcluster.Cluster, func(), error) {
	if c.etcd == "" {
		return nil, nil, nil, nil
	}
	var eps []string
	for _, u := range strings.Split(c.etcd, ",") {
		if u = strings.TrimSpace(u); u != "" {
			eps = append(eps, u)
		}
	}
	if len(eps) == 0 {
		return nil, nil, nil, errors.New("--cluster.etcd: no endpoint")
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--cluster.etcd: %w", err)
	}
	cl, err := etcdcluster.New(etcdcluster.Config{
		Client: cli, Prefix: c.prefix, Name: c.name, Location: c.location,
		Shards: c.shards, TTL: c.ttl, FailOpen: c.failOpen, Logger: log,
	})
	if err != nil {
		cli.Close()
		return nil, nil, nil, err
	}
	log.Info("cluster member", "name", cl.Name(), "location", cl.Location(), "etcd", strings.Join(eps, ","), "shards", cl.Shards())
	return cpra.WithCluster(cl), cl, func() { cli.Close() }, nil
}
