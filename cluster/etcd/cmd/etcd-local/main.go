// Command etcd-local runs a single-member etcd on this machine, to try a
// cluster of cpra commands without installing etcd: it is etcd's own
// server, embedded. It is not for production: run an etcd cluster there.
//
//	go run ./cluster/etcd/cmd/etcd-local --dir /tmp/cpra-etcd
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dir := flag.String("dir", "cpra-etcd", "data directory")
	client := flag.String("listen", "http://127.0.0.1:2379", "client URL")
	peer := flag.String("peer", "http://127.0.0.1:2380", "peer URL")
	flag.Parse()
	if err := run(*dir, *client, *peer); err != nil {
		fmt.Fprintln(os.Stderr, "etcd-local:", err)
		os.Exit(1)
	}
}

func run(dir, client, peer string) error {
	cu, err := url.Parse(client)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	pu, err := url.Parse(peer)
	if err != nil {
		return fmt.Errorf("--peer: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	cfg.Name = "etcd-local"
	cfg.LogLevel = "error"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(time.Minute):
		return fmt.Errorf("not ready within a minute")
	}
	fmt.Printf("etcd ready on %s (data in %s); Ctrl-C stops it\n", cu, dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-e.Err():
		return err
	}
	return nil
}
