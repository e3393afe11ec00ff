package pulse

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// testCA is a certificate authority generated for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pulse test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leaf issues a certificate for localhost and 127.0.0.1 valid from
// notBefore to notAfter.
func (ca *testCA) leaf(t testing.TB, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsServer serves TLS handshakes with cert on a loopback port.
func tlsServer(t testing.TB, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.(*tls.Conn).Handshake()
				var b [1]byte
				c.Read(b[:]) // until the client closes
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

func TestTLS(t *testing.T) {
	ca := newTestCA(t)
	now := time.Now()
	fresh := tlsServer(t, ca.leaf(t, now.Add(-time.Minute), now.Add(time.Hour)))
	expired := tlsServer(t, ca.leaf(t, now.Add(-2*time.Hour), now.Add(-time.Hour)))
	plain := tcpServer(t, banner("SSH-2.0-OpenSSH_9.9\r\n"))
	_, port, _ := net.SplitHostPort(fresh)
	byName := net.JoinHostPort("localhost", port)

	tests := []struct {
		name string
		addr string
		opts []TLSOption
		want string
	}{
		{"valid", fresh, []TLSOption{WithRootCAs(ca.pool)}, ""},
		{"valid by name", byName, []TLSOption{WithRootCAs(ca.pool)}, ""},
		{"valid long enough", fresh, []TLSOption{WithRootCAs(ca.pool), WithMinValidity(30 * time.Minute)}, ""},
		{"expires too soon", fresh, []TLSOption{WithRootCAs(ca.pool), WithMinValidity(48 * time.Hour)},
			`certificate "CN=localhost" expires in `},
		{"expires too soon says the wanted validity", fresh, []TLSOption{WithRootCAs(ca.pool), WithMinValidity(48 * time.Hour)},
			"want at least 48h0m0s"},
		{"unknown authority", fresh, nil, "tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{"name mismatch", fresh, []TLSOption{WithRootCAs(ca.pool), WithServerName("db.example.test")},
			"x509: certificate is valid for localhost, not db.example.test"},
		{"expired", expired, []TLSOption{WithRootCAs(ca.pool)}, "x509: certificate has expired"},
		{"expired, unverified", expired, []TLSOption{WithInsecureSkipVerify()}, `certificate "CN=localhost" expired at`},
		{"unverified but valid", fresh, []TLSOption{WithInsecureSkipVerify()}, ""},
		{"not TLS", plain, []TLSOption{WithTimeout(2 * time.Second)}, "tls: first record does not look like a TLS handshake"},
		{"refused", closedAddr(t), nil, "connect: connection refused"},
		{"max latency", fresh, []TLSOption{WithRootCAs(ca.pool), WithMaxLatency(time.Nanosecond)}, "max 1ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := TLS(tt.addr, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			wantErr(t, c.Check(t.Context()), tt.want)
		})
	}
}

func TestTLSHandshakeTimeout(t *testing.T) {
	silent := tcpServer(t, hang)
	wantErr(t, MustTLS(silent, WithTimeout(100*time.Millisecond)).Check(t.Context()),
		"timeout after 100ms while connecting and handshaking")
}
