package statuspage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ziad/cpra"
)

// Defaults and limits of the options.
const (
	DefaultPageSize = 50   // rows of a listing page
	MaxPageSize     = 1000 // the most rows a request may ask for with ?n=
	DefaultTitle    = "Status"
	recentAlerts    = 20 // alerts the overview shows
)

// Option configures a [Page].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	title    string
	pageSize int
	log      *AlertLog
	now      func() time.Time
}

// WithTitle sets the page's title (default "Status").
func WithTitle(title string) Option {
	return optionFunc(func(c *config) { c.title = title })
}

// WithPageSize sets the rows of a listing page, and of the overview's list
// of monitors down or failing (default 50, at most [MaxPageSize]). A
// request may ask for another size with ?n=.
func WithPageSize(n int) Option {
	return optionFunc(func(c *config) { c.pageSize = n })
}

// WithAlertLog shows the recent alerts of log: on the overview, and each
// monitor's own on its page. Without it the page shows no alerts.
func WithAlertLog(log *AlertLog) Option {
	return optionFunc(func(c *config) { c.log = log })
}

// Page is a status page of one engine: an [http.Handler]. Create it with
// [New]; it is safe for concurrent use.
type Page struct {
	e   *cpra.Engine
	cfg config
	mux *http.ServeMux

	countsMu sync.Mutex
	counts   cpra.Counts
	countsAt time.Time // when counts were taken; zero: never
}

// countsMaxAge is how long the page reuses the counts by condition:
// counting reads every monitor (a few milliseconds of the engine's loop at
// a million), which a page refreshed by many browsers should not repeat.
const countsMaxAge = time.Second

var _ http.Handler = (*Page)(nil)

// New returns a status page of e. Options that are out of range are
// brought within it (a page size below 1 is the default, one above
// MaxPageSize is MaxPageSize).
func New(e *cpra.Engine, opts ...Option) *Page {
	cfg := config{title: DefaultTitle, pageSize: DefaultPageSize, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.pageSize < 1 {
		cfg.pageSize = DefaultPageSize
	}
	cfg.pageSize = min(cfg.pageSize, MaxPageSize)
	p := &Page{e: e, cfg: cfg, mux: http.NewServeMux()}
	p.mux.HandleFunc("GET /{$}", p.overview)
	p.mux.HandleFunc("GET /monitors", p.listing)
	p.mux.HandleFunc("GET /monitors/{name}", p.detail)
	return p
}

// ServeHTTP serves the page's paths (see the package documentation). It
// answers GET and HEAD; other methods get 405, other paths 404.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// Monitor is one monitor as the page shows it, and its JSON form. Times
// are RFC 3339; a zero time is left out.
type Monitor struct {
	Name                 string            `json:"name"`
	URL                  string            `json:"url"` // its page, relative to the page's root
	Condition            string            `json:"condition"`
	Code                 string            `json:"code,omitempty"` // the last code raised
	Since                time.Time         `json:"since,omitzero"` // when the failing or down state began
	LastCheck            time.Time         `json:"last_check,omitzero"`
	NextCheck            time.Time         `json:"next_check,omitzero"`
	LatencyMS            float64           `json:"latency_ms"`
	Error                string            `json:"error,omitempty"`
	Failures             int               `json:"failures"`
	Successes            int               `json:"successes"`
	Attempts             int               `json:"attempts"`
	Remediating          bool              `json:"remediating,omitempty"`
	SuppressedBy         string            `json:"suppressed_by,omitempty"`
	Flapping             bool              `json:"flapping,omitempty"`
	LastRemediation      time.Time         `json:"last_remediation,omitzero"`
	LastRemediationError string            `json:"last_remediation_error,omitempty"`
	IntervalSeconds      float64           `json:"interval_seconds"`
	TimeoutSeconds       float64           `json:"timeout_seconds"`
	Labels               map[string]string `json:"labels,omitempty"`
}

func monitorOf(st *cpra.Status) Monitor {
	m := Monitor{
		Name: st.Name, URL: "monitors/" + url.PathEscape(st.Name), Condition: st.Condition().String(),
		Since: st.Since, LastCheck: st.LastCheck, NextCheck: st.NextCheck,
		LatencyMS: float64(st.LastLatency.Microseconds()) / 1000, Failures: st.ConsecutiveFailures,
		Successes: st.ConsecutiveSuccesses, Attempts: st.Attempts, Remediating: st.Remediating,
		SuppressedBy: st.SuppressedBy, Flapping: st.Flapping, LastRemediation: st.LastRemediation,
		IntervalSeconds: st.Interval.Seconds(), TimeoutSeconds: st.Timeout.Seconds(), Labels: st.Labels,
	}
	if st.Code != 0 {
		m.Code = st.Code.String()
	}
	if st.LastError != nil {
		m.Error = clip(st.LastError.Error(), maxErrLen)
	}
	if st.LastRemediationError != nil {
		m.LastRemediationError = clip(st.LastRemediationError.Error(), maxErrLen)
	}
	return m
}

// Counts are the monitors in each condition, in JSON.
type Counts struct {
	Monitors    int `json:"monitors"`
	Down        int `json:"down"`
	Failing     int `json:"failing"`
	Up          int `json:"up"`
	Unknown     int `json:"unknown"`
	Paused      int `json:"paused"`
	Maintenance int `json:"maintenance"`
	Away        int `json:"away"` // run by another engine of the cluster
}

// Overview is what / shows.
type Overview struct {
	Title    string    `json:"title"`
	At       time.Time `json:"at"`
	Counts   Counts    `json:"counts"`
	Problems []Monitor `json:"problems"`       // down first, then failing; oldest first within each
	More     string    `json:"more,omitempty"` // a listing of every monitor down or failing, when Problems is cut
	Alerts   []Entry   `json:"alerts"`         // newest first
}

// Listing is what /monitors shows.
type Listing struct {
	Title    string    `json:"title"`
	At       time.Time `json:"at"`
	Query    string    `json:"query,omitempty"`
	State    string    `json:"state,omitempty"`
	Monitors []Monitor `json:"monitors"`
	Next     string    `json:"next,omitempty"`  // the next page, when there is one
	First    string    `json:"first,omitempty"` // the first page, when this is not it
}

// Detail is what /monitors/{name} shows.
type Detail struct {
	Title   string    `json:"title"`
	At      time.Time `json:"at"`
	Monitor Monitor   `json:"monitor"`
	Alerts  []Entry   `json:"alerts"` // the monitor's, newest first
}

func (p *Page) overview(w http.ResponseWriter, r *http.Request) {
	c := p.countsNow()
	o := Overview{Title: p.cfg.title, At: p.cfg.now(), Counts: Counts{Monitors: c.Monitors, Down: c.Down,
		Failing: c.Failing, Up: c.Up, Unknown: c.Unknown, Paused: c.Paused, Maintenance: c.Maintenance, Away: c.Away}}
	n := p.cfg.pageSize
	o.Problems = make([]Monitor, 0, min(n, c.Down+c.Failing))
	for _, cond := range []cpra.Condition{cpra.ConditionDown, cpra.ConditionFailing} {
		mark := len(o.Problems)
		for _, st := range p.e.Statuses(cpra.StatusFilter{Conditions: cond}) {
			if len(o.Problems) == n {
				o.More = "monitors?state=down,failing"
				break
			}
			o.Problems = append(o.Problems, monitorOf(&st))
		}
		slices.SortStableFunc(o.Problems[mark:], func(a, b Monitor) int { return a.Since.Compare(b.Since) })
	}
	if p.cfg.log != nil {
		o.Alerts = p.cfg.log.Entries("", recentAlerts)
	}
	if o.Alerts == nil {
		o.Alerts = []Entry{}
	}
	p.respond(w, r, "overview", "", &o)
}

// countsNow returns the counts by condition, taken at most countsMaxAge
// ago.
func (p *Page) countsNow() cpra.Counts {
	p.countsMu.Lock()
	defer p.countsMu.Unlock()
	if now := p.cfg.now(); p.countsAt.IsZero() || now.Sub(p.countsAt) >= countsMaxAge || now.Before(p.countsAt) {
		p.counts, p.countsAt = p.e.Counts(), now
	}
	return p.counts
}

// badRequest is an error in a request's query.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// query reads a listing's query: ?q= (name words and key=value labels),
// ?state=, ?after=, ?n=.
func (p *Page) query(r *http.Request) (cpra.StatusFilter, int, error) {
	var f cpra.StatusFilter
	q := r.URL.Query()
	var words []string
	for _, w := range strings.Fields(q.Get("q")) {
		if !strings.Contains(w, "=") {
			words = append(words, w)
			continue
		}
		sel, err := cpra.ParseSelector(w)
		if err != nil {
			return f, 0, &badRequest{fmt.Sprintf("q: %q is not a label=value pair", w)}
		}
		if f.Labels == nil {
			f.Labels = map[string]string{}
		}
		for k, v := range sel {
			f.Labels[k] = v
		}
	}
	f.Name = strings.Join(words, " ")
	var err error
	if s := q.Get("state"); s != "" {
		if f.Conditions, err = cpra.ParseCondition(s); err != nil {
			return f, 0, &badRequest{fmt.Sprintf("state: %q is not a list of down, failing, up, unknown, paused, maintenance", s)}
		}
	}
	if f.After, err = cpra.ParseCursor(q.Get("after")); err != nil {
		return f, 0, &badRequest{fmt.Sprintf("after: %q is not a cursor of this page", q.Get("after"))}
	}
	n := p.cfg.pageSize
	if s := q.Get("n"); s != "" {
		if n, err = strconv.Atoi(s); err != nil || n < 1 || n > MaxPageSize {
			return f, 0, &badRequest{fmt.Sprintf("n: %q is not a page size from 1 to %d", s, MaxPageSize)}
		}
	}
	return f, n, nil
}

func (p *Page) listing(w http.ResponseWriter, r *http.Request) {
	f, n, err := p.query(r)
	if err != nil {
		p.fail(w, r, http.StatusBadRequest, err)
		return
	}
	q := r.URL.Query()
	l := Listing{Title: p.cfg.title, At: p.cfg.now(), Query: q.Get("q"), State: q.Get("state"),
		Monitors: make([]Monitor, 0, min(n, 64))}
	var last cpra.Cursor
	for cur, st := range p.e.Statuses(f) {
		if len(l.Monitors) == n {
			q.Set("after", last.String())
			l.Next = "monitors?" + q.Encode()
			break
		}
		l.Monitors = append(l.Monitors, monitorOf(&st))
		last = cur
	}
	if !f.After.IsZero() {
		q.Del("after")
		l.First = "monitors?" + q.Encode()
	}
	p.respond(w, r, "listing", "", &l)
}

func (p *Page) detail(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	id, ok := p.e.Lookup(name)
	var st cpra.Status
	var err error
	if ok {
		st, err = p.e.Status(id)
	}
	if !ok || err != nil {
		p.fail(w, r, http.StatusNotFound, fmt.Errorf("no monitor named %q", name))
		return
	}
	d := Detail{Title: p.cfg.title, At: p.cfg.now(), Monitor: monitorOf(&st)}
	if p.cfg.log != nil {
		d.Alerts = p.cfg.log.Entries(name, recentAlerts)
	}
	if d.Alerts == nil {
		d.Alerts = []Entry{}
	}
	p.respond(w, r, "detail", "../", &d)
}

// wantsJSON reports whether the request asks for JSON rather than HTML.
func wantsJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/json") && !strings.Contains(a, "text/html")
}

// respond writes v as JSON or renders it with the named template; root
// leads from the path back to the page's root, for relative links.
func (p *Page) respond(w http.ResponseWriter, r *http.Request, name, root string, v any) {
	w.Header().Set("Vary", "Accept")
	w.Header().Set("Cache-Control", "no-store")
	var buf bytes.Buffer
	if wantsJSON(r) {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			http.Error(w, "statuspage: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
	} else {
		if err := pages.ExecuteTemplate(&buf, name, view{Root: root, Data: v, Now: p.cfg.now()}); err != nil {
			http.Error(w, "statuspage: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// fail answers an error, in JSON or HTML as the request asks.
func (p *Page) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	var bad *badRequest
	msg := err.Error()
	if errors.As(err, &bad) {
		msg = bad.msg
	}
	w.Header().Set("Vary", "Accept")
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	var buf bytes.Buffer
	root := ""
	if strings.HasPrefix(r.URL.Path, "/monitors/") {
		root = "../"
	}
	pages.ExecuteTemplate(&buf, "error", view{Root: root, Data: struct {
		Title, Error string
		Code         int
	}{p.cfg.title, msg, code}, Now: p.cfg.now()})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}
