package pulse

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSOption configures a [DNS] checker. [Option] values are DNSOptions too.
type DNSOption interface{ applyDNS(*settings) }

type dnsOption func(*settings)

func (o dnsOption) applyDNS(s *settings) { o(s) }

// WithDNSServer sends queries to server ("host:port", or a host for port
// 53) instead of the first nameserver in /etc/resolv.conf.
func WithDNSServer(server string) DNSOption {
	return dnsOption(func(s *settings) {
		if _, _, err := net.SplitHostPort(server); err != nil {
			if server == "" || strings.Contains(server, " ") {
				s.fail("WithDNSServer(%q): want host:port", server)
				return
			}
			server = net.JoinHostPort(server, "53")
		}
		s.dnsServer = server
	})
}

// WithRecordType sets the record type asked for: A (default), AAAA, CNAME,
// MX, NS, PTR, SOA, SRV or TXT.
func WithRecordType(t string) DNSOption {
	return dnsOption(func(s *settings) {
		if _, ok := dnsTypes[strings.ToUpper(t)]; !ok {
			s.fail("WithRecordType(%q): unsupported type", t)
			return
		}
		s.recordType = strings.ToUpper(t)
	})
}

// WithRcode expects the response code rcode (NOERROR, FORMERR, SERVFAIL,
// NXDOMAIN, NOTIMP or REFUSED) instead of the default, which is NOERROR
// with at least one answer of the asked type. With this option no answer is
// required: WithRcode("NXDOMAIN") checks that a name does not exist.
func WithRcode(rcode string) DNSOption {
	return dnsOption(func(s *settings) {
		if _, ok := rcodes[strings.ToUpper(rcode)]; !ok {
			s.fail("WithRcode(%q): unknown rcode", rcode)
			return
		}
		s.rcode = strings.ToUpper(rcode)
	})
}

// WithAnswerContains requires an answer of the asked type whose value
// contains substr, ignoring case. Values read like zone files: "192.0.2.1"
// for A, "10 mail.example.com." for MX, the joined strings for TXT,
// "priority weight port target" for SRV.
func WithAnswerContains(substr string) DNSOption {
	return dnsOption(func(s *settings) {
		if substr == "" {
			s.fail("WithAnswerContains(\"\")")
			return
		}
		s.answerContains = substr
	})
}

var dnsTypes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "AAAA": dnsmessage.TypeAAAA, "CNAME": dnsmessage.TypeCNAME,
	"MX": dnsmessage.TypeMX, "NS": dnsmessage.TypeNS, "PTR": dnsmessage.TypePTR,
	"SOA": dnsmessage.TypeSOA, "SRV": dnsmessage.TypeSRV, "TXT": dnsmessage.TypeTXT,
}

var rcodes = map[string]dnsmessage.RCode{
	"NOERROR": dnsmessage.RCodeSuccess, "FORMERR": dnsmessage.RCodeFormatError,
	"SERVFAIL": dnsmessage.RCodeServerFailure, "NXDOMAIN": dnsmessage.RCodeNameError,
	"NOTIMP": dnsmessage.RCodeNotImplemented, "REFUSED": dnsmessage.RCodeRefused,
}

func rcodeName(r dnsmessage.RCode) string {
	for n, c := range rcodes {
		if c == r {
			return n
		}
	}
	return "RCODE" + strconv.Itoa(int(r))
}

func typeName(t dnsmessage.Type) string {
	for n, c := range dnsTypes {
		if c == t {
			return n
		}
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// DNSChecker resolves a name; build one with [DNS].
type DNSChecker struct {
	name       string // fully qualified
	server     string
	qtype      dnsmessage.Type
	rcode      int16 // -1: NOERROR with an answer
	contains   string
	timeout    time.Duration
	maxLatency time.Duration
}

// DNS returns a checker that asks a DNS server about name, over UDP (and
// again over TCP when the UDP answer is truncated), and judges the
// response: by default it passes on NOERROR with at least one answer of the
// asked type (A unless [WithRecordType] says otherwise); see [WithRcode] and
// [WithAnswerContains].
//
// The default server is the first nameserver of /etc/resolv.conf, read
// once, or 127.0.0.1:53 when there is none.
func DNS(name string, opts ...DNSOption) (*DNSChecker, error) {
	var s settings
	for _, o := range opts {
		o.applyDNS(&s)
	}
	fqdn := name
	if !strings.HasSuffix(fqdn, ".") {
		fqdn += "."
	}
	if _, err := dnsmessage.NewName(fqdn); err != nil || name == "" {
		s.fail("DNS(%q): invalid name", name)
	}
	if err := s.err(); err != nil {
		return nil, err
	}
	c := &DNSChecker{
		name: fqdn, server: s.dnsServer, qtype: dnsmessage.TypeA, rcode: -1,
		contains: s.answerContains, timeout: s.timeout, maxLatency: s.maxLatency,
	}
	if c.server == "" {
		c.server = systemDNSServer()
	}
	if s.recordType != "" {
		c.qtype = dnsTypes[s.recordType]
	}
	if s.rcode != "" {
		c.rcode = int16(rcodes[s.rcode])
	}
	if _, err := c.query(0); err != nil { // label lengths, say
		return nil, fmt.Errorf("%w: DNS(%q): %v", ErrOption, name, err)
	}
	return c, nil
}

// MustDNS is like [DNS] but panics on an invalid name or option.
func MustDNS(name string, opts ...DNSOption) *DNSChecker {
	c, err := DNS(name, opts...)
	if err != nil {
		panic(err)
	}
	return c
}

// String returns the query and the server.
func (c *DNSChecker) String() string {
	return "dns " + typeName(c.qtype) + " " + c.name + " @" + c.server
}

var systemDNSServer = sync.OnceValue(func() string {
	f, err := os.Open("/etc/resolv.conf")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "nameserver" {
				if a, err := netip.ParseAddr(fields[1]); err == nil {
					return net.JoinHostPort(a.WithZone("").String(), "53")
				}
			}
		}
	}
	return "127.0.0.1:53"
})

var dnsDialer net.Dialer

// Check sends the query and judges the response. It is safe for concurrent
// use.
func (c *DNSChecker) Check(ctx context.Context) error {
	ctx, cancel, b := bound(ctx, c.timeout)
	defer cancel()

	id := uint16(rand.Uint32())
	query, err := c.query(id)
	if err != nil {
		return err
	}
	resp, err := c.exchangeUDP(ctx, query, id)
	if err == nil && resp.Truncated {
		resp, err = c.exchangeTCP(ctx, query, id)
	}
	if err != nil {
		if e := b.ioErr(ctx, err, "waiting for "+c.server); e != nil {
			return e
		}
		return err
	}
	if err := c.judge(resp); err != nil {
		return err
	}
	return b.latencyErr(time.Since(b.start), c.maxLatency)
}

func (c *DNSChecker) query(id uint16) ([]byte, error) {
	name, err := dnsmessage.NewName(c.name)
	if err != nil {
		return nil, err
	}
	bld := dnsmessage.NewBuilder(make([]byte, 0, 64+len(c.name)),
		dnsmessage.Header{ID: id, RecursionDesired: true})
	bld.EnableCompression()
	if err := bld.StartQuestions(); err != nil {
		return nil, err
	}
	if err := bld.Question(dnsmessage.Question{Name: name, Type: c.qtype, Class: dnsmessage.ClassINET}); err != nil {
		return nil, err
	}
	if err := bld.StartAdditionals(); err != nil {
		return nil, err
	}
	var rh dnsmessage.ResourceHeader
	if err := rh.SetEDNS0(1232, dnsmessage.RCodeSuccess, false); err != nil {
		return nil, err
	}
	if err := bld.OPTResource(rh, dnsmessage.OPTResource{}); err != nil {
		return nil, err
	}
	return bld.Finish()
}

// response is what the checker needs from a DNS message.
type response struct {
	RCode     dnsmessage.RCode
	Truncated bool
	Answers   []string // values of the answers of the asked type
	Total     int      // all answers, any type
}

func (c *DNSChecker) exchangeUDP(ctx context.Context, query []byte, id uint16) (*response, error) {
	conn, err := dnsDialer.DialContext(ctx, "udp", c.server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(query); err != nil {
		return nil, err
	}
	buf := make([]byte, 1232)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		// Ignore stray datagrams (late answers to earlier queries).
		if r, err := c.parse(buf[:n], id); err == nil {
			return r, nil
		} else if !errors.Is(err, errForeign) {
			return nil, err
		}
	}
}

func (c *DNSChecker) exchangeTCP(ctx context.Context, query []byte, id uint16) (*response, error) {
	conn, err := dnsDialer.DialContext(ctx, "tcp", c.server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	msg := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(query)), uint16(len(query)))
	if _, err := conn.Write(append(msg, query...)); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil, fmt.Errorf("reading TCP answer: %w", err)
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, fmt.Errorf("reading TCP answer: %w", err)
	}
	r, err := c.parse(buf, id)
	if errors.Is(err, errForeign) {
		return nil, fmt.Errorf("TCP answer does not match the query")
	}
	return r, err
}

var errForeign = errors.New("not an answer to this query")

func (c *DNSChecker) parse(msg []byte, id uint16) (*response, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return nil, fmt.Errorf("malformed answer: %w", err)
	}
	if h.ID != id || !h.Response {
		return nil, errForeign
	}
	q, err := p.Question()
	if err != nil {
		return nil, errForeign
	}
	if q.Type != c.qtype || !strings.EqualFold(q.Name.String(), c.name) {
		return nil, errForeign
	}
	if err := p.SkipAllQuestions(); err != nil {
		return nil, fmt.Errorf("malformed answer: %w", err)
	}
	r := &response{RCode: h.RCode, Truncated: h.Truncated}
	for {
		ah, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("malformed answer: %w", err)
		}
		r.Total++
		if ah.Type != c.qtype {
			if err := p.SkipAnswer(); err != nil {
				return nil, fmt.Errorf("malformed answer: %w", err)
			}
			continue
		}
		v, err := answerText(&p, ah.Type)
		if err != nil {
			return nil, fmt.Errorf("malformed %s record: %w", typeName(ah.Type), err)
		}
		r.Answers = append(r.Answers, v)
	}
	return r, nil
}

// answerText renders the next answer's value as a zone file would.
func answerText(p *dnsmessage.Parser, t dnsmessage.Type) (string, error) {
	switch t {
	case dnsmessage.TypeA:
		r, err := p.AResource()
		return netip.AddrFrom4(r.A).String(), err
	case dnsmessage.TypeAAAA:
		r, err := p.AAAAResource()
		return netip.AddrFrom16(r.AAAA).String(), err
	case dnsmessage.TypeCNAME:
		r, err := p.CNAMEResource()
		return r.CNAME.String(), err
	case dnsmessage.TypeMX:
		r, err := p.MXResource()
		return strconv.Itoa(int(r.Pref)) + " " + r.MX.String(), err
	case dnsmessage.TypeNS:
		r, err := p.NSResource()
		return r.NS.String(), err
	case dnsmessage.TypePTR:
		r, err := p.PTRResource()
		return r.PTR.String(), err
	case dnsmessage.TypeSOA:
		r, err := p.SOAResource()
		return fmt.Sprintf("%s %s %d %d %d %d %d", r.NS, r.MBox, r.Serial, r.Refresh, r.Retry, r.Expire, r.MinTTL), err
	case dnsmessage.TypeSRV:
		r, err := p.SRVResource()
		return fmt.Sprintf("%d %d %d %s", r.Priority, r.Weight, r.Port, r.Target), err
	case dnsmessage.TypeTXT:
		r, err := p.TXTResource()
		return strings.Join(r.TXT, ""), err
	}
	return "", p.SkipAnswer()
}

func (c *DNSChecker) judge(r *response) error {
	if c.rcode >= 0 {
		if r.RCode != dnsmessage.RCode(c.rcode) {
			return fmt.Errorf("rcode %s, want %s", rcodeName(r.RCode), rcodeName(dnsmessage.RCode(c.rcode)))
		}
	} else {
		if r.RCode != dnsmessage.RCodeSuccess {
			return fmt.Errorf("rcode %s, want NOERROR", rcodeName(r.RCode))
		}
		if len(r.Answers) == 0 {
			return fmt.Errorf("no %s record for %s (%d answers of other types)", typeName(c.qtype), c.name, r.Total)
		}
	}
	if c.contains == "" {
		return nil
	}
	want := strings.ToLower(c.contains)
	for _, a := range r.Answers {
		if strings.Contains(strings.ToLower(a), want) {
			return nil
		}
	}
	got := strings.Join(r.Answers, ", ")
	if len(got) > 200 {
		got = got[:200] + "..."
	}
	return fmt.Errorf("no %s record for %s contains %q (got %s)", typeName(c.qtype), c.name, c.contains, orNone(got))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

var (
	_ Checker   = (*DNSChecker)(nil)
	_ DNSOption = Option(nil)
)
