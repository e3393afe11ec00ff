package pulse

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ziad/cpra/internal/plainurl"
	"github.com/ziad/cpra/internal/textarena"
)

// Connection pooling shared by every HTTP and gRPC checker.
//
// One http.Transport serves all checkers with the same certificate
// verification settings; the usual case (system roots) is a single
// transport for the whole process. Transports are created on first use, so
// importing the package starts nothing.
const (
	// maxIdleConnsPerHost lets many monitors of one host reuse connections
	// instead of dialing anew (net/http's default of 2 would make most
	// checks of a busy host open a connection). A pool of more workers
	// than this against one host closes the surplus after each batch and
	// dials it again for the next: a pool of 184 workers dialed about 200
	// connections a second, 12,000 sockets in TIME_WAIT. A higher cap
	// keeps the connections of a pool's peak idle until their timeout
	// instead: at 1024, a pool that had reached about 1000 workers while
	// falling behind held 2,100 goroutines and 60 MB more after it shrank,
	// and at 256 the runs at 1M were no better than at 128 (see the README).
	maxIdleConnsPerHost = 128
	// maxIdleConns caps idle connections overall so that a million monitors
	// of distinct hosts do not hold a million sockets open between checks.
	maxIdleConns    = 2048
	idleConnTimeout = 90 * time.Second
)

type transportKey struct {
	roots      *x509.CertPool
	insecure   bool
	serverName string
	grpc       bool // HTTP/2 only: h2c for http URLs, h2 over TLS for https
	grpcTLS    bool
}

// clients is the pair of clients over one transport: one follows
// redirects, one returns the redirect response itself.
type clients struct {
	transport *http.Transport
	follow    *http.Client
	noFollow  *http.Client
	// plain and plainNoFollow are what the HTTP checkers of a plain GET
	// (no option but the transport's and redirects) share; bases, by
	// scheme and host, what those of a plain URL share (see plainProfile).
	plain, plainNoFollow *httpProfile
	bases                [2]map[string]*httpProfile // following redirects, not
}

var pool struct {
	sync.Mutex
	m    map[transportKey]*clients
	text textarena.Arena // what checkers keep of their URLs
	nums map[*httpProfile]uint32
}

// maxBases bounds the scheme-and-host profiles of each client: a fleet of
// as many hosts as monitors gains nothing from them, and past the bound
// its checkers keep their whole URL.
const maxBases = 4096

// plainChecker returns the checker of a plain GET of rawURL. It keeps what
// it needs of the URL: its path, with the profile of its scheme and host,
// when the URL is plain (see package plainurl); otherwise all of it, with
// the client's profile. That goes in a record in shared blocks, naming the
// profile by its number, or, when no record can hold it (a URL longer than
// a block keeps, more profiles than a record can number), on the heap.
func (c *clients) plainChecker(rawURL string, noRedirects bool) HTTPChecker {
	i, whole := 0, c.plain
	if noRedirects {
		i, whole = 1, c.plainNoFollow
	}
	pool.Lock()
	defer pool.Unlock()
	p, kept := whole, rawURL
	if base, path, ok := plainurl.Split(rawURL); ok {
		switch b := c.bases[i][base]; {
		case b != nil:
			p, kept = b, path
		case len(c.bases[i]) < maxBases:
			if c.bases[i] == nil {
				c.bases[i] = make(map[string]*httpProfile)
			}
			b = &httpProfile{client: whole.client, base: strings.Clone(base)}
			register(b)
			c.bases[i][b.base] = b
			p, kept = b, path
		}
	}
	num := pool.nums[p]
	if num == 0 || len(kept) > maxKept {
		return HTTPChecker{r: unsafe.Pointer(&httpRec{p: p, rest: pool.text.Clone(kept)})}
	}
	var rec [recHead + maxKept]byte
	n := 0
	if num <= maxShortNum && len(kept) <= maxShortKept {
		rec[0], rec[1] = byte(recLong+num), byte(len(kept))
		n = recShortHead + copy(rec[recShortHead:], kept)
	} else {
		rec[0] = recLong
		rec[1], rec[2], rec[3] = byte(num), byte(num>>8), byte(num>>16)
		rec[4], rec[5] = byte(len(kept)), byte(len(kept)>>8)
		n = recHead + copy(rec[recHead:], kept)
	}
	r := pool.text.Clone(unsafe.String(&rec[0], n))
	return HTTPChecker{r: unsafe.Pointer(unsafe.StringData(r))}
}

// A plain checker's record, in one of two forms told apart by its first
// byte (0 starts an httpRec instead). The short form, for the first
// profiles and texts up to 255 bytes: that byte is recLong plus the
// profile's number, the next the length of the text kept, then the text:
// 2 bytes and the path for a fleet's plain GETs. The long form: recLong,
// the profile's number (3 bytes) and the length of the text kept (2
// bytes), then that text. The records are free of pointers, so that they
// can live in the blocks of shared text; the number finds the profile in
// profiles.
const (
	recLong      = 1
	recHead      = 6
	recShortHead = 2
	maxShortNum  = 0xff - recLong
	maxShortKept = 0xff
	maxKept      = textarena.Longest - recHead
	maxNum       = 1<<24 - 1
)

// profiles numbers the shared profiles of plain checkers; number 0 is
// none. It only grows (its profiles are bounded by maxBases per client),
// and a checker reads it without the pool's lock: a new profile is stored
// where no reader of the earlier slice looks, then the longer slice is
// published. The pool's nums gives a profile's number back (a field of
// the profile would cost the profiles of checkers with options 16 bytes,
// their size class).
var profiles atomic.Pointer[[]*httpProfile]

// register numbers p in profiles, the pool's lock held; past maxNum it
// stays unnumbered and its checkers are built on the heap.
func register(p *httpProfile) {
	var list []*httpProfile
	if l := profiles.Load(); l != nil {
		list = *l
	} else {
		list = []*httpProfile{nil}
	}
	if len(list) > maxNum {
		return
	}
	if pool.nums == nil {
		pool.nums = make(map[*httpProfile]uint32)
	}
	pool.nums[p] = uint32(len(list))
	list = append(list, p)
	profiles.Store(&list)
}

// profileNumbered returns the profile numbered n.
func profileNumbered(n uint32) *httpProfile { return (*profiles.Load())[n] }

// keepText returns a copy of s in shared blocks.
func keepText(s string) string {
	pool.Lock()
	defer pool.Unlock()
	return pool.text.Clone(s)
}

func sharedClients(k transportKey) *clients {
	pool.Lock()
	defer pool.Unlock()
	if c := pool.m[k]; c != nil {
		return c
	}
	if pool.m == nil {
		pool.m = make(map[transportKey]*clients)
	}
	t := newTransport(k)
	c := &clients{
		transport: t,
		follow:    &http.Client{Transport: t},
		noFollow: &http.Client{
			Transport: t,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	c.plain = &httpProfile{client: c.follow}
	c.plainNoFollow = &httpProfile{client: c.noFollow}
	register(c.plain)
	register(c.plainNoFollow)
	pool.m[k] = c
	return c
}

func (k transportKey) tlsConfig() *tls.Config {
	if k.roots == nil && !k.insecure && k.serverName == "" {
		return nil
	}
	return &tls.Config{
		RootCAs:            k.roots,
		InsecureSkipVerify: k.insecure,
		ServerName:         k.serverName,
	}
}

func newTransport(k transportKey) *http.Transport {
	dialer := &net.Dialer{KeepAlive: 30 * time.Second}
	t := &http.Transport{
		// No proxy from the environment: a monitor measures the target itself.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		IdleConnTimeout:        idleConnTimeout,
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
		TLSClientConfig:        k.tlsConfig(),
	}
	if k.grpc {
		var p http.Protocols
		if k.grpcTLS {
			p.SetHTTP2(true)
		} else {
			p.SetUnencryptedHTTP2(true)
			// Name the protocol of a server that does not greet in HTTP/2.
			t.DialContext = sniffH2C(t.DialContext)
		}
		t.Protocols = &p
	}
	return t
}

// CloseIdleConnections closes the idle connections of the transports shared
// by the HTTP and gRPC checkers. Connections in use are left alone. Call it
// when monitors of many hosts were removed, or before checking a program
// for leaked goroutines: each idle HTTP connection is served by goroutines
// of net/http.
func CloseIdleConnections() {
	pool.Lock()
	defer pool.Unlock()
	for _, c := range pool.m {
		c.transport.CloseIdleConnections()
	}
}
