package pulse

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsZone answers queries of the test DNS server.
type dnsZone struct{}

func mustName(s string) dnsmessage.Name { return dnsmessage.MustNewName(s) }

// answer builds the reply to query; it returns nil for no reply at all.
func (dnsZone) answer(query []byte, overTCP bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	name := strings.ToLower(q.Name.String())
	if name == "silent.test." {
		return nil
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	switch name {
	case "servfail.test.":
		rh.RCode = dnsmessage.RCodeServerFailure
	case "ok.test.", "v6.test.", "mail.test.", "txt.test.", "alias.test.", "_http._tcp.test.", "empty.test.", "trunc.test.":
	default:
		rh.RCode = dnsmessage.RCodeNameError
	}
	if name == "trunc.test." && !overTCP {
		rh.Truncated = true
	}
	if name == "wrongid.test." {
		rh.ID++
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	hdr := func(n string, t dnsmessage.Type) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: mustName(n), Type: t, Class: dnsmessage.ClassINET, TTL: 60}
	}
	if !rh.Truncated {
		switch {
		case name == "ok.test." && q.Type == dnsmessage.TypeA:
			b.AResource(hdr(name, q.Type), dnsmessage.AResource{A: [4]byte{192, 0, 2, 1}})
			b.AResource(hdr(name, q.Type), dnsmessage.AResource{A: [4]byte{192, 0, 2, 2}})
		case name == "v6.test." && q.Type == dnsmessage.TypeAAAA:
			b.AAAAResource(hdr(name, q.Type), dnsmessage.AAAAResource{AAAA: netip.MustParseAddr("2001:db8::1").As16()})
		case name == "mail.test." && q.Type == dnsmessage.TypeMX:
			b.MXResource(hdr(name, q.Type), dnsmessage.MXResource{Pref: 10, MX: mustName("mx1.test.")})
		case name == "txt.test." && q.Type == dnsmessage.TypeTXT:
			b.TXTResource(hdr(name, q.Type), dnsmessage.TXTResource{TXT: []string{"v=spf1 ", "-all"}})
		case name == "alias.test." && q.Type == dnsmessage.TypeA:
			b.CNAMEResource(hdr(name, dnsmessage.TypeCNAME), dnsmessage.CNAMEResource{CNAME: mustName("target.test.")})
			b.AResource(hdr("target.test.", q.Type), dnsmessage.AResource{A: [4]byte{192, 0, 2, 9}})
		case name == "alias.test." && q.Type == dnsmessage.TypeCNAME:
			b.CNAMEResource(hdr(name, q.Type), dnsmessage.CNAMEResource{CNAME: mustName("target.test.")})
		case name == "_http._tcp.test." && q.Type == dnsmessage.TypeSRV:
			b.SRVResource(hdr(name, q.Type), dnsmessage.SRVResource{Priority: 1, Weight: 2, Port: 8080, Target: mustName("web.test.")})
		case name == "trunc.test." && q.Type == dnsmessage.TypeA:
			b.AResource(hdr(name, q.Type), dnsmessage.AResource{A: [4]byte{192, 0, 2, 7}})
		}
	}
	msg, err := b.Finish()
	if err != nil {
		return nil
	}
	return msg
}

// dnsServer serves dnsZone on 127.0.0.1, over UDP and TCP on one port.
func dnsServer(t testing.TB) string {
	t.Helper()
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	for range 20 { // the UDP port may be taken for TCP; try another
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	var z dnsZone
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if a := z.answer(buf[:n], false); a != nil {
				pc.WriteTo(a, from)
			}
		}
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				if a := z.answer(q, true); a != nil {
					c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(a))), a...))
				}
			})
		}
	})
	t.Cleanup(func() {
		pc.Close()
		ln.Close()
		wg.Wait()
	})
	return pc.LocalAddr().String()
}

func TestDNS(t *testing.T) {
	srv := dnsServer(t)
	tests := []struct {
		name string
		host string
		opts []DNSOption
		want string
	}{
		{"A", "ok.test", nil, ""},
		{"A contains", "ok.test", []DNSOption{WithAnswerContains("192.0.2.2")}, ""},
		{"A lacks", "ok.test", []DNSOption{WithAnswerContains("192.0.2.3")}, `no A record for ok.test. contains "192.0.2.3" (got 192.0.2.1, 192.0.2.2)`},
		{"AAAA", "v6.test", []DNSOption{WithRecordType("aaaa"), WithAnswerContains("2001:db8::1")}, ""},
		{"MX", "mail.test", []DNSOption{WithRecordType("MX"), WithAnswerContains("10 MX1.test.")}, ""},
		{"TXT", "txt.test", []DNSOption{WithRecordType("TXT"), WithAnswerContains("v=spf1 -all")}, ""},
		{"SRV", "_http._tcp.test", []DNSOption{WithRecordType("SRV"), WithAnswerContains("1 2 8080 web.test.")}, ""},
		{"CNAME chain for A", "alias.test", []DNSOption{WithAnswerContains("192.0.2.9")}, ""},
		{"CNAME", "alias.test", []DNSOption{WithRecordType("CNAME"), WithAnswerContains("target.test.")}, ""},
		{"no record of type", "mail.test", nil, "no A record for mail.test. (0 answers of other types)"},
		{"empty", "empty.test", nil, "no A record for empty.test."},
		{"nxdomain", "gone.test", nil, "rcode NXDOMAIN, want NOERROR"},
		{"nxdomain expected", "gone.test", []DNSOption{WithRcode("NXDOMAIN")}, ""},
		{"nxdomain expected but exists", "ok.test", []DNSOption{WithRcode("nxdomain")}, "rcode NOERROR, want NXDOMAIN"},
		{"servfail", "servfail.test", nil, "rcode SERVFAIL, want NOERROR"},
		{"truncated retried over TCP", "trunc.test", []DNSOption{WithAnswerContains("192.0.2.7")}, ""},
		{"no answer", "silent.test", []DNSOption{WithTimeout(100 * time.Millisecond)}, "timeout after 100ms while waiting for " + srv},
		{"answer with a wrong id", "wrongid.test", []DNSOption{WithTimeout(100 * time.Millisecond)}, "timeout after 100ms"},
		{"max latency", "ok.test", []DNSOption{WithMaxLatency(time.Nanosecond)}, "max 1ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DNS(tt.host, append([]DNSOption{WithDNSServer(srv)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			wantErr(t, c.Check(t.Context()), tt.want)
		})
	}
}

func TestDNSServerDown(t *testing.T) {
	// Nothing listens: the kernel answers the UDP datagram with ICMP port
	// unreachable, which the next read reports.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	c := MustDNS("ok.test", WithDNSServer(addr), WithTimeout(time.Second))
	wantErr(t, c.Check(t.Context()), "connection refused")
}

func TestDNSConstructorErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []DNSOption
	}{
		{"", nil},
		{strings.Repeat("a", 64) + ".test", nil},
		{"ok.test", []DNSOption{WithRecordType("CAA")}},
		{"ok.test", []DNSOption{WithRcode("OOPS")}},
		{"ok.test", []DNSOption{WithDNSServer("")}},
	} {
		if _, err := DNS(tt.name, tt.opts...); !errors.Is(err, ErrOption) {
			t.Errorf("DNS(%q): got %v, want an ErrOption", tt.name, err)
		}
	}
	if c := MustDNS("ok.test", WithDNSServer("127.0.0.1")); c.server != "127.0.0.1:53" {
		t.Errorf("got server %q, want 127.0.0.1:53", c.server)
	}
}
