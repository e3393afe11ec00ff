package pulse_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/ziad/cpra/pulse"
)

func ExampleHTTP() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"status":{"db":"up","cache":"degraded"}}`)
	}))
	defer srv.Close()
	defer pulse.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	healthy, err := pulse.HTTP(srv.URL+"/health", pulse.WithJSONField("status.db", "up"))
	if err != nil {
		panic(err) // an invalid URL or option
	}
	fmt.Println(healthy.Check(ctx))
	fmt.Println(pulse.MustHTTP(srv.URL+"/health", pulse.WithJSONField("status.cache", "up")).Check(ctx))
	fmt.Println(pulse.MustHTTP(srv.URL + "/down").Check(ctx))
	fmt.Println(pulse.MustHTTP(srv.URL+"/health", pulse.WithBodyContains("queue")).Check(ctx))
	// Output:
	// <nil>
	// json field "status.cache" = "degraded", want "up"
	// status 503, want 2xx
	// body missing "queue"
}

func ExampleHTTP_tls() {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	defer pulse.CloseIdleConnections()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	ctx := context.Background()
	fmt.Println(pulse.MustHTTP(srv.URL, pulse.WithRootCAs(pool), pulse.WithTimeout(2*time.Second)).Check(ctx))
	fmt.Println(pulse.MustHTTP(srv.URL, pulse.WithTimeout(2*time.Second)).Check(ctx))
	// Output:
	// <nil>
	// tls: failed to verify certificate: x509: certificate signed by unknown authority
}

func ExampleTCP() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "220 mail.example.test ESMTP\r\n")
			c.Close()
		}
	}()
	defer func() { ln.Close(); <-done }()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	fmt.Println(pulse.MustTCP(ln.Addr().String(), pulse.WithReplyPrefix("220 ")).Check(ctx))
	fmt.Println(pulse.MustTCP(ln.Addr().String(), pulse.WithReplyPrefix("SSH-")).Check(ctx))
	// Output:
	// <nil>
	// reply "220 mail.example.test ESMTP\r\n" does not start with "SSH-"
}

func ExampleICMP() {
	c := pulse.MustICMP("127.0.0.1", pulse.WithCount(3), pulse.WithMaxLatency(50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Check(ctx); err != nil {
		fmt.Println("down:", err)
	}
}

func ExampleDNS() {
	// Ask a chosen server for the MX records of a domain and require one
	// to name a given host.
	c, err := pulse.DNS("example.com",
		pulse.WithDNSServer("127.0.0.1:53"),
		pulse.WithRecordType("MX"),
		pulse.WithAnswerContains("mail.example.com."))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Check(ctx); err != nil {
		fmt.Println("down:", err)
	}
}

func ExampleTLS() {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	addr := srv.Listener.Addr().String()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// httptest's certificate is valid for example.com and 127.0.0.1.
	fmt.Println(pulse.MustTLS(addr, pulse.WithRootCAs(pool)).Check(ctx))
	fmt.Println(pulse.MustTLS(addr, pulse.WithRootCAs(pool), pulse.WithServerName("api.example.org")).Check(ctx))
	// Output:
	// <nil>
	// tls: failed to verify certificate: x509: certificate is valid for example.com, *.example.com, not api.example.org
}

func ExampleTLS_expiry() {
	// Fail two weeks before the certificate expires.
	c := pulse.MustTLS("db.example.com:5433", pulse.WithMinValidity(14*24*time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Check(ctx); err != nil {
		fmt.Println("down:", err)
	}
}

func ExampleExec() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ok := pulse.MustExec("/bin/sh", []string{"-c", `test "$ROLE" = primary`}, pulse.WithEnv("ROLE=primary"))
	fmt.Println(ok.Check(ctx))
	failing := pulse.MustExec("/bin/sh", []string{"-c", "echo replica lag 42s >&2; exit 2"})
	fmt.Println(failing.Check(ctx))
	// Output:
	// <nil>
	// exec /bin/sh: exit status 2: output: "replica lag 42s"
}

func ExampleGRPC() {
	// The standard health check of a gRPC server, over plaintext HTTP/2;
	// add pulse.WithTLS() for a server behind TLS.
	c := pulse.MustGRPC("127.0.0.1:50051", "orders.v1.OrderService")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Check(ctx); err != nil {
		fmt.Println("down:", err)
	}
}

func ExampleRetry() {
	calls := 0
	flaky := pulse.CheckerFunc(func(context.Context) error {
		calls++
		if calls < 3 {
			return fmt.Errorf("attempt %d lost", calls)
		}
		return nil
	})
	c := pulse.Retry(flaky, 3, 10*time.Millisecond)
	fmt.Println(c.Check(context.Background()), calls)
	calls = -10
	fmt.Println(c.Check(context.Background()))
	// Output:
	// <nil> 3
	// 3 attempts, last: attempt -7 lost
}
