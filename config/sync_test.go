package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/ziad/cpra"
)

// closingLogs opens log files in memory and records which are closed.
type closingLogs struct {
	mu     sync.Mutex
	closed int
	files  []*syncBuffer // every file opened, of every load
}

type closingLog struct {
	*syncBuffer
	l *closingLogs
}

func (c closingLog) Close() error {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	c.l.closed++
	return nil
}

func (l *closingLogs) opener() Option {
	return WithOpenLog(func(path string) (io.Writer, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		b := &syncBuffer{}
		l.files = append(l.files, b)
		return closingLog{b, l}, nil
	})
}

func (l *closingLogs) closedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// syncWay applies the text of a monitors file to a Syncer, with in-memory
// logs and an empty environment (plus extra options): a loaded File given
// to Sync, or the text read by SyncReader.
type syncWay struct {
	name string
	sync func(t *testing.T, s *Syncer, text string, opts ...Option) (Changes, error)
}

var syncWays = []syncWay{
	{"Sync", func(t *testing.T, s *Syncer, text string, opts ...Option) (Changes, error) {
		t.Helper()
		return s.Sync(mustLoad(t, text, opts...))
	}},
	{"SyncReader", func(t *testing.T, s *Syncer, text string, opts ...Option) (Changes, error) {
		t.Helper()
		all := append([]Option{WithOpenLog(newMemLogs().open), env(), WithStdout(io.Discard)}, opts...)
		f, ch, err := s.SyncReader(strings.NewReader(text), all...)
		if f == nil && err != nil {
			t.Fatalf("SyncReader refused the file: %v", err)
		}
		return ch, err
	}},
}

// forEachWay runs test for each way of syncing.
func forEachWay(t *testing.T, test func(*testing.T, syncWay)) {
	for _, way := range syncWays {
		t.Run(way.name, func(t *testing.T) { test(t, way) })
	}
}

// syncFile is a monitors file of TCP monitors by name and interval, each
// logging its codes to alerts.log.
func syncFile(mons ...string) string {
	var b strings.Builder
	b.WriteString("defaults:\n  codes: {red: {notify: log, config: {file: alerts.log}}}\nmonitors:")
	if len(mons) == 0 {
		b.WriteString(" []")
	}
	b.WriteString("\n")
	for _, m := range mons {
		name, iv, _ := strings.Cut(m, "/")
		fmt.Fprintf(&b, "  - name: %s\n    pulse_check:\n      type: tcp\n      interval: %s\n      config: {address: \"127.0.0.1:1\"}\n", name, iv)
	}
	return b.String()
}

// TestSync applies files in turn to an engine: new monitors are added,
// changed ones replaced, gone ones removed, the others keep their ID; a
// file is closed once none of its monitors runs.
func TestSync(t *testing.T) { forEachWay(t, testSync) }

func testSync(t *testing.T, way syncWay) {
	e, s := newSyncer(t)
	var logs closingLogs
	step := func(want Changes, mons ...string) {
		t.Helper()
		got, err := way.sync(t, s, syncFile(mons...), logs.opener())
		if err != nil {
			t.Fatalf("Sync: %v", err)
		}
		if got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	id := func(name string) cpra.ID {
		t.Helper()
		id, ok := s.ID(name)
		if !ok {
			t.Fatalf("no monitor %s", name)
		}
		return id
	}

	step(Changes{Added: 3}, "a/1h", "b/1h", "c/1h")
	a, b, c := id("a"), id("b"), id("c")

	step(Changes{Added: 1, Replaced: 1, Removed: 1, Unchanged: 1}, "b/2h", "c/1h", "d/1h")
	if id("c") != c {
		t.Errorf("unchanged c: ID %v, want %v", id("c"), c)
	}
	if id("b") == b {
		t.Errorf("changed b kept its ID %v", b)
	}
	if st, err := e.Status(id("b")); err != nil || st.Interval != 2*time.Hour {
		t.Errorf("new b: interval %v, %v; want 2h", st.Interval, err)
	}
	for _, old := range []cpra.ID{a, b} {
		if _, err := e.Status(old); !errors.Is(err, cpra.ErrNotFound) {
			t.Errorf("old monitor %v: %v, want ErrNotFound", old, err)
		}
	}
	if _, ok := s.ID("a"); ok {
		t.Error("removed a still known")
	}
	// The first file's log is still used by c.
	if n := logs.closedCount(); n != 0 {
		t.Errorf("%d log files closed, want 0: c still runs with the first file's", n)
	}

	step(Changes{Unchanged: 3}, "b/2h", "c/1h", "d/1h")
	if n := logs.closedCount(); n != 1 {
		t.Errorf("%d log files closed, want 1 (the third file's: nothing of it runs)", n)
	}
	step(Changes{Removed: 3})
	if n := logs.closedCount(); n != 4 {
		t.Errorf("%d log files closed, want all 4", n)
	}
	if n := e.Stats().Monitors; n != 0 {
		t.Errorf("%d monitors left, want 0", n)
	}
}

// TestSyncErrors: a monitor the engine refuses is reported with its line
// and the rest applied; once the engine is shut down Sync says so.
func TestSyncErrors(t *testing.T) { forEachWay(t, testSyncErrors) }

func testSyncErrors(t *testing.T, way syncWay) {
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Add(cpra.Monitor{Name: "taken", Check: placeholderCheck}); err != nil {
		t.Fatal(err)
	}
	s := NewSyncer(e)
	defer s.Close()
	got, err := way.sync(t, s, syncFile("ok/1h", "taken/1h"))
	if want := (Changes{Added: 1, Failed: 1}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if want := `monitors[1] "taken": name: name already in use (line 9)`; errorText(err) != want {
		t.Errorf("got %q, want %q", errorText(err), want)
	}
	if _, ok := s.ID("taken"); ok {
		t.Error("the refused monitor is known")
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var logs closingLogs
	_, err = way.sync(t, s, syncFile("other/1h"), logs.opener())
	if !errors.Is(err, cpra.ErrClosed) {
		t.Errorf("after shutdown: %v, want ErrClosed", err)
	}
	if n := logs.closedCount(); n != 1 {
		t.Errorf("the refused file: %d log files closed, want 1", n)
	}
}

// maintSyncFile is a file of monitors a (team: core) and b (team: edge),
// checked once an hour, logging gray to grays.log, and a maintenance over
// each selector with a window open from an hour ago for three hours.
func maintSyncFile(selectors ...string) string {
	var b strings.Builder
	b.WriteString("monitors:\n")
	for _, m := range [][2]string{{"a", "core"}, {"b", "edge"}} {
		fmt.Fprintf(&b, "  - name: %s\n    labels: {team: %s}\n    pulse_check: {type: tcp, interval: 1h, config: {address: \"127.0.0.1:1\"}}\n"+
			"    codes: {gray: {notify: log, config: {file: grays.log}}}\n", m[0], m[1])
	}
	if len(selectors) > 0 {
		start := time.Now().Add(-time.Hour).UTC().Truncate(time.Hour).Format(time.RFC3339)
		b.WriteString("maintenance:\n")
		for _, sel := range selectors {
			fmt.Fprintf(&b, "  - selector: {team: %s}\n    windows: [{start: %s, duration: 3h}]\n", sel, start)
		}
	}
	return b.String()
}

// TestSyncMaintenance syncs files whose maintenance list changes, on a
// running engine: the old maintenances are removed, the new ones added,
// and a monitor inside a window both files hold stays inside it (one
// gray).
func TestSyncMaintenance(t *testing.T) { forEachWay(t, testSyncMaintenance) }

func testSyncMaintenance(t *testing.T, way syncWay) {
	e, s := newSyncer(t)
	// Started first, so that entering the window sends gray.
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var logs closingLogs
	grays := func(name string) int {
		logs.mu.Lock()
		var n int
		for _, b := range logs.files {
			n += strings.Count(b.String(), `"monitor":"`+name+`","code":"gray"`)
		}
		logs.mu.Unlock()
		return n
	}
	waitGrays := func(name string, want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for grays(name) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%d grays for %s, want %d", grays(name), name, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	inside := func(name string) bool {
		t.Helper()
		id, _ := s.ID(name)
		st, err := e.Status(id)
		if err != nil {
			t.Fatal(err)
		}
		return st.Maintenance
	}
	sync := func(text string, want Changes) {
		t.Helper()
		got, err := way.sync(t, s, text, logs.opener())
		if err != nil || got != want {
			t.Fatalf("got %+v, %v; want %+v", got, err, want)
		}
	}
	sync(maintSyncFile("core"), Changes{Added: 2, Maintenance: 1})
	waitGrays("a", 1)
	if !inside("a") || inside("b") {
		t.Fatalf("in maintenance: a %v, b %v; want a only", inside("a"), inside("b"))
	}
	old := s.Maintenance()

	// The same window over core, and one over edge.
	sync(maintSyncFile("core", "edge"), Changes{Unchanged: 2, Maintenance: 2})
	if now := s.Maintenance(); len(now) != 2 || now[0] == old[0] {
		t.Fatalf("maintenance IDs %v after %v, want two new ones", now, old)
	}
	if err := e.RemoveMaintenance(old[0]); !errors.Is(err, cpra.ErrNotFound) {
		t.Errorf("the old maintenance: %v, want ErrNotFound (removed)", err)
	}
	if !inside("a") || !inside("b") {
		t.Errorf("in maintenance: a %v, b %v; want both", inside("a"), inside("b"))
	}
	waitGrays("b", 1)
	time.Sleep(100 * time.Millisecond) // a second gray for a would have come by now
	if n := grays("a"); n != 1 {
		t.Errorf("%d grays for a, want 1: it stayed inside across the sync", n)
	}

	// No maintenance list: both leave.
	kept := s.Maintenance()
	sync(maintSyncFile(), Changes{Unchanged: 2})
	if inside("a") || inside("b") {
		t.Errorf("in maintenance: a %v, b %v; want neither", inside("a"), inside("b"))
	}
	for _, id := range kept {
		if err := e.RemoveMaintenance(id); !errors.Is(err, cpra.ErrNotFound) {
			t.Errorf("maintenance %v: %v, want ErrNotFound (removed)", id, err)
		}
	}
}

// TestSyncKeepsTheEpisode reloads a file that changes a monitor that is
// down: it is updated in place, so its outage stays one episode with one
// red.
func TestSyncKeepsTheEpisode(t *testing.T) { forEachWay(t, testSyncKeepsTheEpisode) }

func testSyncKeepsTheEpisode(t *testing.T, way syncWay) {
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	var logs closingLogs
	s := NewSyncer(e)
	defer s.Close()
	file := func(iv string) string {
		return "defaults:\n  codes: {red: {notify: log, config: {file: alerts.log}}, green: {notify: log, config: {file: alerts.log}}}\n" +
			"monitors:\n  - name: db\n    pulse_check: {type: tcp, interval: " + iv + ", max_failures: 1, config: {address: \"127.0.0.1:1\"}}\n"
	}
	reds := func() int {
		logs.mu.Lock()
		defer logs.mu.Unlock()
		n := 0
		for _, f := range logs.files {
			n += strings.Count(f.String(), `"code":"red"`)
		}
		return n
	}
	if _, err := way.sync(t, s, file("50ms"), logs.opener()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for reds() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no red within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ch, err := way.sync(t, s, file("60ms"), logs.opener())
	if err != nil || ch.Replaced != 1 {
		t.Fatalf("reload: %+v, %v; want the monitor updated", ch, err)
	}
	time.Sleep(500 * time.Millisecond) // several failing checks of the updated monitor
	if n := reds(); n != 1 {
		t.Errorf("%d reds across the reload, want 1: the outage is one episode", n)
	}
	if st, err := e.Status(mustID(t, s, "db")); err != nil || st.State != cpra.StateDown || st.Interval != 60*time.Millisecond {
		t.Errorf("after the reload: %+v, %v; want down with the new interval", st, err)
	}
}

func mustID(t *testing.T, s *Syncer, name string) cpra.ID {
	t.Helper()
	id, ok := s.ID(name)
	if !ok {
		t.Fatalf("no monitor %s", name)
	}
	return id
}

// TestSyncLetsTheFileGo: once synced, a file's monitors live in the engine
// only; the Syncer keeps what closes the file, not the file, so a program
// running a large file does not hold every monitor twice. The file's log
// is still closed when its last monitor goes.
func TestSyncLetsTheFileGo(t *testing.T) {
	_, s := newSyncer(t)
	var logs closingLogs
	// Not through mustLoad, whose cleanup would hold the file.
	f, err := Load(strings.NewReader(syncFile("a/1h", "b/1h")), env(), WithStdout(io.Discard), logs.opener())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sync(f); err != nil {
		t.Fatal(err)
	}
	w := weak.Make(f)
	f = nil
	for range 5 {
		runtime.GC()
	}
	if w.Value() != nil {
		t.Error("the synced file is still reachable, want it collected")
	}
	if _, err := s.Sync(mustLoad(t, syncFile(), logs.opener())); err != nil {
		t.Fatal(err)
	}
	if n := logs.closedCount(); n != 2 {
		t.Errorf("%d log files closed, want 2 (the first file's, once its monitors left, and the empty second's)", n)
	}
}

// newSyncer returns an engine not started and a Syncer of it; the test's
// end closes the Syncer, then shuts the engine down.
func newSyncer(t *testing.T) (*cpra.Engine, *Syncer) {
	t.Helper()
	e, err := cpra.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Shutdown(context.Background()) })
	s := NewSyncer(e)
	t.Cleanup(func() { s.Close() })
	return e, s
}
