package pulse

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
)

// maxRedirects is how many redirects a check follows, as net/http's
// client does by default.
const maxRedirects = 10

// errTooManyRedirects is the error of a check whose target redirected once
// too often; its text is net/http's.
var errTooManyRedirects = fmt.Errorf("stopped after %d redirects", maxRedirects)

// send sends req and returns the response the checker judges, as the
// profile's http.Client would. A request of a spec that is direct (a GET
// or HEAD with no body and the default headers) goes to the transport
// itself, and its redirects are followed here: the client copies the
// headers and the URL of every request in case it is redirected, which
// costs a check more than anything else it allocates. Every other request
// goes through the client, as does one whose URL holds user information.
//
// For a direct request the outcome is the client's: the same requests
// (each redirect with the method kept, the headers copied and a Referer
// naming the previous URL, unless that one was https and the next is
// not), at most 10 redirects, a redirect without a Location judged as it
// is, a Location that does not parse an error (followed or not), and the
// client's error for a server that answers https in plain HTTP.
func (p *httpProfile) send(req *http.Request, sp *httpSpec) (*http.Response, error) {
	if !sp.direct || req.URL.User != nil {
		return p.client.Do(req) // the client sends the user information as basic auth
	}
	rt := p.client.Transport
	follow := p.client.CheckRedirect == nil
	for hops := 0; ; hops++ {
		resp, err := rt.RoundTrip(req)
		if err != nil {
			if resp != nil && resp.Body != nil {
				resp.Body.Close()
			}
			var rh tls.RecordHeaderError
			if errors.As(err, &rh) && string(rh.RecordHeader[:]) == "HTTP/" {
				err = http.ErrSchemeMismatch
			}
			return nil, err
		}
		if resp == nil {
			return nil, errors.New("http: the transport returned no response and no error")
		}
		if !redirected(resp.StatusCode) {
			return resp, nil
		}
		loc := resp.Header.Get("Location")
		if loc == "" {
			return resp, nil // a 3xx without a Location is judged as it is
		}
		// A Location that is not a URL is an error even when redirects
		// are not followed, as it is for the client.
		next, err := req.URL.Parse(loc)
		if err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("failed to parse Location header %q: %v", loc, err)
		}
		if !follow {
			return resp, nil
		}
		if hops+1 >= maxRedirects {
			resp.Body.Close()
			return nil, errTooManyRedirects
		}
		// What is left of a short body goes, so that the connection
		// serves the next request.
		if resp.ContentLength == -1 || resp.ContentLength <= 2<<10 {
			_, _ = drain(resp.Body, 2<<10)
		}
		resp.Body.Close()
		h := req.Header.Clone()
		if ref := referer(req.URL, next); ref != "" {
			h.Set("Referer", ref)
		}
		r, err := http.NewRequestWithContext(req.Context(), req.Method, "", nil)
		if err != nil {
			return nil, err
		}
		r.URL, r.Host, r.Header, r.Response = next, "", h, resp
		req = r
	}
}

// orPlain returns sp, or the spec of a plain GET for nil.
func (sp *httpSpec) orPlain() *httpSpec {
	if sp == nil {
		return plainSpec
	}
	return sp
}

// redirected reports whether a response of this status is followed.
func redirected(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// referer is the Referer of a request redirected from prev to next: prev
// without its user information, or nothing from https to http.
func referer(prev, next *url.URL) string {
	if prev.Scheme == "https" && next.Scheme == "http" {
		return ""
	}
	if prev.User == nil {
		return prev.String()
	}
	u := *prev
	u.User = nil
	return u.String()
}

// discardBufs hold the buffers drain reads into.
var discardBufs = sync.Pool{New: func() any { return new([8 << 10]byte) }}

// drain reads and discards up to n bytes of r, as io.CopyN(io.Discard,
// r, n) does (io.EOF when r ends first), without the reader CopyN
// allocates for every call.
func drain(r io.Reader, n int64) (int64, error) {
	buf := discardBufs.Get().(*[8 << 10]byte)
	defer discardBufs.Put(buf)
	var read int64
	for read < n {
		m, err := r.Read(buf[:min(int64(len(buf)), n-read)])
		read += int64(m)
		if err != nil {
			return read, err
		}
	}
	return read, nil
}
