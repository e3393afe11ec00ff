package config

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/internal/plainurl"
	"github.com/ziad/cpra/internal/redact"
	"github.com/ziad/cpra/internal/textarena"
	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/pulse"
)

// maxCount is the largest threshold or attempt count the engine takes.
const maxCount = 1<<16 - 1

// pagerDutyKeyEnv is read when a pagerduty code gives no routing_key.
const pagerDutyKeyEnv = "CPRA_PAGERDUTY_ROUTING_KEY"

// builder turns parsed items into monitors. Its caches make monitors with the
// same notifier, route, remediator or labels share one value; they are used by
// several workers at once.
type builder struct {
	o *options

	mu         sync.Mutex
	notifiers  map[string]*sharedNotifier
	routes     map[string]alert.Route
	remedies   memo // intervention block -> remedy
	codeRoutes memo // codes block -> alert.Notifier
	labelSets  memo // labels block -> map[string]string
	windowSets memo // maintenance block -> []cpra.MaintenanceWindow
	zones      map[string]zone
	logs       map[string]alert.Notifier
	stdoutLog  alert.Notifier
	closers    []io.Closer
	noRoute    alert.Route

	// defaults is the top-level defaults block, every node marked def,
	// once read; told holds the problems in it reported already.
	defaults *node
	told     map[string]bool
}

// firstTime reports whether a problem in the defaults block is reported
// for the first time.
func (b *builder) firstTime(field string, line int, err error) bool {
	key := fmt.Sprintf("%s\x00%d\x00%v", field, line, err)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.told[key] {
		return false
	}
	if b.told == nil {
		b.told = make(map[string]bool)
	}
	b.told[key] = true
	return true
}

type sharedNotifier struct {
	n   alert.Notifier
	id  int
	err error // the constructor's error, reported for every user
}

func newBuilder(o *options) *builder {
	return &builder{
		o:         o,
		notifiers: make(map[string]*sharedNotifier),
		routes:    make(map[string]alert.Route),
		logs:      make(map[string]alert.Notifier),
		noRoute:   alert.Route{},
	}
}

// close closes the files the builder opened.
func (b *builder) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for _, c := range b.closers {
		errs = append(errs, c.Close())
	}
	b.closers = nil
	return errors.Join(errs...)
}

// closes reports whether closing b closes anything.
func (b *builder) closes() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.closers) > 0
}

// closerFunc is a func as an io.Closer.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// built is the outcome of one item.
type built struct {
	m        cpra.Monitor
	enabled  bool
	digest   uint64
	index    int32
	line     int32
	nameLine int32
	depLine  int32  // line of depends_on, when the monitor has parents
	nameHash uint64 // of m.Name (see nameSet), which build sets with it
	errs     []*Error
	warns    []*Error
	whole    bool // the item needs the whole-document path
}

// item is the state of building one monitor.
type item struct {
	b     *builder
	texts *textarena.Arena // of the worker building it
	idx   int
	name  string
	out   *built
	// deps are the nodes of the names in Monitor.DependsOn, and unset the
	// fields (as cpra.MonitorError names them) left zero by an error, for
	// check.
	deps  []*node
	unset []string
}

// fail reports a problem at n. A problem in the defaults block is named
// defaults.<field> and reported once, for the first monitor it concerns.
func (it *item) fail(n *node, field string, err error) {
	if n != nil && n.def {
		field = join("defaults", field)
		if !it.b.firstTime(field, lineOf(n), err) {
			return
		}
	}
	it.out.errs = append(it.out.errs, &Error{Index: it.idx, Monitor: it.name, Field: field, Line: lineOf(n), Err: err})
}

func (it *item) failf(n *node, field, format string, args ...any) {
	it.fail(n, field, fmt.Errorf(format, args...))
}

// warnf records a problem that does not stop the file from loading; one in
// the defaults block is recorded once, as fail does.
func (it *item) warnf(n *node, field, format string, args ...any) {
	err := fmt.Errorf(format, args...)
	if n != nil && n.def {
		field = join("defaults", field)
		if !it.b.firstTime("warning\x00"+field, lineOf(n), err) {
			return
		}
	}
	it.out.warns = append(it.out.warns, &Error{Index: it.idx, Monitor: it.name, Field: field, Line: lineOf(n), Err: err})
}

func lineOf(n *node) int {
	if n == nil {
		return 0
	}
	if n.keyLine > 0 {
		return int(n.keyLine)
	}
	return int(n.line)
}

func join(path, key string) string {
	if key == "" {
		return path
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// unknown reports a field no schema entry matches, suggesting a near one.
func (it *item) unknown(c *node, path string, known []string) {
	msg := "unknown field"
	if s := suggest(c.key, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	it.fail(c, join(path, c.key), errors.New(msg))
}

// mapping checks that n is a mapping (or empty) and returns false otherwise.
func (it *item) mapping(n *node, path string) bool {
	switch n.kind {
	case mapNode, nullNode:
		return true
	}
	it.failf(n, path, "want a mapping, found %s", n.kind)
	return false
}

// alias records c in *slot; a second spelling of the same setting must agree
// with the first.
func (it *item) alias(slot **node, c *node, path string) {
	if *slot == nil {
		*slot = c
		return
	}
	if digest(*slot) != digest(c) {
		it.failf(c, join(path, c.key), "conflicts with %s (line %d), another name for the same setting", (*slot).key, lineOf(*slot))
	}
}

// Scalar readers. Each reports its own error and returns ok=false.

func (it *item) str(c *node, path string) (string, bool) {
	switch c.kind {
	case scalarNode:
		return c.val, true
	case nullNode:
		return "", true
	}
	it.failf(c, join(path, c.key), "want a string, found %s", c.kind)
	return "", false
}

// secret is str with ${NAME} taken from the environment.
func (it *item) secret(c *node, path string) (string, bool) {
	s, ok := it.str(c, path)
	if !ok {
		return "", false
	}
	if strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") && len(s) > 3 {
		name := s[2 : len(s)-1]
		v, found := it.b.o.lookupEnv(name)
		if !found {
			it.failf(c, join(path, c.key), "environment variable %s is not set", name)
			return "", false
		}
		return v, true
	}
	return s, true
}

func (it *item) boolean(c *node, path string) (bool, bool) {
	if c.kind == scalarNode {
		switch c.val {
		case "true", "True", "TRUE":
			return true, true
		case "false", "False", "FALSE":
			return false, true
		}
		it.failf(c, join(path, c.key), "%q is not a boolean (true or false)", c.val)
		return false, false
	}
	it.failf(c, join(path, c.key), "want a boolean, found %s", c.kind)
	return false, false
}

func (it *item) integer(c *node, path string) (int, bool) {
	if c.kind == scalarNode {
		v, err := strconv.Atoi(c.val)
		if err == nil {
			return v, true
		}
		it.failf(c, join(path, c.key), "%q is not an integer", c.val)
		return 0, false
	}
	it.failf(c, join(path, c.key), "want an integer, found %s", c.kind)
	return 0, false
}

// pulseSettings are the keys of pulse_check that set the monitor's
// schedule and thresholds, which the defaults block may give too.
var pulseSettings = []string{"interval", "timeout", "max_failures", "unhealthy_threshold", "healthy_threshold", "retry_interval", "failure_window"}

// pulseSetting reads one of pulseSettings into m; false if c is not one.
// The values are checked by cpra.Monitor.Validate (see validate).
func (it *item) pulseSetting(c *node, path string, m *cpra.Monitor, failures **node) bool {
	switch c.key {
	case "interval":
		if d, ok := it.span(c, path); ok {
			m.Interval = d
		}
	case "timeout":
		if d, ok := it.span(c, path); ok {
			m.Timeout = d
		}
	case "max_failures", "unhealthy_threshold":
		it.alias(failures, c, path)
		if v, ok := it.integer(c, path); ok {
			m.FailureThreshold = v
		}
	case "healthy_threshold":
		if v, ok := it.integer(c, path); ok {
			m.SuccessThreshold = v
		}
	case "retry_interval":
		if d, ok := it.span(c, path); ok {
			m.RetryInterval = d
		}
	case "failure_window":
		if v, ok := it.integer(c, path); ok {
			m.FailureWindow = v
		}
	default:
		return false
	}
	return true
}

// count reads a non-negative count no larger than the engine takes.
func (it *item) count(c *node, path string) (int, bool) {
	v, ok := it.integer(c, path)
	switch {
	case !ok:
		return 0, false
	case v < 0:
		it.failf(c, join(path, c.key), "negative (%d)", v)
		return 0, false
	case v > maxCount:
		it.failf(c, join(path, c.key), "%d is above the maximum %d", v, maxCount)
		return 0, false
	}
	return v, true
}

func (it *item) duration(c *node, path string) (time.Duration, bool) {
	if c.kind == scalarNode && !(c.quoted && c.val == "") {
		d, err := time.ParseDuration(c.val)
		if err == nil {
			if d < 0 {
				it.failf(c, join(path, c.key), "negative (%v)", d)
				return 0, false
			}
			return d, true
		}
		if _, err := strconv.ParseFloat(c.val, 64); err == nil && c.val != "0" {
			it.failf(c, join(path, c.key), "%q is not a duration (give a unit: 30s, 5m, 1h)", c.val)
			return 0, false
		}
		if c.val == "0" {
			return 0, true
		}
		it.failf(c, join(path, c.key), "%q is not a duration", c.val)
		return 0, false
	}
	it.failf(c, join(path, c.key), "want a duration, found %s", c.kind)
	return 0, false
}

// span reads a duration that may be negative: one of the monitor's, whose
// range cpra.Monitor.Validate checks.
func (it *item) span(c *node, path string) (time.Duration, bool) {
	if c.kind == scalarNode && strings.HasPrefix(c.val, "-") {
		d, err := time.ParseDuration(c.val)
		if err == nil {
			return d, true
		}
	}
	return it.duration(c, path)
}

// positive reads a duration that must be above zero.
func (it *item) positive(c *node, path string) (time.Duration, bool) {
	d, ok := it.duration(c, path)
	if ok && d == 0 {
		it.failf(c, join(path, c.key), "must be positive")
		return 0, false
	}
	return d, ok
}

// strs reads a sequence of scalars, or one scalar as a list of one.
func (it *item) strs(c *node, path string) ([]string, bool) {
	switch c.kind {
	case nullNode:
		return nil, true
	case scalarNode:
		return []string{strings.Clone(c.val)}, true
	case seqNode:
		out := make([]string, 0, c.n)
		for e := c.first; e != nil; e = e.next {
			if e.kind != scalarNode {
				it.failf(e, join(path, c.key), "want a list of strings, found %s in it", e.kind)
				return nil, false
			}
			out = append(out, strings.Clone(e.val))
		}
		return out, true
	}
	it.failf(c, join(path, c.key), "want a list of strings, found %s", c.kind)
	return nil, false
}

// pairs reads a mapping of scalars: its entries (each a scalar or null,
// whose val is then ""), in key order.
func (it *item) pairs(c *node, path string) ([]*node, bool) {
	if c.kind == nullNode {
		return nil, true
	}
	if c.kind != mapNode {
		it.failf(c, join(path, c.key), "want a mapping of strings, found %s", c.kind)
		return nil, false
	}
	out := make([]*node, 0, c.n)
	for e := c.first; e != nil; e = e.next {
		switch e.kind {
		case scalarNode, nullNode:
			out = append(out, e)
		default:
			it.failf(e, join(join(path, c.key), e.key), "want a string, found %s", e.kind)
			return nil, false
		}
	}
	slices.SortFunc(out, func(a, b *node) int { return strings.Compare(a.key, b.key) })
	return out, true
}

var (
	monitorFields      = []string{"name", "enabled", "labels", "pulse_check", "intervention", "codes", "repeat_interval", "depends_on", "flap", "maintenance", "quorum"}
	pulseFields        = []string{"type", "interval", "timeout", "max_failures", "unhealthy_threshold", "healthy_threshold", "retry_interval", "failure_window", "config"}
	interventionFields = []string{"type", "action", "max_attempts", "policy", "config"}
	codeFields         = []string{"dispatch", "notify", "config"}
	codeNames          = []string{"yellow", "red", "green", "cyan", "gray", "grey"}
)

// build turns one parsed item into a monitor. The nodes the defaults add
// to n come from a.
func (b *builder) build(a *arena, n *node, idx int, out *built) {
	it := &item{b: b, idx: idx, out: out, texts: &a.strs}
	out.index, out.line, out.enabled = int32(idx), int32(lineOf(n)), true
	if n.kind != mapNode {
		it.failf(n, "", "want a mapping with name and pulse_check, found %s", n.kind)
		return
	}
	if b.defaults != nil {
		applyDefaults(a, n, b.defaults)
	}
	out.digest = digest(n)
	if c := n.get("name"); c != nil {
		if c.kind == scalarNode {
			if max := b.o.limits.NameLength; len(c.val) > max {
				it.name = shorten(c.val, 40)
				it.fail(c, "name", &limitError{line: lineOf(c), msg: fmt.Sprintf("%d bytes, longer than the limit of %d", len(c.val), max)})
			} else {
				it.name = it.texts.Clone(c.val)
			}
		}
		out.nameLine = int32(lineOf(c))
	}
	m := &out.m
	m.Name = it.name
	out.nameHash = nameHash(it.name)
	var pc, iv, codes *node
	for c := n.first; c != nil; c = c.next {
		switch c.key {
		case "name":
			if _, ok := it.str(c, ""); ok && it.name == "" {
				it.failf(c, "name", "empty")
			}
		case "enabled":
			if v, ok := it.boolean(c, ""); ok {
				out.enabled = v
			}
		case "labels":
			m.Labels = it.labels(c)
		case "pulse_check":
			pc = c
		case "intervention":
			iv = c
		case "codes":
			codes = c
		case "repeat_interval":
			if d, ok := it.span(c, ""); ok {
				m.RepeatInterval = d
			}
		case "depends_on":
			m.DependsOn = it.dependsOn(c)
			if len(m.DependsOn) > 0 {
				out.depLine = int32(lineOf(c))
			}
		case "flap":
			m.Flap = it.flap(c)
		case "maintenance":
			m.Maintenance = it.ownWindows(c)
		case "quorum":
			if v, ok := it.integer(c, ""); ok {
				m.Quorum = v
			}
		default:
			it.unknown(c, "", monitorFields)
		}
	}
	if n.get("name") == nil {
		it.failf(n, "name", "missing")
	}
	if pc == nil {
		it.failf(n, "pulse_check", "missing")
	} else {
		it.pulseCheck(pc, m)
	}
	if iv != nil {
		it.intervention(iv, m)
	}
	if codes != nil {
		m.Notify = it.codes(codes)
	}
	it.check(*m, it.unset, it.monitorLocator(n))
	if len(out.errs) == 0 {
		iv := m.Interval
		if iv == 0 {
			iv = cpra.DefaultInterval
		}
		if m.Timeout > iv {
			path, c := locateKeys(n, fileKeys["Timeout"])
			it.warnf(c, path, "%v is longer than the interval %v, the time between checks", m.Timeout, iv)
		}
	}
}

// shorten returns the first bytes of s, at most max and cut between
// characters, followed by "...".
func shorten(s string, max int) string {
	if len(s) <= max {
		return strings.Clone(s)
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max] + "..."
}

func (it *item) labels(c *node) map[string]string {
	b := it.b
	h := digest(c)
	b.mu.Lock()
	v, ok := b.labelSets.get(h, c)
	b.mu.Unlock()
	if ok {
		return v.(map[string]string)
	}
	kv, ok := it.pairs(c, "")
	if !ok || len(kv) == 0 {
		return nil
	}
	m := make(map[string]string, len(kv))
	for _, e := range kv {
		m[strings.Clone(e.key)] = strings.Clone(e.val)
	}
	b.mu.Lock()
	b.labelSets.put(h, c, m)
	b.mu.Unlock()
	return m
}

// pulseCheck reads pulse_check into m.
func (it *item) pulseCheck(pc *node, m *cpra.Monitor) {
	const path = "pulse_check"
	if !it.mapping(pc, path) {
		return
	}
	var typ, cfg, failures *node
	for c := pc.first; c != nil; c = c.next {
		switch c.key {
		case "type":
			typ = c
		case "config":
			cfg = c
		default:
			if !it.pulseSetting(c, path, m, &failures) {
				it.unknown(c, path, pulseFields)
			}
		}
	}
	if typ == nil {
		it.failf(pc, join(path, "type"), "missing")
		return
	}
	t, ok := it.str(typ, path)
	if !ok {
		return
	}
	var ck pulse.Checker
	cpath := join(path, "config")
	if cfg == nil {
		cfg = &node{kind: nullNode, line: pc.line, keyLine: pc.keyLine}
	} else if !it.mapping(cfg, cpath) {
		return
	}
	switch strings.ToLower(t) {
	case "http", "https":
		ck = it.httpCheck(cfg, cpath)
	case "tcp":
		ck = it.tcpCheck(cfg, cpath)
	case "icmp", "ping":
		ck = it.icmpCheck(cfg, cpath)
	case "dns":
		ck = it.dnsCheck(cfg, cpath)
	case "tls":
		ck = it.tlsCheck(cfg, cpath)
	case "exec", "script", "command":
		ck = it.execCheck(cfg, cpath)
	case "grpc":
		ck = it.grpcCheck(cfg, cpath)
	default:
		it.failf(typ, join(path, "type"), "%q is not a check type (http, tcp, icmp, dns, tls, exec, grpc)", t)
		return
	}
	m.Check = ck
}

// common holds the config keys every check type takes.
type common struct {
	retries  int
	wait     time.Duration
	latency  time.Duration
	insecure bool
	sni      string
	hasTLS   bool // the type takes insecure_skip_verify and server_name
}

// commonField reads a key every check type takes; false if c is not one.
func (it *item) commonField(c *node, path string, cm *common) bool {
	switch c.key {
	case "retries":
		if v, ok := it.count(c, path); ok {
			cm.retries = v
		}
	case "retry_wait":
		if d, ok := it.duration(c, path); ok {
			cm.wait = d
		}
	case "max_latency":
		if d, ok := it.positive(c, path); ok {
			cm.latency = d
		}
	case "insecure_skip_verify":
		if !cm.hasTLS {
			return false
		}
		if v, ok := it.boolean(c, path); ok {
			cm.insecure = v
		}
	case "server_name":
		if !cm.hasTLS {
			return false
		}
		if v, ok := it.str(c, path); ok {
			cm.sni = strings.Clone(v)
		}
	default:
		return false
	}
	return true
}

var commonFields = []string{"retries", "retry_wait", "max_latency"}
var tlsFields = []string{"insecure_skip_verify", "server_name"}

// finish applies the common settings: the options every checker takes, and
// the retry wrapper.
func (it *item) finish(ck pulse.Checker, err error, cfg *node, path string, cm *common) pulse.Checker {
	if err != nil {
		it.fail(cfg, path, cause(err, pulse.ErrOption))
		return nil
	}
	if cm.retries > 0 {
		return pulse.Retry(ck, cm.retries+1, cm.wait)
	}
	return ck
}

func (cm *common) options() []pulse.Option {
	var o []pulse.Option
	if cm.latency > 0 {
		o = append(o, pulse.WithMaxLatency(cm.latency))
	}
	return o
}

func (cm *common) verify() []pulse.VerifyOption {
	var o []pulse.VerifyOption
	if cm.insecure {
		o = append(o, pulse.WithInsecureSkipVerify())
	}
	if cm.sni != "" {
		o = append(o, pulse.WithServerName(cm.sni))
	}
	return o
}

var httpFields = slices.Concat([]string{"url", "method", "headers", "body", "expected_status", "status", "body_contains", "body_regex", "body_match", "json_field", "json_value", "follow_redirects"}, commonFields, tlsFields)

func (it *item) httpCheck(cfg *node, path string) pulse.Checker {
	cm := common{hasTLS: true}
	var opts []pulse.HTTPOption
	var rawURL string
	var status, re, jf, jv *node
	for c := cfg.first; c != nil; c = c.next {
		if it.commonField(c, path, &cm) {
			continue
		}
		switch c.key {
		case "url":
			if v, ok := it.str(c, path); ok {
				if msg := checkURLProblem(v); msg != "" {
					it.failf(c, join(path, c.key), "%s", msg)
				} else {
					rawURL = v // pulse.HTTP keeps a copy of what it needs
				}
			}
		case "method":
			if v, ok := it.str(c, path); ok && v != "" {
				opts = append(opts, pulse.WithMethod(strings.ToUpper(v)))
			}
		case "headers":
			if kv, ok := it.pairs(c, path); ok {
				for _, e := range kv {
					opts = append(opts, pulse.WithHeader(strings.Clone(e.key), strings.Clone(e.val)))
				}
			}
		case "body":
			if v, ok := it.str(c, path); ok {
				opts = append(opts, pulse.WithRequestBody([]byte(v)))
			}
		case "expected_status", "status":
			it.alias(&status, c, path)
			if codes, ok := it.statuses(c, path); ok {
				opts = append(opts, pulse.WithStatus(codes...))
			}
		case "body_contains":
			if v, ok := it.str(c, path); ok {
				opts = append(opts, pulse.WithBodyContains(strings.Clone(v)))
			}
		case "body_regex", "body_match":
			it.alias(&re, c, path)
			if v, ok := it.str(c, path); ok {
				if _, err := regexp.Compile(v); err != nil {
					it.fail(c, join(path, c.key), cause(err))
				} else {
					opts = append(opts, pulse.WithBodyMatch(strings.Clone(v)))
				}
			}
		case "json_field":
			jf = c
		case "json_value":
			jv = c
		case "follow_redirects":
			if v, ok := it.boolean(c, path); ok {
				opts = append(opts, pulse.WithFollowRedirects(v))
			}
		default:
			it.unknown(c, path, httpFields)
		}
	}
	switch {
	case jf != nil && jv == nil:
		it.failf(jf, join(path, "json_value"), "missing (json_field needs it)")
	case jv != nil && jf == nil:
		it.failf(jv, join(path, "json_field"), "missing (json_value needs it)")
	case jf != nil:
		fv, ok1 := it.str(jf, path)
		vv, ok2 := it.str(jv, path)
		if ok1 && ok2 {
			if jv.kind == nullNode {
				vv = "null"
			}
			opts = append(opts, pulse.WithJSONField(strings.Clone(fv), strings.Clone(vv)))
		}
	}
	if cfg.get("url") == nil {
		it.failf(cfg, join(path, "url"), "missing")
		return nil
	}
	if rawURL == "" || len(it.out.errs) > 0 {
		return nil
	}
	for _, o := range cm.options() {
		opts = append(opts, o)
	}
	for _, o := range cm.verify() {
		opts = append(opts, o)
	}
	ck, err := pulse.HTTP(rawURL, opts...)
	return it.finish(ck, err, cfg, path, &cm)
}

// checkURLProblem says what is wrong with a check's URL, or "" when it is
// an absolute http or https URL. The URL may hold credentials (user
// information, a token in the path, an api_key in the query), so the
// message names its scheme and host at most, and a parser's complaint is
// scrubbed of every part of it.
func checkURLProblem(raw string) string {
	if plainHTTPURL(raw) {
		return ""
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var sec redact.Secrets
		sec.AddURL(raw)
		return "not a valid URL: " + sec.Scrub(err.Error())
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("not an http or https URL (scheme %q)", u.Scheme)
	case u.Host == "":
		return "not an absolute URL: no host"
	}
	return ""
}

// plainHTTPURL reports whether raw is an http or https URL of the plainest
// kind, which url.Parse is sure to take (see package plainurl). A file of
// a million monitors is mostly such URLs; the others are parsed.
func plainHTTPURL(raw string) bool {
	_, _, ok := plainurl.Split(raw)
	return ok
}

// statuses reads one status code or a list of them.
func (it *item) statuses(c *node, path string) ([]int, bool) {
	full := join(path, c.key)
	var out []int
	one := func(e *node) bool {
		v, ok := it.integer(e, full)
		if ok && (v < 100 || v > 599) {
			it.failf(e, full, "%d is not an HTTP status", v)
			return false
		}
		out = append(out, v)
		return ok
	}
	switch c.kind {
	case scalarNode:
		return out, one(c)
	case seqNode:
		if c.n == 0 {
			it.failf(c, full, "empty list")
			return nil, false
		}
		for e := c.first; e != nil; e = e.next {
			if !one(e) {
				return nil, false
			}
		}
		return out, true
	}
	it.failf(c, full, "want a status or a list of them, found %s", c.kind)
	return nil, false
}

// address reads address, or host and port, into "host:port".
func (it *item) address(cfg *node, path string, defPort string) (string, bool) {
	a, h, p := cfg.get("address"), cfg.get("host"), cfg.get("port")
	switch {
	case a != nil && (h != nil || p != nil):
		it.failf(a, join(path, "address"), "give either address or host and port, not both")
		return "", false
	case a != nil:
		v, ok := it.str(a, path)
		if !ok {
			return "", false
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			it.failf(a, join(path, "address"), "%q is not host:port", v)
			return "", false
		}
		return strings.Clone(v), true
	case h != nil:
		hv, ok := it.str(h, path)
		if !ok {
			return "", false
		}
		pv := defPort
		if p != nil {
			n, ok := it.integer(p, path)
			if !ok {
				return "", false
			}
			if n < 1 || n > 65535 {
				it.failf(p, join(path, "port"), "%d is not a port", n)
				return "", false
			}
			pv = strconv.Itoa(n)
		}
		if pv == "" {
			it.failf(h, join(path, "port"), "missing")
			return "", false
		}
		return net.JoinHostPort(hv, pv), true
	case p != nil:
		it.failf(p, join(path, "host"), "missing")
		return "", false
	}
	it.failf(cfg, join(path, "address"), "missing")
	return "", false
}

var tcpFields = slices.Concat([]string{"address", "host", "port", "send", "expect", "expect_prefix"}, commonFields)

func (it *item) tcpCheck(cfg *node, path string) pulse.Checker {
	cm := common{}
	var opts []pulse.TCPOption
	for c := cfg.first; c != nil; c = c.next {
		if it.commonField(c, path, &cm) {
			continue
		}
		switch c.key {
		case "address", "host", "port":
		case "send":
			if v, ok := it.str(c, path); ok {
				opts = append(opts, pulse.WithSend([]byte(v)))
			}
		case "expect":
			if v, ok := it.str(c, path); ok {
				opts = append(opts, pulse.WithReplyContains(strings.Clone(v)))
			}
		case "expect_prefix":
			if v, ok := it.str(c, path); ok {
				opts = append(opts, pulse.WithReplyPrefix(strings.Clone(v)))
			}
		default:
			it.unknown(c, path, tcpFields)
		}
	}
	addr, ok := it.address(cfg, path, "")
	if !ok || len(it.out.errs) > 0 {
		return nil
	}
	for _, o := range cm.options() {
		opts = append(opts, o)
	}
	ck, err := pulse.TCP(addr, opts...)
	return it.finish(ck, err, cfg, path, &cm)
}

var icmpFields = slices.Concat([]string{"host", "count"}, commonFields)

func (it *item) icmpCheck(cfg *node, path string) pulse.Checker {
	cm := common{}
	var opts []pulse.ICMPOption
	var host string
	for c := cfg.first; c != nil; c = c.next {
		if it.commonField(c, path, &cm) {
			continue
		}
		switch c.key {
		case "host":
			if v, ok := it.str(c, path); ok {
				host = strings.Clone(v)
			}
		case "count":
			if v, ok := it.integer(c, path); ok {
				if v < 1 {
					it.failf(c, join(path, c.key), "must be at least 1")
				} else {
					opts = append(opts, pulse.WithCount(v))
				}
			}
		default:
			it.unknown(c, path, icmpFields)
		}
	}
	if cfg.get("host") == nil {
		it.failf(cfg, join(path, "host"), "missing")
	}
	if len(it.out.errs) > 0 {
		return nil
	}
	for _, o := range cm.options() {
		opts = append(opts, o)
	}
	ck, err := pulse.ICMP(host, opts...)
	return it.finish(ck, err, cfg, path, &cm)
}

var dnsFields = slices.Concat([]string{"name", "server", "record_type", "rcode", "contains"}, commonFields)

func (it *item) dnsCheck(cfg *node, path string) pulse.Checker {
	cm := common{}
	var opts []pulse.DNSOption
	var name string
	for c := cfg.first; c != nil; c = c.next {
		if it.commonField(c, path, &cm) {
			continue
		}
		v, ok := "", false
		switch c.key {
		case "name", "server", "record_type", "rcode", "contains":
			if v, ok = it.str(c, path); !ok {
				continue
			}
			v = strings.Clone(v)
		default:
			it.unknown(c, path, dnsFields)
			continue
		}
		switch c.key {
		case "name":
			name = v
		case "server":
			opts = append(opts, pulse.WithDNSServer(v))
		case "record_type":
			opts = append(opts, pulse.WithRecordType(strings.ToUpper(v)))
		case "rcode":
			opts = append(opts, pulse.WithRcode(strings.ToUpper(v)))
		case "contains":
			opts = append(opts, pulse.WithAnswerContains(v))
		}
	}
	if cfg.get("name") == nil {
		it.failf(cfg, join(path, "name"), "missing")
	}
	if len(it.out.errs) > 0 {
		return nil
	}
	for _, o := range cm.options() {
		opts = append(opts, o)
	}
	ck, err := pulse.DNS(name, opts...)
	return it.finish(ck, err, cfg, path, &cm)
}

var tlsCheckFields = slices.Concat([]string{"address", "host", "port", "min_validity"}, commonFields, tlsFields)

func (it *item) tlsCheck(cfg *node, path string) pulse.Checker {
	cm := common{hasTLS: true}
	var opts []pulse.TLSOption
	for c := cfg.first; c != nil; c = c.next {
		if it.commonField(c, path, &cm) {
			continue
		}
		switch c.key {
		case "address", "host", "port":
		case "min_validity":
			if d, ok := it.positive(c, path); ok {
				opts = append(opts, pulse.WithMinValidity(d))
			}
		default:
			it.unknown(c, path, tlsCheckFields)
		}
	}
	addr, ok := it.address(cfg, path, "443")
	if !ok || len(it.out.errs) > 0 {
		return nil
	}
	for _, o := range cm.options() {
		opts = append(opts, o)
	}
	for _, o := range cm.verify() {
		opts = append(opts, o)
	}
	ck, err := pulse.TLS(addr, opts...)
	return it.finish(ck, err, cfg, path, &cm)
}

var execFields = slices.Concat([]string{"path", "command", "args", "env", "dir"}, commonFields)

func (it *item) execCheck(cfg *node, path string) pulse.Checker {
	cm := common{}
	var opts []pulse.ExecOption
	var prog *node
	var args []string
	var dir string
	for c := cfg.first; c != nil; c = c.next {
		if it.commonField(c, path, &cm) {
			continue
		}
		switch c.key {
		case "path", "command":
			it.alias(&prog, c, path)
		case "args":
			if v, ok := it.strs(c, path); ok {
				args = v
			}
		case "env":
			if kv, ok := it.env(c, path); ok && len(kv) > 0 {
				opts = append(opts, pulse.WithEnv(kv...))
			}
		case "dir":
			if v, ok := it.str(c, path); ok && v != "" {
				dir = strings.Clone(v)
				opts = append(opts, pulse.WithDir(dir))
			}
		default:
			it.unknown(c, path, execFields)
		}
	}
	if prog == nil {
		it.failf(cfg, join(path, "path"), "missing")
		return nil
	}
	p, ok := it.str(prog, path)
	if !ok || len(it.out.errs) > 0 || p != "" && !it.checkProgram(prog, path, p, dir) {
		return nil
	}
	for _, o := range cm.options() {
		opts = append(opts, o)
	}
	ck, err := pulse.Exec(strings.Clone(p), args, opts...)
	if err != nil {
		it.fail(prog, join(path, prog.key), cause(err, pulse.ErrOption))
		return nil
	}
	return it.finish(ck, nil, cfg, path, &cm)
}

// env reads an environment as a mapping or as a list of KEY=value.
func (it *item) env(c *node, path string) ([]string, bool) {
	if c.kind == seqNode {
		v, ok := it.strs(c, path)
		if !ok {
			return nil, false
		}
		for _, kv := range v {
			if k, _, found := strings.Cut(kv, "="); !found || k == "" {
				it.failf(c, join(path, c.key), "%q is not KEY=value", kv)
				return nil, false
			}
		}
		return v, true
	}
	kv, ok := it.pairs(c, path)
	if !ok {
		return nil, false
	}
	out := make([]string, len(kv))
	for i, e := range kv {
		out[i] = e.key + "=" + e.val
	}
	return out, true
}

var grpcFields = slices.Concat([]string{"address", "host", "port", "service", "tls"}, commonFields, tlsFields)

func (it *item) grpcCheck(cfg *node, path string) pulse.Checker {
	cm := common{hasTLS: true}
	var opts []pulse.GRPCOption
	var service string
	for c := cfg.first; c != nil; c = c.next {
		if it.commonField(c, path, &cm) {
			continue
		}
		switch c.key {
		case "address", "host", "port":
		case "service":
			if v, ok := it.str(c, path); ok {
				service = strings.Clone(v)
			}
		case "tls":
			if v, ok := it.boolean(c, path); ok && v {
				opts = append(opts, pulse.WithTLS())
			}
		default:
			it.unknown(c, path, grpcFields)
		}
	}
	addr, ok := it.address(cfg, path, "")
	if !ok || len(it.out.errs) > 0 {
		return nil
	}
	for _, o := range cm.options() {
		opts = append(opts, o)
	}
	for _, o := range cm.verify() {
		opts = append(opts, o)
	}
	ck, err := pulse.GRPC(addr, service, opts...)
	return it.finish(ck, err, cfg, path, &cm)
}

// remedy is what an intervention block builds to.
type remedy struct {
	r           intervene.Remediator
	maxAttempts int
	policy      intervene.Policy
}

var policyFields = []string{"backoff", "max_backoff", "jitter", "verify", "cooldown", "limit", "window", "dry_run", "timeout"}

// policy reads intervention.policy into p. Its values are checked by
// cpra.Monitor.Validate.
func (it *item) policy(c *node, path string, p *intervene.Policy) {
	path = join(path, c.key)
	if !it.mapping(c, path) {
		return
	}
	for e := c.first; e != nil; e = e.next {
		switch e.key {
		case "backoff":
			if d, ok := it.span(e, path); ok {
				p.Backoff = d
			}
		case "max_backoff":
			if d, ok := it.span(e, path); ok {
				p.MaxBackoff = d
			}
		case "cooldown":
			if d, ok := it.span(e, path); ok {
				p.Cooldown = d
			}
		case "window":
			if d, ok := it.span(e, path); ok {
				p.Window = d
			}
		case "timeout":
			if d, ok := it.span(e, path); ok {
				p.Timeout = d
			}
		case "jitter":
			if v, ok := it.share(e, path); ok {
				p.Jitter = v
			}
		case "verify":
			if v, ok := it.integer(e, path); ok {
				p.Verify = v
			}
		case "limit":
			if v, ok := it.integer(e, path); ok {
				p.Limit = v
			}
		case "dry_run":
			if v, ok := it.boolean(e, path); ok {
				p.DryRun = v
			}
		default:
			it.unknown(e, path, policyFields)
		}
	}
}

// share reads a share from 0 to 1, written 0.2 or "20%".
func (it *item) share(c *node, path string) (float64, bool) {
	full := join(path, c.key)
	if c.kind != scalarNode {
		it.failf(c, full, "want a number, found %s", c.kind)
		return 0, false
	}
	s, pct := strings.CutSuffix(strings.TrimSpace(c.val), "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		it.failf(c, full, "%q is not a number (a share such as 0.2, or a percentage such as 20%%)", c.val)
		return 0, false
	}
	if pct {
		v /= 100
	}
	return v, true
}

// intervention reads the intervention block into m. Monitors with the same
// block share one remediator.
func (it *item) intervention(iv *node, m *cpra.Monitor) {
	const path = "intervention"
	if iv.kind == nullNode {
		return
	}
	if !it.mapping(iv, path) {
		return
	}
	b := it.b
	h := digest(iv)
	b.mu.Lock()
	v, cached := b.remedies.get(h, iv)
	b.mu.Unlock()
	if cached {
		rm := v.(remedy)
		m.Remediate, m.MaxRemediations, m.Policy = rm.r, rm.maxAttempts, rm.policy
		return
	}
	before := len(it.out.errs)
	var typ, cfg *node
	for c := iv.first; c != nil; c = c.next {
		switch c.key {
		case "type", "action":
			it.alias(&typ, c, path)
		case "max_attempts":
			if v, ok := it.integer(c, path); ok {
				m.MaxRemediations = v
			}
		case "policy":
			it.policy(c, path, &m.Policy)
		case "config":
			cfg = c
		default:
			it.unknown(c, path, interventionFields)
		}
	}
	if typ == nil {
		it.failf(iv, join(path, "type"), "missing")
		return
	}
	t, ok := it.str(typ, path)
	if !ok {
		return
	}
	cpath := join(path, "config")
	if cfg == nil {
		cfg = &node{kind: nullNode, line: iv.line, keyLine: iv.keyLine}
	} else if !it.mapping(cfg, cpath) {
		return
	}
	var r intervene.Remediator
	switch strings.ToLower(t) {
	case "script", "exec", "command":
		r = it.execRemedy(cfg, cpath)
	case "http", "webhook":
		r = it.httpRemedy(cfg, cpath)
	case "docker_restart", "docker", "docker-restart":
		r = it.dockerRemedy(cfg, cpath)
	case "docker_update", "docker-update":
		r = it.dockerUpdateRemedy(cfg, cpath)
	case "docker_scale", "docker-scale":
		r = it.dockerScaleRemedy(cfg, cpath)
	default:
		x, ok := registered(t)
		if !ok {
			it.failf(typ, join(path, typ.key), "%q is not an intervention type (%s)", t, interventionTypes())
			return
		}
		r = it.extRemedy(x, cfg, cpath)
	}
	// config.timeout, which every type takes, is the policy's timeout:
	// it bounds each attempt in place of the monitor's timeout.
	if c := cfg.get("timeout"); c != nil {
		if pt := policyTimeout(iv); pt != nil && digest(pt) != digest(c) {
			it.failf(c, join(cpath, "timeout"), "conflicts with policy.timeout (line %d), the same setting", lineOf(pt))
		} else if d, ok := it.span(c, cpath); ok {
			m.Policy.Timeout = d
		}
	}
	if r == nil || len(it.out.errs) > before {
		return
	}
	m.Remediate = r
	b.mu.Lock()
	b.remedies.put(h, iv, remedy{r: r, maxAttempts: m.MaxRemediations, policy: m.Policy})
	b.mu.Unlock()
}

// policyTimeout returns the node of intervention.policy.timeout, or nil.
func policyTimeout(iv *node) *node {
	if p := iv.get("policy"); p != nil && p.kind == mapNode {
		return p.get("timeout")
	}
	return nil
}

var execRemedyFields = []string{"script", "path", "command", "args", "env", "inherit_env", "dir", "timeout"}

func (it *item) execRemedy(cfg *node, path string) intervene.Remediator {
	var prog *node
	var args []string
	var opts []intervene.Option
	var dir string
	for c := cfg.first; c != nil; c = c.next {
		switch c.key {
		case "script", "path", "command":
			it.alias(&prog, c, path)
		case "args":
			if v, ok := it.strs(c, path); ok {
				args = v
			}
		case "env":
			if kv, ok := it.pairs(c, path); ok {
				for _, e := range kv {
					opts = append(opts, intervene.WithEnv(strings.Clone(e.key), strings.Clone(e.val)))
				}
			}
		case "inherit_env":
			if v, ok := it.strs(c, path); ok && len(v) > 0 {
				opts = append(opts, intervene.WithInheritEnv(v...))
			}
		case "dir":
			if v, ok := it.str(c, path); ok && v != "" {
				dir = strings.Clone(v)
				opts = append(opts, intervene.WithDir(dir))
			}
		case "timeout":
		default:
			it.unknown(c, path, execRemedyFields)
		}
	}
	if prog == nil {
		it.failf(cfg, join(path, "script"), "missing")
		return nil
	}
	p, ok := it.str(prog, path)
	if !ok || p != "" && !it.checkProgram(prog, path, p, dir) {
		return nil
	}
	r, err := intervene.Exec(strings.Clone(p), args, opts...)
	if err != nil {
		it.fail(prog, join(path, prog.key), cause(err, intervene.ErrConfig))
		return nil
	}
	return r
}

var httpRemedyFields = []string{"url", "method", "headers", "expected_status", "timeout"}

func (it *item) httpRemedy(cfg *node, path string) intervene.Remediator {
	method := "POST"
	var rawURL string
	var opts []intervene.Option
	for c := cfg.first; c != nil; c = c.next {
		switch c.key {
		case "url":
			if v, ok := it.secret(c, path); ok {
				rawURL = strings.Clone(v)
			}
		case "method":
			if v, ok := it.str(c, path); ok && v != "" {
				method = strings.ToUpper(v)
			}
		case "headers":
			if kv, ok := it.pairs(c, path); ok {
				for _, e := range kv {
					if v, ok := it.secret(e, join(path, c.key)); ok {
						opts = append(opts, intervene.WithHeader(strings.Clone(e.key), strings.Clone(v)))
					}
				}
			}
		case "expected_status":
			if codes, ok := it.statuses(c, path); ok {
				opts = append(opts, intervene.WithExpectStatus(codes...))
			}
		case "timeout":
		default:
			it.unknown(c, path, httpRemedyFields)
		}
	}
	if cfg.get("url") == nil {
		it.failf(cfg, join(path, "url"), "missing")
		return nil
	}
	if rawURL == "" {
		return nil
	}
	r, err := intervene.HTTP(method, rawURL, opts...)
	if err != nil {
		it.fail(cfg.get("url"), join(path, "url"), cause(err, intervene.ErrConfig))
		return nil
	}
	return r
}

var dockerRemedyFields = []string{"container", "socket", "stop_timeout", "api_version", "timeout"}

func (it *item) dockerRemedy(cfg *node, path string) intervene.Remediator {
	var container string
	var opts []intervene.Option
	for c := cfg.first; c != nil; c = c.next {
		switch c.key {
		case "container":
			if v, ok := it.str(c, path); ok {
				container = strings.Clone(v)
			}
		case "socket":
			if v, ok := it.str(c, path); ok && v != "" {
				opts = append(opts, intervene.WithSocket(strings.Clone(v)))
			}
		case "stop_timeout":
			if d, ok := it.duration(c, path); ok {
				opts = append(opts, intervene.WithStopTimeout(d))
			}
		case "api_version":
			if v, ok := it.str(c, path); ok {
				opts = append(opts, intervene.WithAPIVersion(strings.Clone(v)))
			}
		case "timeout":
		default:
			it.unknown(c, path, dockerRemedyFields)
		}
	}
	if cfg.get("container") == nil {
		it.failf(cfg, join(path, "container"), "missing")
		return nil
	}
	r, err := intervene.DockerRestart(container, opts...)
	if err != nil {
		it.fail(cfg.get("container"), join(path, "container"), cause(err, intervene.ErrConfig))
		return nil
	}
	return r
}

// dockerCommon reads the fields every Docker intervention takes (socket,
// api_version) into opts; it reports whether c was one of them.
func (it *item) dockerCommon(c *node, path string, opts *[]intervene.Option, nodes map[string]*node) bool {
	switch c.key {
	case "socket":
		if v, ok := it.str(c, path); ok && v != "" {
			*opts = append(*opts, intervene.WithSocket(strings.Clone(v)))
			nodes["WithSocket:"] = c
		}
	case "api_version":
		if v, ok := it.str(c, path); ok {
			*opts = append(*opts, intervene.WithAPIVersion(strings.Clone(v)))
			nodes["WithAPIVersion:"] = c
		}
	default:
		return false
	}
	return true
}

// remedyFail reports a remediator constructor's error at the field whose
// option the error names first, or at the block unless quiet (other errors
// of the block, already reported, may be its cause). nodes maps what an
// error names ("WithCPUs(", "DockerUpdate:" for the name) to the field.
func (it *item) remedyFail(err error, cfg *node, path string, nodes map[string]*node, quiet bool) {
	msg := strings.TrimPrefix(err.Error(), intervene.ErrConfig.Error()+": ")
	var at *node
	first := len(msg)
	for key, n := range nodes {
		if i := strings.Index(msg, key); i >= 0 && i < first {
			at, first = n, i
		}
	}
	if at == nil {
		if !quiet {
			it.fail(cfg, path, cause(err, intervene.ErrConfig))
		}
		return
	}
	field := join(path, at.key)
	for _, e := range it.out.errs {
		if e.Index == it.idx && e.Field == field {
			return // said already, in the file's words
		}
	}
	it.fail(at, field, cause(err, intervene.ErrConfig))
}

// dockerName reads the container or service field c into name, as
// remedyFail can name it; an empty name is an error.
func (it *item) dockerName(c *node, path, ctor string, name *string, nodes map[string]*node) {
	v, ok := it.str(c, path)
	switch {
	case !ok:
	case v == "":
		it.failf(c, join(path, c.key), "empty")
	default:
		*name = strings.Clone(v)
		nodes[ctor+":"] = c
	}
}

// size reads a size in bytes: a number, or one with a unit of b, k, m, g
// or t (powers of 1024, as docker's --memory; kb, kib and the like too).
func (it *item) size(c *node, path string) (int64, bool) {
	if c.kind != scalarNode {
		it.failf(c, join(path, c.key), "want a size, found %s", c.kind)
		return 0, false
	}
	v := strings.ToLower(strings.TrimSpace(c.val))
	num := strings.TrimRightFunc(v, func(r rune) bool { return r >= 'a' && r <= 'z' })
	unit := strings.TrimSpace(v[len(num):])
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
		"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}[unit]
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || mult == 0 || f < 0 || f*mult >= 1<<62 {
		it.failf(c, join(path, c.key), "%q is not a size (bytes, or with a unit: 512m, 2g)", c.val)
		return 0, false
	}
	return int64(f * mult), true
}

var dockerUpdateFields = []string{"container", "cpus", "memory", "memory_swap", "memory_reservation", "socket", "api_version", "timeout"}

func (it *item) dockerUpdateRemedy(cfg *node, path string) intervene.Remediator {
	before := len(it.out.errs)
	var container string
	var opts []intervene.Option
	nodes := map[string]*node{}
	sizes := map[string]int64{}
	limits := 0
	for c := cfg.first; c != nil; c = c.next {
		if it.dockerCommon(c, path, &opts, nodes) {
			continue
		}
		switch c.key {
		case "container":
			it.dockerName(c, path, "DockerUpdate", &container, nodes)
		case "cpus":
			limits++
			f, err := strconv.ParseFloat(c.val, 64)
			switch {
			case c.kind != scalarNode:
				it.failf(c, join(path, c.key), "want a number of CPUs, found %s", c.kind)
			case err != nil:
				it.failf(c, join(path, c.key), "%q is not a number of CPUs (1, 0.5, 2.5)", c.val)
			case !(f > 0):
				it.failf(c, join(path, c.key), "must be positive")
			default:
				opts = append(opts, intervene.WithCPUs(f))
				nodes["WithCPUs("] = c
			}
		case "memory", "memory_reservation":
			limits++
			if n, ok := it.size(c, path); ok {
				sizes[c.key] = n
				o, name := intervene.WithMemory(n), "WithMemory("
				if c.key == "memory_reservation" {
					o, name = intervene.WithMemoryReservation(n), "WithMemoryReservation("
				}
				opts = append(opts, o)
				nodes[name] = c
			}
		case "memory_swap":
			limits++
			n := int64(-1)
			ok := c.kind == scalarNode && (c.val == "-1" || strings.EqualFold(c.val, "unlimited"))
			if !ok {
				n, ok = it.size(c, path)
			}
			if ok {
				sizes[c.key] = n
				opts = append(opts, intervene.WithMemorySwap(n))
				nodes["WithMemorySwap("] = c
			}
		case "timeout":
		default:
			it.unknown(c, path, dockerUpdateFields)
		}
	}
	if cfg.get("container") == nil {
		it.failf(cfg, join(path, "container"), "missing")
	}
	mem, swap, reserve := sizes["memory"], sizes["memory_swap"], sizes["memory_reservation"]
	if mem > 0 && swap > 0 && swap < mem {
		it.failf(cfg.get("memory_swap"), join(path, "memory_swap"), "%s is below memory (line %d): it is memory plus swap", cfg.get("memory_swap").val, lineOf(cfg.get("memory")))
	}
	if mem > 0 && reserve > mem {
		it.failf(cfg.get("memory_reservation"), join(path, "memory_reservation"), "%s is above memory (line %d)", cfg.get("memory_reservation").val, lineOf(cfg.get("memory")))
	}
	if limits == 0 {
		it.failf(cfg, join(path, "cpus"), "missing (give cpus, memory, memory_swap or memory_reservation)")
	}
	// Build it even after errors, for those of the values read well; a
	// missing name was reported, a stand-in lets the options be checked.
	r, err := intervene.DockerUpdate(cmp.Or(container, "container"), opts...)
	if err != nil {
		it.remedyFail(err, cfg, path, nodes, len(it.out.errs) > before)
		return nil
	}
	if len(it.out.errs) > before {
		return nil
	}
	return r
}

var dockerScaleFields = []string{"service", "replicas", "add", "max_replicas", "socket", "api_version", "timeout"}

func (it *item) dockerScaleRemedy(cfg *node, path string) intervene.Remediator {
	before := len(it.out.errs)
	var service string
	var opts []intervene.Option
	nodes := map[string]*node{}
	var replicas, add, ceiling *node
	var nReplicas, nAdd, nCeiling int
	for c := cfg.first; c != nil; c = c.next {
		if it.dockerCommon(c, path, &opts, nodes) {
			continue
		}
		switch c.key {
		case "service":
			it.dockerName(c, path, "DockerScale", &service, nodes)
		case "replicas":
			if v, ok := it.integer(c, path); ok {
				if v < 0 {
					it.failf(c, join(path, c.key), "negative (%d)", v)
				}
				replicas, nReplicas = c, v
			}
		case "add", "max_replicas":
			if v, ok := it.integer(c, path); ok {
				if v <= 0 {
					it.failf(c, join(path, c.key), "must be positive")
				}
				if c.key == "add" {
					add, nAdd = c, v
				} else {
					ceiling, nCeiling = c, v
				}
			}
		case "timeout":
		default:
			it.unknown(c, path, dockerScaleFields)
		}
	}
	if cfg.get("service") == nil {
		it.failf(cfg, join(path, "service"), "missing")
	}
	switch hasAdd, hasMax := cfg.get("add") != nil, cfg.get("max_replicas") != nil; {
	case cfg.get("replicas") != nil && (hasAdd || hasMax):
		other := cfg.get("add")
		if other == nil {
			other = cfg.get("max_replicas")
		}
		it.failf(cfg.get("replicas"), join(path, "replicas"), "conflicts with %s (line %d): give a replica count, or add with max_replicas", other.key, lineOf(other))
	case cfg.get("replicas") != nil:
	case hasAdd && !hasMax:
		it.failf(cfg.get("add"), join(path, "max_replicas"), "missing (add needs it)")
	case hasMax && !hasAdd:
		it.failf(cfg.get("max_replicas"), join(path, "add"), "missing (max_replicas needs it)")
	case !hasAdd:
		it.failf(cfg, join(path, "replicas"), "missing (give replicas, or add with max_replicas)")
	}
	if replicas != nil && nReplicas >= 0 {
		opts = append(opts, intervene.WithReplicas(uint64(nReplicas)))
	}
	if add != nil && ceiling != nil && nAdd > 0 && nCeiling > 0 {
		opts = append(opts, intervene.WithAddReplicas(uint64(nAdd), uint64(nCeiling)))
	}
	r, err := intervene.DockerScale(cmp.Or(service, "service"), opts...)
	if err != nil {
		it.remedyFail(err, cfg, path, nodes, len(it.out.errs) > before)
		return nil
	}
	if len(it.out.errs) > before {
		return nil
	}
	return r
}

// codes reads the codes block into a Route shared by every monitor with the
// same notifiers.
func (it *item) codes(cn *node) alert.Notifier {
	const path = "codes"
	if cn.kind == nullNode {
		return nil
	}
	if !it.mapping(cn, path) {
		return nil
	}
	b := it.b
	h := digest(cn)
	b.mu.Lock()
	v, cached := b.codeRoutes.get(h, cn)
	b.mu.Unlock()
	if cached {
		return v.(alert.Notifier)
	}
	before := len(it.out.errs)
	var ids [6]int // by alert.Code
	var ns [6]alert.Notifier
	var seen [6]*node
	for c := cn.first; c != nil; c = c.next {
		var code alert.Code
		switch strings.ToLower(c.key) {
		case "yellow":
			code = alert.Yellow
		case "red":
			code = alert.Red
		case "green":
			code = alert.Green
		case "cyan":
			code = alert.Cyan
		case "gray", "grey":
			code = alert.Gray
		default:
			it.unknown(c, path, codeNames)
			continue
		}
		if seen[code] != nil {
			it.failf(c, join(path, c.key), "the code is also configured at line %d", lineOf(seen[code]))
			continue
		}
		seen[code] = c
		ns[code], ids[code] = it.codeNotifier(c, join(path, c.key))
	}
	var key strings.Builder
	some := false
	for code := alert.Yellow; code <= alert.Gray; code++ {
		if ns[code] != nil {
			some = true
		}
		fmt.Fprintf(&key, "%d,", ids[code])
	}
	if len(it.out.errs) > before {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var r alert.Route
	switch {
	case !some:
		// Every code has dispatch: false: the monitor sends nothing, rather
		// than falling back to the engine's default notifier.
		r = b.noRoute
	case b.routes[key.String()] != nil:
		r = b.routes[key.String()]
	default:
		r = alert.Route{}
		for code := alert.Yellow; code <= alert.Gray; code++ {
			if ns[code] != nil {
				r[code] = ns[code]
			}
		}
		b.routes[key.String()] = r
	}
	b.codeRoutes.put(h, cn, alert.Notifier(r))
	return r
}

// codeNotifier reads one code's block, or a list of blocks (all of which are
// notified).
func (it *item) codeNotifier(c *node, path string) (alert.Notifier, int) {
	if c.kind == seqNode {
		var parts []*sharedNotifier
		for e := c.first; e != nil; e = e.next {
			if s := it.notifierBlock(e, path); s != nil {
				parts = append(parts, s)
			}
		}
		switch len(parts) {
		case 0:
			return nil, 0
		case 1:
			return parts[0].n, parts[0].id
		}
		var key strings.Builder
		key.WriteString("multi")
		ns := make([]alert.Notifier, len(parts))
		for i, p := range parts {
			fmt.Fprintf(&key, "\x00%d", p.id)
			ns[i] = p.n
		}
		s := it.b.shared(key.String(), func() (alert.Notifier, error) { return alert.Multi(ns...), nil })
		return s.n, s.id
	}
	s := it.notifierBlock(c, path)
	if s == nil {
		return nil, 0
	}
	return s.n, s.id
}

// shared returns the notifier cached under key, building it on first use.
func (b *builder) shared(key string, mk func() (alert.Notifier, error)) *sharedNotifier {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.notifiers[key]; ok {
		return s
	}
	n, err := mk()
	s := &sharedNotifier{n: n, id: len(b.notifiers) + 1, err: err}
	b.notifiers[key] = s
	return s
}

var notifierKinds = []string{"log", "webhook", "slack", "pagerduty", "email", "sms"}

// notifierBlock reads {dispatch, notify, config}; nil when the code is not
// dispatched or the block is wrong.
func (it *item) notifierBlock(c *node, path string) *sharedNotifier {
	if !it.mapping(c, path) {
		return nil
	}
	dispatch := true
	var notify, cfg *node
	for e := c.first; e != nil; e = e.next {
		switch e.key {
		case "dispatch":
			if v, ok := it.boolean(e, path); ok {
				dispatch = v
			}
		case "notify":
			notify = e
		case "config":
			cfg = e
		default:
			it.unknown(e, path, codeFields)
		}
	}
	if notify == nil {
		if dispatch {
			it.failf(c, join(path, "notify"), "missing")
		}
		return nil
	}
	kindName, ok := it.str(notify, path)
	if !ok {
		return nil
	}
	kindName = strings.ToLower(kindName)
	if !slices.Contains(notifierKinds, kindName) {
		it.failf(notify, join(path, "notify"), "%q is not a notifier (log, webhook, slack, pagerduty, email, sms)", kindName)
		return nil
	}
	cpath := join(path, "config")
	if cfg == nil {
		cfg = &node{kind: nullNode, line: c.line, keyLine: c.keyLine}
	} else if !it.mapping(cfg, cpath) {
		return nil
	}
	before := len(it.out.errs)
	nb := notifierBuilder{it: it, cfg: cfg, path: cpath}
	mk := nb.reader(kindName)
	if len(it.out.errs) > before {
		return nil
	}
	if !dispatch {
		return nil
	}
	// The settings are read and checked for every monitor (errors need its
	// line), the notifier is built once per distinct configuration.
	s := it.b.shared(kindName+"\x00"+nb.key(), mk)
	if s.err != nil {
		it.fail(nb.errAt(), join(cpath, nb.errField), cause(s.err, alert.ErrConfig))
		return nil
	}
	return s
}

// notifierBuilder reads one notifier's config and returns how to build it.
type notifierBuilder struct {
	it       *item
	cfg      *node
	path     string
	vals     map[string]string // resolved values by key
	lists    map[string][]string
	errField string
}

func (nb *notifierBuilder) errAt() *node {
	if c := nb.cfg.get(nb.errField); c != nil {
		return c
	}
	return nb.cfg
}

// key is the resolved configuration as text: equal keys, one notifier.
func (nb *notifierBuilder) key() string {
	keys := make([]string, 0, len(nb.vals)+len(nb.lists))
	for k := range nb.vals {
		keys = append(keys, k)
	}
	for k := range nb.lists {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		if v, ok := nb.vals[k]; ok {
			b.WriteString(v)
		} else {
			for _, v := range nb.lists[k] {
				b.WriteString(v)
				b.WriteByte(1)
			}
		}
		b.WriteByte(0)
	}
	return b.String()
}

// read reads the keys of the config: strings (secrets resolved), lists, and
// for "headers" a mapping stored as "headers.<name>".
func (nb *notifierBuilder) read(strs, lists []string, known []string) {
	it := nb.it
	nb.vals, nb.lists = map[string]string{}, map[string][]string{}
	for c := nb.cfg.first; c != nil; c = c.next {
		switch {
		case slices.Contains(strs, c.key):
			if v, ok := it.secret(c, nb.path); ok {
				nb.vals[c.key] = v
			}
		case slices.Contains(lists, c.key):
			if v, ok := it.strs(c, nb.path); ok {
				nb.lists[c.key] = v
			}
		case c.key == "headers" && slices.Contains(known, "headers"):
			if kv, ok := it.pairs(c, nb.path); ok {
				for _, e := range kv {
					if v, ok := it.secret(e, join(nb.path, c.key)); ok {
						nb.vals["headers."+e.key] = v
					}
				}
			}
		default:
			it.unknown(c, nb.path, known)
		}
	}
}

// alias folds the second spelling of a setting into the first.
func (nb *notifierBuilder) alias(to, from string) {
	if v, ok := nb.vals[from]; ok {
		if w, ok2 := nb.vals[to]; ok2 && w != v {
			nb.it.failf(nb.cfg.get(from), join(nb.path, from), "conflicts with %s, another name for the same setting", to)
		}
		nb.vals[to] = v
		delete(nb.vals, from)
	}
}

func (nb *notifierBuilder) need(k string) bool {
	if nb.vals[k] != "" || len(nb.lists[k]) > 0 {
		return true
	}
	c := nb.cfg.get(k)
	_, read := nb.vals[k]
	_, readList := nb.lists[k]
	switch {
	case c == nil:
		nb.it.failf(nb.cfg, join(nb.path, k), "missing")
	case read || readList:
		nb.it.failf(c, join(nb.path, k), "empty")
	}
	return false
}

func (nb *notifierBuilder) errNode(k string) *node {
	if c := nb.cfg.get(k); c != nil {
		return c
	}
	return nb.cfg
}

func (nb *notifierBuilder) boolVal(k string) bool {
	v := nb.vals[k]
	if v == "" {
		return false
	}
	b, ok := nb.it.boolean(nb.cfg.get(k), nb.path)
	return ok && b
}

// reader reads the config of a kind of notifier and returns its constructor.
func (nb *notifierBuilder) reader(kind string) func() (alert.Notifier, error) {
	b := nb.it.b
	switch kind {
	case "log":
		nb.read([]string{"file", "path"}, nil, []string{"file"})
		nb.alias("file", "path")
		file := nb.vals["file"]
		nb.errField = "file"
		return func() (alert.Notifier, error) { return b.logNotifier(file) }
	case "webhook":
		nb.read([]string{"url", "secret", "template"}, nil, []string{"url", "secret", "headers", "template"})
		nb.need("url")
		nb.errField = "url"
		vals := nb.vals
		return func() (alert.Notifier, error) {
			var opts []alert.Option
			if s := vals["secret"]; s != "" {
				opts = append(opts, alert.WithSecret(s))
			}
			if t := vals["template"]; t != "" {
				opts = append(opts, alert.WithTemplate(t))
			}
			for _, k := range sortedKeys(vals) {
				if h, ok := strings.CutPrefix(k, "headers."); ok {
					opts = append(opts, alert.WithHeader(h, vals[k]))
				}
			}
			return alert.Webhook(vals["url"], opts...)
		}
	case "slack":
		nb.read([]string{"webhook_url", "url"}, nil, []string{"webhook_url", "url"})
		nb.alias("webhook_url", "url")
		nb.need("webhook_url")
		nb.errField = "webhook_url"
		u := nb.vals["webhook_url"]
		return func() (alert.Notifier, error) { return alert.Slack(u) }
	case "pagerduty":
		nb.read([]string{"routing_key", "url", "endpoint", "source", "yellow_warning"}, nil, []string{"routing_key", "url", "endpoint", "source", "yellow_warning"})
		nb.alias("url", "endpoint")
		if nb.vals["routing_key"] == "" && nb.cfg.get("routing_key") == nil {
			if v, ok := b.o.lookupEnv(pagerDutyKeyEnv); ok && v != "" {
				nb.vals["routing_key"] = v
			} else {
				nb.it.failf(nb.cfg, join(nb.path, "routing_key"), "missing (give it here, as ${NAME} to read it from the environment, or in %s)", pagerDutyKeyEnv)
			}
		}
		yellow := nb.boolVal("yellow_warning")
		nb.errField = "routing_key"
		vals := nb.vals
		return func() (alert.Notifier, error) {
			var opts []alert.Option
			if u := vals["url"]; u != "" {
				opts = append(opts, alert.WithEndpoint(u))
			}
			if s := vals["source"]; s != "" {
				opts = append(opts, alert.WithSource(s))
			}
			if yellow {
				opts = append(opts, alert.WithYellowWarning())
			}
			return alert.PagerDuty(vals["routing_key"], opts...)
		}
	case "email":
		nb.read([]string{"smtp", "addr", "from", "username", "password", "require_tls", "hello"}, []string{"to"}, []string{"smtp", "addr", "from", "to", "username", "password", "require_tls", "hello"})
		nb.alias("smtp", "addr")
		nb.need("smtp")
		nb.need("from")
		nb.need("to")
		requireTLS := nb.boolVal("require_tls")
		nb.errField = "smtp"
		vals, to := nb.vals, nb.lists["to"]
		return func() (alert.Notifier, error) {
			var opts []alert.Option
			if vals["username"] != "" || vals["password"] != "" {
				opts = append(opts, alert.WithAuth(vals["username"], vals["password"]))
			}
			if requireTLS {
				opts = append(opts, alert.WithRequireTLS())
			}
			if h := vals["hello"]; h != "" {
				opts = append(opts, alert.WithHello(h))
			}
			return alert.Email(vals["smtp"], vals["from"], to, opts...)
		}
	case "sms":
		nb.read([]string{"account_sid", "auth_token", "from", "base_url"}, []string{"to"}, []string{"account_sid", "auth_token", "from", "to", "base_url"})
		nb.need("account_sid")
		nb.need("auth_token")
		nb.need("from")
		nb.need("to")
		nb.errField = "account_sid"
		vals, to := nb.vals, nb.lists["to"]
		return func() (alert.Notifier, error) {
			var opts []alert.Option
			if u := vals["base_url"]; u != "" {
				opts = append(opts, alert.WithEndpoint(u))
			}
			return alert.SMS(vals["account_sid"], vals["auth_token"], vals["from"], to, opts...)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// logNotifier returns the notifier writing to file, opening each file once.
// The caller holds b.mu.
func (b *builder) logNotifier(file string) (alert.Notifier, error) {
	if file == "" || file == "-" || file == "stdout" {
		if b.stdoutLog == nil {
			b.stdoutLog = alert.Log(b.o.stdout)
		}
		return b.stdoutLog, nil
	}
	clean := filepath.Clean(file)
	if n, ok := b.logs[clean]; ok {
		return n, nil
	}
	if b.o.fileChecks {
		if msg := logFileProblem(clean); msg != "" {
			return nil, errors.New(msg)
		}
	}
	var n alert.Notifier
	if b.o.openLog != nil {
		w, err := b.o.openLog(clean)
		if err != nil {
			return nil, err
		}
		if c, ok := w.(io.Closer); ok {
			b.closers = append(b.closers, c)
		}
		n = alert.Log(w)
	} else {
		l, err := alert.LogFile(clean)
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, l)
		n = l
	}
	b.logs[clean] = n
	return n, nil
}

// suggest returns the entry of known nearest to s, if it is near enough to
// be a typo.
func suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
