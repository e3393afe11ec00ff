package etcd

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/pulse"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// proxy is a loopback TCP proxy to etcd that can black-hole its traffic:
// connections stay open and bytes vanish, as in a network partition.
type proxy struct {
	ln    net.Listener
	to    string
	hole  atomic.Bool
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, to string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, to: to}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(u, c)
			go p.pipe(c, u)
		}
	}()
	t.Cleanup(p.close)
	return p
}

// pipe copies src to dst, dropping what passes while the hole is open.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.hole.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			return
		}
	}
}

// heal closes the held connections, so that the client dials again, and
// lets traffic through.
func (p *proxy) heal() {
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.hole.Store(false)
}

func (p *proxy) close() {
	p.ln.Close()
	p.heal()
	p.wg.Wait()
}

// TestPartitionSelfFenceAndRejoin cuts one member off from etcd through a
// black-holing proxy in the middle of an incident: it stops sending
// before the others take its shards, keeps checking meanwhile, and when
// the partition heals it joins again and takes its share back. Every
// target down is reported red once and green once.
func TestPartitionSelfFenceAndRejoin(t *testing.T) {
	ep := startEtcd(t)
	px := newProxy(t, ep[len("http://"):])
	f := newFleet(t)
	rcv := newReceiver()
	const n, bad = 150, 40
	start := func(name, endpoint string) *member {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 2 * time.Second,
			DialKeepAliveTime: time.Second, DialKeepAliveTimeout: time.Second, Logger: nopZap()})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := New(Config{Client: cli, Name: name, Shards: testShards, TTL: 2 * time.Second, Logger: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		eng, err := cpra.New(cpra.WithCluster(cl), cpra.WithNotifier(rcv), cpra.WithLogger(quietLog()))
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			eng.Add(cpra.Monitor{
				Name:     "svc-" + strconv.Itoa(i),
				Check:    pulse.MustHTTP(f.srv.URL+"/m/"+strconv.Itoa(i), pulse.WithHeader("X-Member", name)),
				Interval: 100 * time.Millisecond, Timeout: 2 * time.Second, FailureThreshold: 2,
			})
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		m := &member{name: name, cli: cli, cl: cl, eng: eng}
		t.Cleanup(func() { m.stop(context.Background()) })
		return m
	}
	a := start("a", "http://"+px.ln.Addr().String())
	b := start("b", ep)
	c := start("c", ep)
	settled(t, a, b, c)
	by := exactlyOnce(t, f, n, a, b, c)
	onA := 0
	for i := range bad {
		if by[i] == "a" {
			onA++
		}
	}

	f.setDown(0, bad, true)
	waitFor(t, "a red for every target down", 30*time.Second, func() bool {
		for i := range bad {
			if rcv.count("svc-"+strconv.Itoa(i), alert.Red) == 0 {
				return false
			}
		}
		return true
	})
	// Let the deliveries' fates be written: an alert whose fate was not
	// yet in etcd at the cut is in flight, and is sent again, with its key.
	time.Sleep(500 * time.Millisecond)
	before := b.cl.Stats().Acquired + c.cl.Stats().Acquired
	px.hole.Store(true)
	waitFor(t, "the cut-off member fences itself off", 30*time.Second, func() bool {
		return a.cl.now() >= a.cl.deadline.Load()
	})
	if got := b.cl.Stats().Acquired + c.cl.Stats().Acquired; got != before {
		t.Fatalf("others claimed %d shards before the cut-off member fenced itself off", got-before)
	}
	checksFenced := a.eng.Stats().ChecksRun
	waitFor(t, "the others hold every shard", 7*time.Second, func() bool {
		sum, _ := owned(b, c)
		return sum == testShards
	})
	if a.eng.Stats().ChecksRun == checksFenced {
		t.Error("the cut-off member stopped checking")
	}
	// While cut off, the targets recover: the others send the greens.
	f.setDown(0, bad, false)
	waitFor(t, "a green for every target", 30*time.Second, func() bool {
		for i := range bad {
			if rcv.count("svc-"+strconv.Itoa(i), alert.Green) == 0 {
				return false
			}
		}
		return true
	})
	// The partition heals: the member joins again and takes its share.
	px.heal()
	waitFor(t, "the member takes its share again", 60*time.Second, func() bool {
		sum, each := owned(a, b, c)
		return sum == testShards && each[0] > 0 && a.cl.Stats().ShardsOwned == each[0]
	})
	exactlyOnce(t, f, n, a, b, c)
	time.Sleep(500 * time.Millisecond)
	for i := range bad {
		name := "svc-" + strconv.Itoa(i)
		if r, g := rcv.count(name, alert.Red), rcv.count(name, alert.Green); r != 1 || g != 1 {
			t.Errorf("%s: %d reds, %d greens (%v), want one of each", name, r, g, rcv.codes[name])
		}
	}
	if d := rcv.duplicates(); d != 0 {
		t.Errorf("%d alerts delivered twice: %v", d, rcv.dupKeys())
	}
	t.Logf("cut-off member ran %d of the %d targets down; fenced alerts %d; lease losses %d",
		onA, bad, a.eng.Stats().AlertsFenced, a.cl.Stats().LeaseLosses)
}

func (r *receiver) dupKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k, c := range r.byKey {
		if c > 1 {
			out = append(out, k+"x"+strconv.Itoa(c))
		}
	}
	return out
}
