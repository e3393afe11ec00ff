package pulse

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestICMP(t *testing.T) {
	c := MustICMP("127.0.0.1", WithTimeout(2*time.Second))
	err := c.Check(t.Context())
	if errors.Is(err, ErrICMPNotPermitted) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := MustICMP("localhost", WithCount(2)).Check(t.Context()); err != nil {
		t.Errorf("by name, two echoes: %v", err)
	}
	wantErr(t, MustICMP("127.0.0.1", WithMaxLatency(time.Nanosecond)).Check(t.Context()), "max 1ns")
}

func TestICMPNotPermittedText(t *testing.T) {
	err := notPermitted(errors.New("socket: permission denied"), errors.New("socket: operation not permitted"))
	if !errors.Is(err, ErrICMPNotPermitted) {
		t.Errorf("got %v, want it to wrap ErrICMPNotPermitted", err)
	}
	if !strings.Contains(err.Error(), "net.ipv4.ping_group_range") {
		t.Errorf("got %q, want it to name the sysctl net.ipv4.ping_group_range", err)
	}
}

func TestICMPConstructorErrors(t *testing.T) {
	for _, h := range []string{"", "host:80", "a b", "http://x"} {
		if _, err := ICMP(h); !errors.Is(err, ErrOption) {
			t.Errorf("ICMP(%q): got %v, want an ErrOption", h, err)
		}
	}
	if _, err := ICMP("::1"); err != nil {
		t.Errorf("ICMP(\"::1\"): %v", err)
	}
	if _, err := ICMP("127.0.0.1", WithCount(0)); !errors.Is(err, ErrOption) {
		t.Errorf("WithCount(0): got %v, want an ErrOption", err)
	}
}
