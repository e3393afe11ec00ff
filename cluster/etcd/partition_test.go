package etcd

import (
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ziad/cpra/alert"
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
	mons := fleetMonitors(n, nil)
	a := start(t, spec{endpoint: "http://" + px.ln.Addr().String(), name: "a", notify: rcv, fleet: f, monitors: mons})
	b := start(t, spec{endpoint: ep, name: "b", notify: rcv, fleet: f, monitors: mons})
	c := start(t, spec{endpoint: ep, name: "c", notify: rcv, fleet: f, monitors: mons})
	settled(t, a, b, c)
	by := exactlyOnce(t, f, n, a, b, c)
	onA := 0
	for i := range bad {
		if by[i] == "a" {
			onA++
		}
	}

	f.setDown(0, bad, true)
	waitCode(t, rcv, "svc-", bad, alert.Red)
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
	waitFor(t, "the others hold every shard", 30*time.Second, func() bool {
		sum, _ := owned(b, c)
		return sum == testShards
	})
	if a.eng.Stats().ChecksRun == checksFenced {
		t.Error("the cut-off member stopped checking")
	}
	// While cut off, the targets recover: the others send the greens.
	f.setDown(0, bad, false)
	waitCode(t, rcv, "svc-", bad, alert.Green)
	// The partition heals: the member joins again and takes its share.
	px.heal()
	waitFor(t, "the member takes its share again", 60*time.Second, func() bool {
		sum, each := owned(a, b, c)
		return sum == testShards && each[0] > 0 && a.cl.Stats().ShardsOwned == each[0]
	})
	exactlyOnce(t, f, n, a, b, c)
	time.Sleep(500 * time.Millisecond)
	oneEach(t, rcv, "svc-", bad)
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
