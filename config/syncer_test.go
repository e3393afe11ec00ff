package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/internal/heapwatch"
)

// tcpFleet is the monitors list of TCP monitors prefix<from> to
// prefix<to-1>, each checked every interval.
func tcpFleet(prefix string, from, to int, interval string) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "  - name: %s%d\n    pulse_check: {type: tcp, interval: %s, config: {address: \"127.0.0.1:1\"}}\n", prefix, i, interval)
	}
	return b.String()
}

// TestSyncLargeFleet reloads a fleet larger than the batches in which the
// Syncer asks the engine for the IDs of names (and than one step of the
// engine's loop), into an engine not started and into a running one: the
// monitors gone leave, the changed ones are replaced, the new ones added,
// and the others keep their IDs.
func TestSyncLargeFleet(t *testing.T) {
	forEachWay(t, func(t *testing.T, way syncWay) {
		for _, started := range []bool{false, true} {
			t.Run(fmt.Sprint("started=", started), func(t *testing.T) {
				e, s := newSyncer(t)
				if started {
					if err := e.Start(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				const n = 2600
				ch, err := way.sync(t, s, "monitors:\n"+tcpFleet("m", 0, n, "1h"))
				if err != nil || ch != (Changes{Added: n}) {
					t.Fatalf("first sync: got %+v, %v; want %d added", ch, err, n)
				}
				before := map[string]cpra.ID{}
				for i := range n {
					name := fmt.Sprint("m", i)
					before[name] = mustID(t, s, name)
				}
				// m0-m99 gone, m100-m199 changed, m2600-m2899 new.
				text := "monitors:\n" + tcpFleet("m", 100, 200, "2h") + tcpFleet("m", 200, n+300, "1h")
				ch, err = way.sync(t, s, text)
				if want := (Changes{Added: 300, Replaced: 100, Removed: 100, Unchanged: n - 200}); err != nil || ch != want {
					t.Fatalf("reload: got %+v, %v; want %+v", ch, err, want)
				}
				for i := range n + 300 {
					name := fmt.Sprint("m", i)
					id, ok := s.ID(name)
					switch {
					case i < 100:
						if ok {
							t.Fatalf("%s gone from the file: still known as %v", name, id)
						}
						if _, err := e.Status(before[name]); !errors.Is(err, cpra.ErrNotFound) {
							t.Fatalf("%s gone from the file: %v, want ErrNotFound", name, err)
						}
					case !ok:
						t.Fatalf("%s not known after the reload", name)
					case i < 200:
						if st, err := e.Status(id); id == before[name] || err != nil || st.Interval != 2*time.Hour {
							t.Fatalf("changed %s: ID %v (was %v), %+v, %v; want a new ID and 2h", name, id, before[name], st.Interval, err)
						}
					case i < n:
						if id != before[name] {
							t.Fatalf("unchanged %s: ID %v, want %v", name, id, before[name])
						}
					}
				}
				if got := e.Stats().Monitors; got != n+200 {
					t.Errorf("%d monitors in the engine, want %d", got, n+200)
				}
			})
		}
	})
}

// TestSyncLeavesOtherMonitors: a monitor of the Syncer that the program
// removed itself, whose place in the engine another monitor of the
// program took, is not the Syncer's any more: the next file without it
// leaves the program's monitor running, and a file with it adds it again;
// one the program updated is the program's, and the file's is refused.
func TestSyncLeavesOtherMonitors(t *testing.T) {
	forEachWay(t, func(t *testing.T, way syncWay) {
		e, s := newSyncer(t)
		if _, err := way.sync(t, s, syncFile("a/1h", "b/1h", "c/1h")); err != nil {
			t.Fatal(err)
		}
		a, b := mustID(t, s, "a"), mustID(t, s, "b")
		for _, id := range []cpra.ID{a, b} {
			if err := e.Remove(id); err != nil {
				t.Fatal(err)
			}
		}
		mine, err := e.Add(cpra.Monitor{Name: "mine", Check: placeholderCheck})
		if err != nil {
			t.Fatal(err)
		}
		// IDs read "m<place>.<generation>".
		place := func(id cpra.ID) string { p, _, _ := strings.Cut(id.String(), "."); return p }
		if place(mine) != place(a) && place(mine) != place(b) {
			t.Fatalf("the program's monitor %v took neither the place of a %v nor of b %v", mine, a, b)
		}
		if _, ok := s.ID("mine"); ok {
			t.Error("the program's monitor is known to the Syncer")
		}
		ch, err := way.sync(t, s, syncFile("b/1h", "c/1h"))
		// Removed counts what ran for the Syncer: a and the b it added.
		if want := (Changes{Added: 1, Removed: 2, Unchanged: 1}); err != nil || ch != want {
			t.Fatalf("got %+v, %v; want %+v (a gone, b added again)", ch, err, want)
		}
		if st, err := e.Status(mine); err != nil || st.Name != "mine" {
			t.Errorf("the program's monitor: %+v, %v; want it running", st.Name, err)
		}
		if _, ok := s.ID("b"); !ok {
			t.Error("b of the file is not running")
		}
		if got := e.Stats().Monitors; got != 3 {
			t.Errorf("%d monitors, want 3 (b, c and the program's)", got)
		}

		// c updated by the program is the program's: the file's c is
		// refused, its name taken.
		c := mustID(t, s, "c")
		if _, err := e.Update(c, cpra.Monitor{Name: "c", Check: placeholderCheck}); err != nil {
			t.Fatal(err)
		}
		ch, err = way.sync(t, s, syncFile("b/1h", "c/1h"))
		if want := (Changes{Removed: 1, Unchanged: 1, Failed: 1}); ch != want || !strings.Contains(errorText(err), `"c": name: name already in use`) {
			t.Fatalf("got %+v, %v; want %+v and c's name taken", ch, err, want)
		}
		if _, ok := s.ID("c"); ok {
			t.Error("c updated by the program is still the Syncer's")
		}
	})
}

// TestSyncFilesShareThePlaceWhenTheTableIsFull: with every place of the
// Syncer's table of files taken, a new file shares the last one, and the
// files there close together once the last monitor of any leaves, never
// while one of their monitors runs.
func TestSyncFilesShareThePlaceWhenTheTableIsFull(t *testing.T) {
	defer func(max int) { maxFilePlace = max }(maxFilePlace)
	maxFilePlace = 2
	forEachWay(t, func(t *testing.T, way syncWay) {
		_, s := newSyncer(t)
		var logs closingLogs
		steps := []struct {
			mons   []string
			closed int
		}{
			{[]string{"a/1h", "b/1h", "c/1h"}, 0}, // the first file at place 1
			{[]string{"a/2h", "b/1h", "c/1h"}, 0}, // the second at place 2, with a
			{[]string{"a/2h", "b/2h", "c/1h"}, 0}, // the third shares place 2, with b
			{[]string{"a/2h", "b/2h", "c/2h"}, 1}, // the fourth too; the first closes with c
			{nil, 5},                              // place 2 drains: 3 files close, and the fifth, empty
		}
		for i, st := range steps {
			if _, err := way.sync(t, s, syncFile(st.mons...), logs.opener()); err != nil {
				t.Fatal(err)
			}
			if n := logs.closedCount(); n != st.closed {
				t.Fatalf("after file %d: %d log files closed, want %d", i+1, n, st.closed)
			}
		}
	})
}

// TestSyncerKeepsLittlePerMonitor pins the Syncer's bookkeeping: after a
// load and a reload of a fleet, its lists as long as the fleet take 16
// bytes a monitor, and the heap it frees once closed is about that.
func TestSyncerKeepsLittlePerMonitor(t *testing.T) {
	const n = 20_000
	var text bytes.Buffer
	if err := Generate(&text, Fleet{Count: n, BaseURL: "http://127.0.0.1:1", Interval: time.Hour, AlertLog: "alerts.log"}); err != nil {
		t.Fatal(err)
	}
	opt := WithOpenLog(func(string) (io.Writer, error) { return io.Discard, nil })
	ways := map[string]func(*Syncer) error{
		"SyncReader": func(s *Syncer) error {
			_, _, err := s.SyncReader(bytes.NewReader(text.Bytes()), opt)
			return err
		},
		"Sync": func(s *Syncer) error {
			f, err := Load(bytes.NewReader(text.Bytes()), opt)
			if err != nil {
				return err
			}
			_, err = s.Sync(f)
			return err
		},
	}
	for name, syncWith := range ways {
		t.Run(name, func(t *testing.T) {
			e, err := cpra.New()
			if err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown(context.Background())
			s := NewSyncer(e)
			for range 2 {
				if err := syncWith(s); err != nil {
					t.Fatal(err)
				}
			}
			// Every list or map of the Syncer as long as the fleet is
			// bookkeeping of each monitor.
			v := reflect.ValueOf(s).Elem()
			var each uintptr
			var lists []string
			for i := range v.NumField() {
				f := v.Field(i)
				if f.Kind() == reflect.Struct && f.FieldByName("S").IsValid() {
					f = f.FieldByName("S") // an offheap.List
				}
				switch {
				case f.Kind() == reflect.Slice && f.Len() == n:
					each += f.Type().Elem().Size()
				case f.Kind() == reflect.Map && f.Len() == n:
					each += f.Type().Key().Size() + f.Type().Elem().Size()
				default:
					continue
				}
				lists = append(lists, v.Type().Field(i).Name)
			}
			if each != 16 {
				t.Errorf("the lists %v take %d bytes a monitor, want 16", lists, each)
			}
			with := heapwatch.Live()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			perMonitor := float64(int64(with)-int64(heapwatch.Live())) / n
			if perMonitor < 14 || perMonitor > 22 {
				t.Errorf("the Syncer held %.1f bytes a monitor, want 16 to 22", perMonitor)
			}
		})
	}
}

// TestSyncWhileTheEngineShutsDown shuts the engine down while reloads
// run, at times spread over a reload's length: whatever step apply was
// at, afterwards the Syncer knows exactly the monitors of its files the
// engine holds (none forgotten, which would run unseen, none made up), and
// its Close closes every log file once.
func TestSyncWhileTheEngineShutsDown(t *testing.T) {
	forEachWay(t, func(t *testing.T, way syncWay) {
		const n = 600
		defaults := "defaults:\n  codes: {red: {notify: log, config: {file: alerts.log}}}\nmonitors:\n"
		first := defaults + tcpFleet("m", 0, n, "1h")
		// Below m300 the even ones gone and the odd ones changed, in turn
		// in the Syncer's list; m600-m749 new.
		reload := defaults
		for i := 1; i < 300; i += 2 {
			reload += tcpFleet("m", i, i+1, "2h")
		}
		reload += tcpFleet("m", 300, n+150, "1h")
		// run syncs the first file and starts the reload, and after delay
		// the shutdown; it returns how long the reload took.
		run := func(logs *closingLogs, delay time.Duration) (*cpra.Engine, *Syncer, time.Duration) {
			e, err := cpra.New()
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			s := NewSyncer(e)
			if _, err := way.sync(t, s, first, logs.opener()); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			if delay >= 0 {
				go func() {
					time.Sleep(delay)
					done <- e.Shutdown(context.Background())
				}()
			}
			start := time.Now()
			_, err = way.sync(t, s, reload, logs.opener())
			took := time.Since(start)
			if err != nil && !errors.Is(err, cpra.ErrClosed) {
				t.Fatalf("%v, want nil or ErrClosed", err)
			}
			if delay < 0 {
				done <- e.Shutdown(context.Background())
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			return e, s, took
		}
		var logs closingLogs
		_, s, whole := run(&logs, -1)
		s.Close()
		for attempt := range 24 {
			var logs closingLogs
			e, s, _ := run(&logs, whole*time.Duration(attempt)/20)
			held := 0
			for i := range n + 150 {
				name := fmt.Sprint("m", i)
				_, ok := e.Lookup(name)
				if _, mine := s.ID(name); ok != mine {
					t.Fatalf("attempt %d: %s in the engine %v, for the Syncer %v; want the same", attempt, name, ok, mine)
				}
				if ok {
					held++
				}
			}
			if len(s.ids.S) != held || !slices.IsSortedFunc(s.ids.S, cpra.ID.Compare) {
				t.Fatalf("attempt %d: the Syncer lists %d monitors (sorted: %v), the engine holds %d of its files", attempt, len(s.ids.S), slices.IsSortedFunc(s.ids.S, cpra.ID.Compare), held)
			}
			for _, id := range s.ids.S {
				if _, err := e.Status(id); err != nil {
					t.Fatalf("attempt %d: the Syncer's %v: %v", attempt, id, err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			logs.mu.Lock()
			opened, closed := len(logs.files), logs.closed
			logs.mu.Unlock()
			if closed != opened {
				t.Errorf("attempt %d: %d log files closed of %d opened, want each once", attempt, closed, opened)
			}
		}
	})
}
