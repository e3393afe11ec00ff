package pulse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	probing "github.com/prometheus-community/pro-bing"
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

	var stats *probing.Statistics
	switch icmpMode.Load() {
	case icmpPrivileged:
		stats, err = c.ping(ctx, b, ip, true)
	default:
		stats, err = c.ping(ctx, b, ip, false)
		if errors.Is(err, os.ErrPermission) {
			first := err
			stats, err = c.ping(ctx, b, ip, true)
			if errors.Is(err, os.ErrPermission) {
				return notPermitted(first, err)
			}
			if err == nil {
				icmpMode.Store(icmpPrivileged)
			}
		} else if err == nil {
			icmpMode.Store(icmpUnprivileged)
		}
	}
	if err != nil && stats == nil {
		if e := b.ctxErr(ctx, ""); e != nil {
			return fmt.Errorf("no echo reply from %s: %w", ip, e)
		}
		return fmt.Errorf("icmp: %w", err)
	}
	if stats.PacketsRecv == 0 {
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("icmp echo to %s: %w", ip, err)
		}
		return fmt.Errorf("no echo reply from %s: %w", ip,
			&TimeoutError{After: roundDuration(b.total)})
	}
	return b.latencyErr(stats.AvgRtt, c.maxLatency)
}

// ping runs one pinger; stats is nil when it could not start.
func (c *ICMPChecker) ping(ctx context.Context, b budget, ip net.IP, privileged bool) (*probing.Statistics, error) {
	p := probing.New("")
	p.SetLogger(probing.NoopLogger{})
	p.SetIPAddr(&net.IPAddr{IP: ip})
	p.SetPrivileged(privileged)
	p.Count = int(c.count)
	p.Interval = 100 * time.Millisecond
	p.Timeout = b.total - time.Since(b.start)
	if p.Timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	started := false
	p.OnSetup = func() { started = true }
	err := p.RunWithContext(ctx)
	if !started {
		return nil, err
	}
	return p.Statistics(), nil
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
