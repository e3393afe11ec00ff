package pulse

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// seen is what a redirecting server saw of one request.
type seen struct {
	method, target, host, referer, agent string
}

// redirector serves redirects of every kind. It logs each request,
// leaving out the header that tells the two checkers apart.
type redirector struct {
	mu  sync.Mutex
	log []seen
}

func (rd *redirector) take() []seen {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	l := rd.log
	rd.log = nil
	return l
}

func (rd *redirector) handler(other string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/code/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.Header().Set("Location", "/ok?from="+r.PathValue("code"))
		w.WriteHeader(code)
		io.WriteString(w, strings.Repeat("moved ", 100))
	})
	mux.HandleFunc("/chain/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			io.WriteString(w, "end of the chain")
			return
		}
		http.Redirect(w, r, "/chain/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other+"/ok?q=1", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/nolocation", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusFound) })
	mux.HandleFunc("/badlocation", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://[::1")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/scheme", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "ftp://files.test/x")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/ok")
		w.WriteHeader(http.StatusFound)
		io.WriteString(w, strings.Repeat("x", 64<<10)) // more than is drained
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd.mu.Lock()
		rd.log = append(rd.log, seen{r.Method, r.URL.RequestURI(), r.Host, r.Referer(), r.UserAgent()})
		rd.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
}

// redirectors starts two plain HTTP servers sharing one log (or, with
// secure, the first in TLS); /elsewhere on the first redirects to the
// second. It returns the log and the first server's URL.
func redirectors(t *testing.T, secure bool) (*redirector, string) {
	rd := &redirector{}
	other := httptest.NewServer(rd.handler(""))
	t.Cleanup(other.Close)
	start := httptest.NewServer
	if secure {
		start = httptest.NewTLSServer
	}
	first := start(rd.handler(other.URL))
	t.Cleanup(first.Close)
	return rd, first.URL
}

// TestDirectRequestsFollowRedirectsAsTheClientDoes checks a direct
// request (a GET or HEAD with the default headers, sent to the transport
// with redirects followed by the checker) against the same request sent
// through net/http's client (a header of no consequence makes the checker
// use it): the servers see the same requests, with the same Referer, and
// the checks give the same result.
func TestDirectRequestsFollowRedirectsAsTheClientDoes(t *testing.T) {
	rd, srvURL := redirectors(t, false)
	paths := []string{"/ok", "/code/301", "/code/302", "/code/303", "/code/307", "/code/308", "/code/300",
		"/chain/9", "/chain/10", "/chain/11", "/loop", "/elsewhere", "/nolocation", "/badlocation", "/scheme", "/long"}
	for _, path := range paths {
		for i, opts := range [][]HTTPOption{nil, {WithMethod(http.MethodHead)}, {WithFollowRedirects(false)}, {WithStatus(302)}} {
			direct := MustHTTP(srvURL+path, opts...)
			if !direct.prof().spec.orPlain().direct {
				t.Fatalf("%s: not a direct request", path)
			}
			viaClient := MustHTTP(srvURL+path, append(slices.Clip(opts), WithHeader("X-Path", "client"))...)
			if viaClient.prof().spec.direct {
				t.Fatalf("%s: a request with a header of its own is direct", path)
			}
			name := fmt.Sprintf("%s, options %d", path, i)
			errDirect := direct.Check(context.Background())
			sawDirect := rd.take()
			errClient := viaClient.Check(context.Background())
			sawClient := rd.take()
			if fmt.Sprint(errDirect) != fmt.Sprint(errClient) {
				t.Errorf("%s: direct check %v, through the client %v", name, errDirect, errClient)
			}
			if !slices.Equal(sawDirect, sawClient) {
				t.Errorf("%s: the servers saw\n%v\nfrom the direct check, and\n%v\nthrough the client", name, sawDirect, sawClient)
			}
			if len(sawDirect) == 0 {
				t.Errorf("%s: no request seen", name)
			}
		}
	}
}

// TestDirectRequestFromHTTPSToHTTP: no Referer names an https page in a
// plain HTTP request, and from https to https one does.
func TestDirectRequestFromHTTPSToHTTP(t *testing.T) {
	rd, secureURL := redirectors(t, true)
	for _, path := range []string{"/elsewhere", "/code/302"} {
		if err := MustHTTP(secureURL+path, WithInsecureSkipVerify()).Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		direct := rd.take()
		if err := MustHTTP(secureURL+path, WithInsecureSkipVerify(), WithHeader("X-Path", "client")).Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		if viaClient := rd.take(); !slices.Equal(direct, viaClient) {
			t.Errorf("%s: the servers saw\n%v\nfrom the direct check, and\n%v\nthrough the client", path, direct, viaClient)
		}
		if len(direct) != 2 || (direct[1].referer == "") != (path == "/elsewhere") {
			t.Errorf("%s: requests %v: want a Referer only from https to https", path, direct)
		}
	}
}

// TestDirectRequestKeepsUserInformation: a URL with user information
// goes through the client, which sends it as basic auth.
func TestDirectRequestKeepsUserInformation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "probe" || p != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	c := MustHTTP(strings.Replace(srv.URL, "http://", "http://probe:pw@", 1) + "/")
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestDrainIsCopyN: drain discards what io.CopyN(io.Discard, ...) would
// and reports the same.
func TestDrainIsCopyN(t *testing.T) {
	for _, size := range []int{0, 1, 100, 8 << 10, 8<<10 + 1, 64 << 10, 100 << 10} {
		for _, n := range []int64{0, 1, 2 << 10, 64 << 10} {
			body := strings.Repeat("x", size)
			r1, r2 := strings.NewReader(body), strings.NewReader(body)
			got, gotErr := drain(r1, n)
			want, wantErr := io.CopyN(io.Discard, r2, n)
			if got != want || gotErr != wantErr || r1.Len() != r2.Len() {
				t.Errorf("size %d, n %d: drain %d, %v, %d left; CopyN %d, %v, %d left",
					size, n, got, gotErr, r1.Len(), want, wantErr, r2.Len())
			}
		}
	}
}
