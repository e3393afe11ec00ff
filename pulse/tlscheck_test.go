package pulse

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const day = 24 * time.Hour

var serials atomic.Int64

// testCA is a certificate authority generated for a test: a root, or an
// intermediate when it has a parent.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool // a pool with the root of this CA's chain
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// newTestCA returns a root valid from an hour ago for a day.
func newTestCA(t testing.TB) *testCA {
	t.Helper()
	now := time.Now()
	return newCA(t, "pulse test CA", now.Add(-time.Hour), now.Add(day), nil, nil)
}

// newCA issues a CA certificate named name, valid from notBefore to
// notAfter, signed by parent (self-signed when parent is nil), for key (a
// new key when nil: pass an existing CA's key to issue another certificate
// of the same CA, as a renewal or a cross-signature does).
func newCA(t testing.TB, name string, notBefore, notAfter time.Time, parent *testCA, key *ecdsa.PrivateKey) *testCA {
	t.Helper()
	if key == nil {
		key = newKey(t)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serials.Add(1)),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key}
	if parent != nil {
		ca.pool = parent.pool
	} else {
		ca.pool = x509.NewCertPool()
		ca.pool.AddCert(cert)
	}
	return ca
}

// leaf issues a certificate for localhost and 127.0.0.1 valid from
// notBefore to notAfter; the server sends it alone.
func (ca *testCA) leaf(t testing.TB, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serials.Add(1)),
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

// sending returns cert with extra certificates appended to what the server
// sends after the leaf.
func sending(cert tls.Certificate, extra ...*testCA) tls.Certificate {
	for _, ca := range extra {
		cert.Certificate = append(cert.Certificate, ca.cert.Raw)
	}
	return cert
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
		{"expires too soon", fresh, []TLSOption{WithRootCAs(ca.pool), WithMinValidity(2 * day)},
			`certificate "CN=localhost" expires in 59 minutes (`},
		{"expires too soon says the wanted validity", fresh, []TLSOption{WithRootCAs(ca.pool), WithMinValidity(2 * day)},
			"want at least 2 days"},
		{"unknown authority", fresh, nil, "tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{"name mismatch", fresh, []TLSOption{WithRootCAs(ca.pool), WithServerName("db.example.test")},
			"x509: certificate is valid for localhost, not db.example.test"},
		{"expired", expired, []TLSOption{WithRootCAs(ca.pool)}, `certificate "CN=localhost" expired 1 hour ago (`},
		{"expired, unverified", expired, []TLSOption{WithInsecureSkipVerify()}, `certificate "CN=localhost" expired 1 hour ago (`},
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

// TestTLSChains judges validity on the chain that verification built, with
// chains of a root, an intermediate and a leaf built for the test.
func TestTLSChains(t *testing.T) {
	now := time.Now()
	root := newCA(t, "test root", now.Add(-400*day), now.Add(3650*day), nil, nil)
	inter := newCA(t, "test intermediate", now.Add(-30*day), now.Add(365*day), root, nil)
	// An earlier certificate of the same intermediate (same name, same
	// key), expired: servers that were not cleaned up still send it.
	oldInter := newCA(t, "test intermediate", now.Add(-400*day), now.Add(-35*day), root, inter.key)
	// Another expired CA certificate that has nothing to do with the chain.
	stale := newCA(t, "stale extra intermediate", now.Add(-400*day), now.Add(-10*day), root, nil)
	// An intermediate that ends before its leaf.
	shortInter := newCA(t, "short intermediate", now.Add(-30*day), now.Add(5*day), root, nil)
	// The same intermediate cross-signed by a second root that ends soon.
	oldRoot := newCA(t, "old root", now.Add(-3650*day), now.Add(3*day), nil, nil)
	crossInter := newCA(t, "test intermediate", now.Add(-30*day), now.Add(365*day), oldRoot, inter.key)
	bothRoots := root.pool.Clone()
	bothRoots.AddCert(oldRoot.cert)
	onlyOldRoot := oldRoot.pool

	leaf := func(ca *testCA, from, to time.Duration) tls.Certificate {
		return ca.leaf(t, now.Add(from), now.Add(to))
	}
	good := leaf(inter, -day, 90*day)
	tests := []struct {
		name string
		cert tls.Certificate
		opts []TLSOption
		want string
	}{
		{"good chain", sending(good, inter), []TLSOption{WithRootCAs(root.pool), WithMinValidity(30 * day)}, ""},
		{"good leaf and a stale extra certificate", sending(good, inter, stale),
			[]TLSOption{WithRootCAs(root.pool), WithMinValidity(30 * day)}, ""},
		{"stale extra certificate first", sending(good, stale, inter), []TLSOption{WithRootCAs(root.pool)}, ""},
		{"expired earlier copy of the intermediate", sending(good, oldInter, inter),
			[]TLSOption{WithRootCAs(root.pool), WithMinValidity(30 * day)}, ""},
		{"stale extra certificate, unverified", sending(good, inter, stale),
			[]TLSOption{WithInsecureSkipVerify(), WithMinValidity(30 * day)}, ""},
		{"leaf ends soon", sending(leaf(inter, -day, 20*day), inter), []TLSOption{WithRootCAs(root.pool), WithMinValidity(30 * day)},
			`certificate "CN=localhost" expires in 19 days (` + now.Add(20*day).UTC().Format("2006-01-02") + `), want at least 30 days`},
		{"intermediate ends soon", sending(leaf(shortInter, -day, 90*day), shortInter),
			[]TLSOption{WithRootCAs(root.pool), WithMinValidity(14 * day)},
			`certificate "CN=short intermediate" expires in 4 days (`},
		{"the longer of two verified chains counts", sending(good, crossInter, inter),
			[]TLSOption{WithRootCAs(bothRoots), WithMinValidity(30 * day)}, ""},
		{"the only verified chain ends with its root", sending(good, crossInter),
			[]TLSOption{WithRootCAs(onlyOldRoot), WithMinValidity(30 * day)},
			`certificate "CN=old root" expires in 2 days (`},
		{"leaf not yet valid", sending(leaf(inter, 3*day, 90*day), inter), []TLSOption{WithRootCAs(root.pool)},
			`certificate "CN=localhost" is not valid until ` + now.Add(3*day).UTC().Format("2006-01-02") + ` (in 2 days)`},
		{"leaf not yet valid, unverified", sending(leaf(inter, 3*day, 90*day), inter), []TLSOption{WithInsecureSkipVerify()},
			`certificate "CN=localhost" is not valid until ` + now.Add(3*day).UTC().Format("2006-01-02") + ` (in 2 days)`},
		{"leaf expired, unverified", sending(leaf(inter, -90*day, -3*day), inter), []TLSOption{WithInsecureSkipVerify()},
			`certificate "CN=localhost" expired 3 days ago (` + now.Add(-3*day).UTC().Format("2006-01-02") + `)`},
		{"leaf ends soon, unverified", sending(leaf(inter, -day, 5*day), inter), []TLSOption{WithInsecureSkipVerify(), WithMinValidity(7 * day)},
			`certificate "CN=localhost" expires in 4 days (`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tlsServer(t, tt.cert)
			wantErr(t, MustTLS(addr, tt.opts...).Check(t.Context()), tt.want)
		})
	}
}

func TestTLSCertificateError(t *testing.T) {
	now := time.Now()
	ca := newCA(t, "long root", now.Add(-day), now.Add(3650*day), nil, nil)
	addr := tlsServer(t, ca.leaf(t, now.Add(-time.Hour), now.Add(10*day+time.Hour)))
	err := MustTLS(addr, WithRootCAs(ca.pool), WithMinValidity(14*day)).Check(t.Context())
	var ce *CertificateError
	if !errors.As(err, &ce) {
		t.Fatalf("got %T %v, want a *CertificateError", err, err)
	}
	if got := ce.DaysLeft(); got != 10 {
		t.Errorf("got DaysLeft() %d, want 10", got)
	}
	if ce.Want != 14*day || ce.Subject != "CN=localhost" || ce.NotYetValid {
		t.Errorf("got %+v, want Want 14 days, subject CN=localhost, valid now", ce)
	}

	expired := tlsServer(t, ca.leaf(t, now.Add(-3*day), now.Add(-2*day-time.Hour)))
	err = MustTLS(expired, WithRootCAs(ca.pool)).Check(t.Context())
	var ve *tls.CertificateVerificationError
	if !errors.As(err, &ce) || !errors.As(err, &ve) {
		t.Fatalf("got %T %v, want a *CertificateError wrapping the verification error", err, err)
	}
	if got := ce.DaysLeft(); got != -3 {
		t.Errorf("got DaysLeft() %d, want -3 (expired 2 days and an hour ago)", got)
	}
}

func TestSpanText(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30*day + 5*time.Hour, "30 days"},
		{day, "1 day"},
		{47 * time.Hour, "1 day"},
		{5*time.Hour + 59*time.Minute, "5 hours"},
		{time.Hour, "1 hour"},
		{12 * time.Minute, "12 minutes"},
		{30 * time.Second, "less than a minute"},
	}
	for _, tt := range tests {
		if got := spanText(tt.d); got != tt.want {
			t.Errorf("spanText(%v): got %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestTLSHandshakeTimeout(t *testing.T) {
	silent := tcpServer(t, hang)
	wantErr(t, MustTLS(silent, WithTimeout(100*time.Millisecond)).Check(t.Context()),
		"timeout after 100ms while connecting and handshaking")
}
