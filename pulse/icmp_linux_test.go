package pulse

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netnsEnv tells the test binary that it runs as the child of
// TestICMPSendErrors, in a network namespace of its own.
const netnsEnv = "CPRA_TEST_ICMP_NETNS"

// TestICMPSendErrors runs the ICMP checker in a new network namespace (so
// that its firewall rules and routes touch nothing else on the machine)
// where the kernel refuses to send: an iptables rule drops outgoing echo
// requests (EPERM), a prohibit route refuses them (EACCES), and a host has
// no route at all (ENETUNREACH). Each must fail the check at once with the
// kernel's error, not as a missing reply at the deadline; a dropped reply,
// for contrast, is a timeout. It needs root, iptables and ip.
func TestICMPSendErrors(t *testing.T) {
	if os.Getenv(netnsEnv) == "1" {
		icmpSendErrorsInNetns(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test makes a network namespace with iptables rules")
	}
	for _, tool := range []string{"iptables", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestICMPSendErrors$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Skipf("cannot start a process in a new network namespace: %v", err)
	}
	t.Logf("in a new network namespace:\n%s", out)
	if err != nil {
		t.Errorf("the test in the namespace failed: %v", err)
	}
}

func icmpSendErrorsInNetns(t *testing.T) {
	loopbackUp(t)
	for _, args := range [][]string{
		{"iptables", "-A", "OUTPUT", "-p", "icmp", "-d", "127.0.0.2", "-j", "DROP"},
		{"iptables", "-A", "INPUT", "-p", "icmp", "--icmp-type", "echo-reply", "-s", "127.0.0.3", "-j", "DROP"},
		{"ip", "route", "add", "prohibit", "10.9.9.9/32"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	const timeout = 20 * time.Second
	tests := []struct {
		name  string
		host  string
		count int
		errno error  // the kernel's error, nil for none
		want  string // in the error text
	}{
		{"reachable", "127.0.0.1", 1, nil, ""},
		{"firewall drops requests", "127.0.0.2", 1, syscall.EPERM,
			"operation not permitted (a firewall rule refuses outgoing ICMP)"},
		{"firewall drops requests, three echoes", "127.0.0.2", 3, syscall.EPERM, "operation not permitted"},
		{"prohibit route", "10.9.9.9", 1, syscall.EACCES, "permission denied (a prohibit route"},
		{"no route", "10.1.2.3", 1, syscall.ENETUNREACH, "network is unreachable"},
	}
	for _, mode := range []struct {
		name    string
		pingGID string // net.ipv4.ping_group_range in the namespace
		want    int32
	}{
		{"raw socket", "1 0", icmpPrivileged},
		{"unprivileged socket", "0 2147483647", icmpUnprivileged},
	} {
		t.Run(mode.name, func(t *testing.T) {
			if err := os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte(mode.pingGID), 0); err != nil {
				t.Skipf("cannot set net.ipv4.ping_group_range: %v", err)
			}
			icmpMode.Store(icmpUnknown)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					start := time.Now()
					err := MustICMP(tt.host, WithCount(tt.count), WithTimeout(timeout)).Check(t.Context())
					took := time.Since(start)
					t.Logf("%s: %v (after %v)", tt.host, err, took.Round(time.Millisecond))
					wantErr(t, err, tt.want)
					if tt.errno == nil {
						return
					}
					if !errors.Is(err, tt.errno) {
						t.Errorf("got %v, want it to wrap %v", err, tt.errno)
					}
					var te *TimeoutError
					if errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("got %v, want no timeout", err)
					}
					if took > timeout/2 {
						t.Errorf("took %v, want the error at once, well before the timeout %v", took, timeout)
					}
				})
			}
			if got := icmpMode.Load(); got != mode.want {
				t.Errorf("got socket mode %d, want %d", got, mode.want)
			}
			t.Run("reply dropped", func(t *testing.T) {
				err := MustICMP("127.0.0.3", WithTimeout(300*time.Millisecond)).Check(t.Context())
				wantErr(t, err, "no echo reply from 127.0.0.3: timeout after 300ms")
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("got %v, want a timeout", err)
				}
			})
		})
	}
}

// loopbackUp brings up the namespace's loopback interface.
func loopbackUp(t *testing.T) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		t.Fatal(err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		t.Fatal(err)
	}
}
