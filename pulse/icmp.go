package pulse

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ErrICMPNotPermitted is wrapped by the error of an [ICMP] check when the
// operating system allows neither unprivileged ICMP sockets nor raw ones.
var ErrICMPNotPermitted = errors.New("icmp: not permitted")

// ICMPOption configures an [ICMP] checker. [Option] values are ICMPOptions
// too.
type ICMPOption interface{ applyICMP(*settings) }

type icmpOption func(*settings)

func (o icmpOption) applyICMP(s *settings) { o(s) }

// WithCount sends n echo requests per check, 100 ms apart (default 1). The
// check passes when at least one reply arrives.
func WithCount(n int) ICMPOption {
	return icmpOption(func(s *settings) {
		if n < 1 || n > 100 {
			s.fail("WithCount(%d): want 1 to 100", n)
			return
		}
		s.count = n
	})
}

// ICMPChecker pings a host; build one with [ICMP].
type ICMPChecker struct {
	host       string
	count      int32
	timeout    time.Duration
	maxLatency time.Duration
}

// ICMP returns a checker that sends ICMP echo requests to host (a name or
// an IP address, resolved at each check) and passes when a reply arrives.
//
// It uses unprivileged ICMP sockets (the "UDP ping" of Linux and macOS)
// first, and raw sockets when those are refused; raw sockets need root or
// CAP_NET_RAW. On Linux, unprivileged ICMP is allowed to the groups in the
// sysctl net.ipv4.ping_group_range. When neither kind is allowed the check
// fails with an error that wraps [ErrICMPNotPermitted] and names the sysctl.
func ICMP(host string, opts ...ICMPOption) (*ICMPChecker, error) {
	var s settings
	for _, o := range opts {
		o.applyICMP(&s)
	}
	if host == "" || strings.ContainsAny(host, " /:") && !isIPv6Literal(host) {
		s.fail("ICMP(%q): want a host name or IP address", host)
	}
	if err := s.err(); err != nil {
		return nil, err
	}
	c := &ICMPChecker{host: host, count: 1, timeout: s.timeout, maxLatency: s.maxLatency}
	if s.count > 0 {
		c.count = int32(s.count)
	}
	return c, nil
}

func isIPv6Literal(h string) bool {
	a, err := netip.ParseAddr(h)
	return err == nil && a.Is6()
}

// MustICMP is like [ICMP] but panics on an invalid host or option.
func MustICMP(host string, opts ...ICMPOption) *ICMPChecker {
	c, err := ICMP(host, opts...)
	if err != nil {
		panic(err)
	}
	return c
}

// String returns the host.
func (c *ICMPChecker) String() string { return "icmp " + c.host }

// icmpMode remembers, process-wide, which socket kind the OS allows, so
// that only the first checks pay for a refused attempt.
var icmpMode atomic.Int32

const (
	icmpUnknown int32 = iota
	icmpUnprivileged
	icmpPrivileged
)

// Check pings the host. It is safe for concurrent use.
//
// An error of the operating system while sending (a firewall rule that
// drops outgoing ICMP gives EPERM, a prohibit route EACCES, no route
// ENETUNREACH) fails the check at once with that error wrapped, rather than
// as a missing reply when the time is up.
func (c *ICMPChecker) Check(ctx context.Context) error {
	ctx, cancel, b := bound(ctx, c.timeout)
	defer cancel()

	ip, err := resolveOne(ctx, c.host)
	if err != nil {
		if e := b.ctxErr(ctx, "resolving "+c.host); e != nil {
			return e
		}
		return err
	}

	var res pingResult
	switch icmpMode.Load() {
	case icmpPrivileged:
		res, err = c.ping(ctx, b, ip, true)
	default:
		res, err = c.ping(ctx, b, ip, false)
		if !res.opened && errors.Is(err, os.ErrPermission) {
			first := err
			res, err = c.ping(ctx, b, ip, true)
			if !res.opened && errors.Is(err, os.ErrPermission) {
				return notPermitted(first, err)
			}
			if res.opened {
				icmpMode.Store(icmpPrivileged)
			}
		} else if res.opened {
			icmpMode.Store(icmpUnprivileged)
		}
	}
	if err != nil {
		return err
	}
	return b.latencyErr(res.avg, c.maxLatency)
}

// pingResult is what one round of echo requests established.
type pingResult struct {
	opened bool          // the socket opened: the OS allows this kind
	recv   int           // replies received
	avg    time.Duration // their mean round trip
}

// Echo requests of one check go out this far apart; once all are out and
// one reply came back, the others are awaited this long at most.
const (
	icmpInterval = 100 * time.Millisecond
	icmpGrace    = time.Second
)

// ping sends the echo requests of one check and collects the replies, on an
// unprivileged ICMP socket or a raw one. An error before the socket opened
// is returned as it is; others are worded for the check's result.
func (c *ICMPChecker) ping(ctx context.Context, b budget, ip net.IP, privileged bool) (pingResult, error) {
	var res pingResult
	v4 := ip.To4() != nil
	network, laddr, proto := "udp4", "0.0.0.0", 1
	var request, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if !v4 {
		network, laddr, proto = "udp6", "::", 58
		request, reply = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	if privileged {
		network = map[bool]string{true: "ip4:icmp", false: "ip6:ipv6-icmp"}[v4]
	}
	conn, err := icmp.ListenPacket(network, laddr)
	if err != nil {
		return res, err
	}
	res.opened = true
	defer conn.Close()

	// A raw socket receives every ICMP message of the host: a kernel
	// filter keeps those of this check's identifier. An unprivileged
	// socket gets only the replies to its own requests (the kernel sets
	// the identifier), so any will do there.
	id := rand.IntN(0xfffe) + 1
	if privileged {
		filterEchoReplies(conn, v4, uint16(id))
	}
	var dst net.Addr = &net.UDPAddr{IP: ip}
	if privileged {
		dst = &net.IPAddr{IP: ip}
	}
	var token [8]byte
	binary.LittleEndian.PutUint64(token[:], rand.Uint64())
	payload := append(token[:], "cpra-pulse"...)

	dl, _ := ctx.Deadline()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	count := int(c.count)
	sent := make([]time.Time, count)
	seen := make([]bool, count)
	var total time.Duration
	var next int // sequence number of the next request
	var nextAt, lastSent time.Time
	buf := make([]byte, 1500)
	for {
		now := time.Now()
		if next < count && !now.Before(nextAt) {
			msg := icmp.Message{Type: request, Body: &icmp.Echo{ID: id, Seq: next, Data: payload}}
			wb, err := msg.Marshal(nil)
			if err != nil {
				return res, err
			}
			if _, err := conn.WriteTo(wb, dst); err != nil {
				if e := b.ctxErr(ctx, "sending echo request"); e != nil {
					return res, e
				}
				return res, fmt.Errorf("sending echo request to %s: %w%s", ip, err, sendHint(err))
			}
			sent[next], lastSent = now, now
			next++
			nextAt = now.Add(icmpInterval)
		}
		wait := dl
		if next < count && nextAt.Before(wait) {
			wait = nextAt
		}
		if next == count && res.recv > 0 && lastSent.Add(icmpGrace).Before(wait) {
			wait = lastSent.Add(icmpGrace)
		}
		_ = conn.SetReadDeadline(wait)
		if ctx.Err() != nil {
			break
		}
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				now := time.Now()
				if !now.Before(dl) || next == count && res.recv > 0 && !now.Before(lastSent.Add(icmpGrace)) {
					break
				}
				continue
			}
			return res, fmt.Errorf("reading echo replies from %s: %w", ip, err)
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != reply {
			continue
		}
		echo, ok := m.Body.(*icmp.Echo)
		if !ok || privileged && echo.ID != id || !bytes.Equal(echo.Data, payload) ||
			echo.Seq < 0 || echo.Seq >= next || seen[echo.Seq] {
			continue
		}
		seen[echo.Seq] = true
		res.recv++
		total += time.Since(sent[echo.Seq])
		if res.recv == count {
			break
		}
	}
	if res.recv == 0 {
		e := b.ctxErr(ctx, "")
		if e == nil || errors.Is(e, context.DeadlineExceeded) {
			e = &TimeoutError{After: roundDuration(b.total)}
		}
		return res, fmt.Errorf("no echo reply from %s: %w", ip, e)
	}
	res.avg = total / time.Duration(res.recv)
	return res, nil
}

// sendHint explains the send errors whose cause is not in their words.
func sendHint(err error) string {
	switch {
	case errors.Is(err, syscall.EPERM):
		return " (a firewall rule refuses outgoing ICMP)"
	case errors.Is(err, syscall.EACCES):
		return " (a prohibit route, or a broadcast address)"
	}
	return ""
}

// filterEchoReplies installs, where the OS allows, a socket filter that
// passes only ICMP messages whose identifier is id, so that a raw socket is
// not woken by the traffic of every other check. It is an optimisation:
// replies are matched in any case.
func filterEchoReplies(conn *icmp.PacketConn, v4 bool, id uint16) {
	if v4 {
		// Raw IPv4 sockets see the IP header: skip it (its length is the
		// low nibble of the first byte, in 32-bit words).
		prog, err := bpf.Assemble([]bpf.Instruction{
			bpf.LoadMemShift{Off: 0},
			bpf.LoadIndirect{Off: 4, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(id), SkipFalse: 1},
			bpf.RetConstant{Val: 0xffff},
			bpf.RetConstant{Val: 0},
		})
		if err == nil {
			_ = conn.IPv4PacketConn().SetBPF(prog)
		}
		return
	}
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeEchoReply)
	_ = conn.IPv6PacketConn().SetICMPFilter(&f)
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(id), SkipFalse: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	})
	if err == nil {
		_ = conn.IPv6PacketConn().SetBPF(prog)
	}
}

func resolveOne(ctx context.Context, host string) (net.IP, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return net.IP(a.AsSlice()), nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if a.IP.To4() != nil {
			return a.IP, nil
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("lookup %s: no addresses", host)
	}
	return addrs[0].IP, nil
}

func notPermitted(unprivileged, raw error) error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("%w: unprivileged ICMP socket refused (%v) and raw socket refused (%v)",
			ErrICMPNotPermitted, unprivileged, raw)
	}
	rng := "unknown"
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range"); err == nil {
		rng = strings.Join(strings.Fields(string(b)), " ")
	}
	return fmt.Errorf("%w: unprivileged ICMP sockets are refused for group %d "+
		"(sysctl net.ipv4.ping_group_range = %q; allow it with e.g. "+
		"sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"), "+
		"and raw ICMP sockets need CAP_NET_RAW",
		ErrICMPNotPermitted, os.Getegid(), rng)
}

var (
	_ Checker    = (*ICMPChecker)(nil)
	_ ICMPOption = Option(nil)
)
