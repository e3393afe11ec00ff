package cpra_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/alert"
	"github.com/ziad/cpra/intervene"
)

// memStore is a Store in memory, with snapshots: a snapshot taken while an
// engine runs is what a crash at that moment would leave.
type memStore struct {
	mu     sync.Mutex
	m      map[string][]byte
	writes int
	fail   atomic.Bool
}

func newMemStore() *memStore { return &memStore{m: map[string][]byte{}} }

func (s *memStore) Load(fn func(k, v []byte) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		if err := fn([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStore) Write(cs []cpra.Change) error {
	if s.fail.Load() {
		return errors.New("disk full")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	for _, c := range cs {
		if c.Value == nil {
			delete(s.m, string(c.Key))
		} else {
			s.m[string(c.Key)] = append([]byte(nil), c.Value...)
		}
	}
	return nil
}

func (s *memStore) snapshot() *memStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &memStore{m: maps.Clone(s.m)}
}

func (s *memStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// switchable fails while down is set.
type switchable struct{ down atomic.Bool }

func (c *switchable) Check(context.Context) error {
	if c.down.Load() {
		return errors.New("connection refused")
	}
	return nil
}

// A restart in the middle of an outage: the second engine resumes the
// episode, sends no second yellow or red, and ends it with one green of
// the same Since and the next key.
func TestRestartKeepsTheEpisode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		target := &switchable{}
		target.down.Store(true)
		mon := cpra.Monitor{Name: "db", Interval: time.Second, Check: target}

		rec1 := &recorder{}
		e1, err := cpra.New(cpra.WithNotifier(rec1), cpra.WithStore(st, time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		e1.Add(mon)
		e1.Start(context.Background())
		time.Sleep(5 * time.Second)
		shutdown(t, e1)
		if got := rec1.codes(""); got != "yellow red" {
			t.Fatalf("first run: %q, want yellow red", got)
		}
		if st.len() != 1 {
			t.Errorf("store holds %d records, want the down monitor's state only", st.len())
		}

		rec2 := &recorder{}
		e2, err := cpra.New(cpra.WithNotifier(rec2), cpra.WithStore(st, time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := e2.Add(mon)
		if s, _ := e2.Status(id); s.State != cpra.StateDown || !s.Since.Equal(rec1.alerts[0].Since) {
			t.Errorf("after the restart: %v since %v, want down since %v", s.State, s.Since, rec1.alerts[0].Since)
		}
		e2.Start(context.Background())
		time.Sleep(5 * time.Second)
		if got := rec2.codes(""); got != "" {
			t.Errorf("still down after the restart: sent %q, want nothing", got)
		}
		target.down.Store(false)
		time.Sleep(5 * time.Second)
		shutdown(t, e2)
		if got := rec2.codes(""); got != "green" {
			t.Fatalf("after recovering: %q, want one green", got)
		}
		g, r := rec2.alerts[0], rec1.alerts[1]
		if !g.Since.Equal(r.Since) {
			t.Errorf("green's Since %v, want the red's %v: one incident", g.Since, r.Since)
		}
		if g.Key == "" || g.Key == r.Key || r.Key != fmt.Sprintf("db/%d/2", r.Since.UnixMilli()) {
			t.Errorf("keys: red %q, green %q", r.Key, g.Key)
		}
		if st.len() != 0 {
			t.Errorf("store holds %d records once the episode is over, want none", st.len())
		}
	})
}

// keysStore is a memStore that counts the writes of each key.
type keysStore struct {
	*memStore
	mu      sync.Mutex
	written map[string]int
}

func (s *keysStore) Write(cs []cpra.Change) error {
	s.mu.Lock()
	for _, c := range cs {
		s.written[string(c.Key)]++
	}
	s.mu.Unlock()
	return s.memStore.Write(cs)
}

// A restart writes again only the kept records that change: a monitor
// still down is given its state back and not written, one whose
// remediation the restart cut short is written with the attempt failed.
func TestRestartWritesOnlyWhatChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		target := &switchable{}
		target.down.Store(true)
		hang := make(chan struct{})
		fix := intervene.RemediatorFunc(func(ctx context.Context, inc intervene.Incident) error {
			select {
			case <-hang:
			case <-ctx.Done():
			}
			return errors.New("still broken")
		})
		db := cpra.Monitor{Name: "db", Interval: time.Second, Check: target}
		api := cpra.Monitor{Name: "api", Interval: time.Second, Check: target, Remediate: fix,
			Policy: intervene.Policy{MaxAttempts: 3, Timeout: time.Minute}}
		e1, _ := cpra.New(cpra.WithStore(st, time.Minute))
		e1.Add(db)
		e1.Add(api)
		e1.Start(context.Background())
		time.Sleep(5 * time.Second) // both down, api's attempt 1 hangs
		synctest.Wait()
		crash := st.snapshot() // what a kill -9 now would leave
		close(hang)
		shutdown(t, e1)
		if crash.len() != 2 {
			t.Fatalf("store holds %d records at the crash, want the two monitors'", crash.len())
		}
		before := crash.snapshot()

		// Added again with an hour's interval: no check runs before the
		// shutdown, so only the restart itself may change a state.
		ks := &keysStore{memStore: crash, written: map[string]int{}}
		e2, err := cpra.New(cpra.WithStore(ks, time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		db.Interval, api.Interval = time.Hour, time.Hour
		dbID, _ := e2.Add(db)
		e2.Add(api)
		if s, _ := e2.Status(dbID); s.State != cpra.StateDown {
			t.Errorf("db after the restart: %v, want down", s.State)
		}
		e2.Start(context.Background())
		time.Sleep(time.Second)
		shutdown(t, e2)
		var dbKey, apiKey string
		for k := range before.m {
			switch {
			case strings.HasSuffix(k, "db"):
				dbKey = k
			case strings.HasSuffix(k, "api"):
				apiKey = k
			}
		}
		if n := ks.written[dbKey]; n != 0 {
			t.Errorf("db's unchanged record written %d times after the restart, want none", n)
		}
		if got, want := string(crash.m[dbKey]), string(before.m[dbKey]); got != want {
			t.Errorf("db's record changed: %x, want %x", got, want)
		}
		if n := ks.written[apiKey]; n == 0 {
			t.Error("api's record, whose attempt the restart failed, was not written")
		}
		if string(crash.m[apiKey]) == string(before.m[apiKey]) {
			t.Error("api's record is as before the restart: want its attempt counted as failed")
		}
	})
}

// A crash while a remediation runs: after the restart the attempt counts
// as failed and the next one is attempt 2, not 1.
func TestCrashMidRemediationCountsOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		target := &switchable{}
		target.down.Store(true)
		var mu sync.Mutex
		var attempts []int
		hang := make(chan struct{})
		fix := intervene.RemediatorFunc(func(ctx context.Context, inc intervene.Incident) error {
			mu.Lock()
			attempts = append(attempts, inc.Attempt)
			mu.Unlock()
			select {
			case <-hang:
			case <-ctx.Done():
			}
			return errors.New("still broken")
		})
		mon := cpra.Monitor{Name: "api", Interval: time.Second, Check: target, Remediate: fix,
			Policy: intervene.Policy{MaxAttempts: 3, Timeout: time.Minute}}
		e1, _ := cpra.New(cpra.WithStore(st, time.Minute))
		e1.Add(mon)
		e1.Start(context.Background())
		time.Sleep(5 * time.Second) // down, attempt 1 hangs
		synctest.Wait()
		crash := st.snapshot() // what a kill -9 now would leave
		close(hang)
		shutdown(t, e1)

		rec := &recorder{}
		e2, err := cpra.New(cpra.WithNotifier(rec), cpra.WithStore(crash, time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := e2.Add(mon)
		e2.Start(context.Background())
		time.Sleep(20 * time.Second)
		s, _ := e2.Status(id)
		shutdown(t, e2)
		mu.Lock()
		defer mu.Unlock()
		if len(attempts) < 2 || attempts[0] != 1 || attempts[1] != 2 {
			t.Errorf("attempts %v, want 1 before the crash and 2 after it", attempts)
		}
		if s.Attempts < 2 || s.LastRemediationError == nil {
			t.Errorf("status %+v: want the attempts counting on", s)
		}
		for _, a := range rec.alerts {
			if a.Code == alert.Yellow {
				t.Errorf("a second yellow after the restart: %+v", a)
			}
		}
	})
}

// A remediation attempt starts only once its number is in the store: a
// kill -9 at the very moment the remediator is called (the store as it is
// then) restarts into the next attempt, never the same one again.
func TestAttemptWrittenBeforeItStarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		target := &switchable{}
		target.down.Store(true)
		var mu sync.Mutex
		var attempts []int
		var crash *memStore
		fix := intervene.RemediatorFunc(func(ctx context.Context, inc intervene.Incident) error {
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, inc.Attempt)
			if crash == nil {
				crash = st.snapshot() // a kill -9 as the attempt starts
			}
			return errors.New("still broken")
		})
		mon := cpra.Monitor{Name: "api", Interval: time.Second, Check: target, Remediate: fix,
			Policy: intervene.Policy{MaxAttempts: 5, Backoff: time.Hour, MaxBackoff: time.Hour, Timeout: time.Minute}}
		e1, _ := cpra.New(cpra.WithStore(st, time.Minute))
		e1.Add(mon)
		e1.Start(context.Background())
		time.Sleep(5 * time.Second) // down, attempt 1
		synctest.Wait()
		shutdown(t, e1)
		mu.Lock()
		if crash == nil {
			mu.Unlock()
			t.Fatal("no attempt before the crash")
		}
		snap := crash
		attempts = nil
		mu.Unlock()

		e2, err := cpra.New(cpra.WithStore(snap, time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := e2.Add(mon)
		e2.Start(context.Background())
		time.Sleep(2 * time.Hour) // the backoff, then the next attempt
		s, _ := e2.Status(id)
		shutdown(t, e2)
		mu.Lock()
		defer mu.Unlock()
		if len(attempts) == 0 || attempts[0] != 2 {
			t.Errorf("attempts after the restart %v, want them to go on from 2", attempts)
		}
		if s.Attempts < 2 {
			t.Errorf("status %+v: want the attempts counting on", s)
		}
	})
}

// Alerts on the way at the shutdown deadline stay in the store and go out
// after the restart, with their keys; nothing is dead-lettered.
func TestOutboxSurvivesTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		stuck := alert.NotifierFunc(func(ctx context.Context, _ alert.Alert) error {
			<-ctx.Done()
			return ctx.Err()
		})
		var dead atomic.Int64
		hook := func(alert.Alert, error) { dead.Add(1) }
		e1, _ := cpra.New(cpra.WithNotifier(stuck), cpra.WithStore(st, time.Minute), cpra.WithUndelivered(hook))
		for i := range 50 {
			e1.Add(cpra.Monitor{Name: fmt.Sprintf("m%d", i), Interval: time.Second, FailureThreshold: 1, Check: alwaysDown})
		}
		e1.Start(context.Background())
		time.Sleep(3 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		e1.Shutdown(ctx)
		cancel()
		if s := e1.Stats(); s.AlertsKept != 50 || dead.Load() != 0 || s.AlertsFailed != 0 {
			t.Fatalf("at the deadline: kept %d, dead-lettered %d; want 50 kept, none dead", s.AlertsKept, dead.Load())
		}

		rec := &recorder{}
		e2, _ := cpra.New(cpra.WithNotifier(rec), cpra.WithStore(st, time.Minute), cpra.WithUndelivered(hook))
		for i := range 50 {
			e2.Add(cpra.Monitor{Name: fmt.Sprintf("m%d", i), Interval: time.Second, FailureThreshold: 1, Check: alwaysDown})
		}
		e2.Start(context.Background())
		time.Sleep(3 * time.Second)
		shutdown(t, e2)
		if got := len(rec.alerts); got != 50 {
			t.Fatalf("after the restart %d alerts sent, want the 50 kept reds (and no new one)", got)
		}
		for _, a := range rec.alerts {
			if a.Code != alert.Red || a.Key != fmt.Sprintf("%s/%d/1", a.Monitor, a.Since.UnixMilli()) {
				t.Errorf("resent %+v, want the red with its key", a)
			}
		}
		if st.len() != 50 {
			t.Errorf("store holds %d records, want the 50 down monitors' states and no alert", st.len())
		}
	})
}

// The state of monitors not added again within the grace is dropped, and
// their alerts still on the way go to the dead-letter hook.
func TestUnclaimedStateDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		stuck := alert.NotifierFunc(func(ctx context.Context, _ alert.Alert) error { <-ctx.Done(); return ctx.Err() })
		e1, _ := cpra.New(cpra.WithNotifier(stuck), cpra.WithStore(st, time.Minute))
		e1.Add(cpra.Monitor{Name: "gone", Interval: time.Second, FailureThreshold: 1, Check: alwaysDown})
		e1.Add(cpra.Monitor{Name: "stays", Interval: time.Second, FailureThreshold: 1, Check: alwaysDown})
		e1.Start(context.Background())
		time.Sleep(3 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		e1.Shutdown(ctx)
		cancel()

		var dead []alert.Alert
		var mu sync.Mutex
		hook := func(a alert.Alert, _ error) { mu.Lock(); dead = append(dead, a); mu.Unlock() }
		e2, _ := cpra.New(cpra.WithNotifier(&recorder{}), cpra.WithStore(st, time.Minute), cpra.WithUndelivered(hook))
		e2.Add(cpra.Monitor{Name: "stays", Interval: time.Second, FailureThreshold: 1, Check: alwaysDown})
		e2.Start(context.Background())
		time.Sleep(30 * time.Second)
		if s := e2.Stats(); s.StatesDropped != 0 {
			t.Errorf("dropped %d states before the grace passed", s.StatesDropped)
		}
		time.Sleep(40 * time.Second)
		shutdown(t, e2)
		mu.Lock()
		defer mu.Unlock()
		if s := e2.Stats(); s.StatesDropped != 1 || len(dead) != 1 || dead[0].Monitor != "gone" {
			t.Errorf("dropped %d states, dead-lettered %v; want gone's state dropped and its red dead-lettered", s.StatesDropped, dead)
		}
		if st.len() != 1 {
			t.Errorf("store holds %d records, want stays' only", st.len())
		}
	})
}

// A store that refuses writes does not stop the engine: alerts go out, the
// failures are counted, and the writes go through once it recovers.
func TestStoreFailuresCountedAndRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		st.fail.Store(true)
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec), cpra.WithStore(st, time.Minute))
		e.Add(cpra.Monitor{Name: "db", Interval: time.Second, FailureThreshold: 1, Check: alwaysDown})
		e.Start(context.Background())
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := rec.codes(""); got != "red" || e.Stats().StoreFailures == 0 {
			t.Errorf("with a full disk: sent %q, %d failures; want the red and the failures counted", got, e.Stats().StoreFailures)
		}
		st.fail.Store(false)
		time.Sleep(10 * time.Second)
		shutdown(t, e)
		if st.len() != 1 {
			t.Errorf("store holds %d records after it recovered, want the down monitor's state", st.len())
		}
	})
}

// A store with a record the engine cannot read is refused by New, naming
// the record.
func TestCorruptRecordRefused(t *testing.T) {
	st := newMemStore()
	st.m["m\x00db"] = []byte{1, 99, 0, 0}
	if _, err := cpra.New(cpra.WithStore(st, 0)); err == nil {
		t.Fatal("New accepted a store with a bad record")
	} else if want := `monitor "db"`; !contains(err.Error(), want) {
		t.Errorf("error %q does not name the record (%s)", err, want)
	}
	st.m = map[string][]byte{"m\x00db": {9}}
	if _, err := cpra.New(cpra.WithStore(st, 0)); err == nil || !contains(err.Error(), "newer") {
		t.Errorf("a record of a newer format: %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

// An update of a monitor in an outage keeps the episode: no second yellow
// or red, and one green with the same Since.
func TestUpdateKeepsTheEpisode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		e, _ := cpra.New(cpra.WithNotifier(rec))
		target := &switchable{}
		target.down.Store(true)
		id, _ := e.Add(cpra.Monitor{Name: "db", Interval: time.Second, Check: target})
		e.Start(context.Background())
		time.Sleep(5 * time.Second)
		id2, err := e.Update(id, cpra.Monitor{Name: "db", Interval: 2 * time.Second, Check: target, FailureThreshold: 5,
			Labels: map[string]string{"team": "core"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Status(id); !errors.Is(err, cpra.ErrNotFound) {
			t.Errorf("the old ID after an update: %v, want ErrNotFound", err)
		}
		if _, err := e.Update(id2, cpra.Monitor{Name: "other", Check: target}); err == nil {
			t.Errorf("an update that renames was accepted")
		}
		st, _ := e.Status(id2)
		if st.State != cpra.StateDown || st.Interval != 2*time.Second || st.Labels["team"] != "core" {
			t.Errorf("after the update: %+v, want still down with the new settings", st)
		}
		time.Sleep(10 * time.Second)
		target.down.Store(false)
		time.Sleep(10 * time.Second)
		shutdown(t, e)
		if got := rec.codes(""); got != "yellow red green" {
			t.Errorf("alerts %q, want yellow red green: one episode across the update", got)
		}
		if rec.alerts[2].Since != rec.alerts[1].Since {
			t.Errorf("green's Since %v, red's %v", rec.alerts[2].Since, rec.alerts[1].Since)
		}
	})
}

// A crash during the last attempt: at the restart that attempt counts as
// failed and the monitor goes red before the engine starts; that red is
// sent once it runs, and the green follows it.
func TestRedRaisedAtRestartIsSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		target := &switchable{}
		target.down.Store(true)
		hang := make(chan struct{})
		fix := intervene.RemediatorFunc(func(ctx context.Context, _ intervene.Incident) error {
			select {
			case <-hang:
			case <-ctx.Done():
			}
			return errors.New("still broken")
		})
		mon := cpra.Monitor{Name: "api", Interval: time.Second, Check: target, Remediate: fix,
			Policy: intervene.Policy{Timeout: time.Minute}}
		e1, _ := cpra.New(cpra.WithNotifier(&recorder{}), cpra.WithStore(st, time.Minute))
		e1.Add(mon)
		e1.Start(context.Background())
		time.Sleep(5 * time.Second) // yellow told, attempt 1 (the only one) hangs
		synctest.Wait()
		crash := st.snapshot()
		close(hang)
		shutdown(t, e1)

		rec := &recorder{}
		e2, _ := cpra.New(cpra.WithNotifier(rec), cpra.WithStore(crash, time.Minute))
		e2.Add(mon) // the interrupted attempt fails: red, before Start
		e2.Start(context.Background())
		time.Sleep(3 * time.Second)
		target.down.Store(false)
		time.Sleep(5 * time.Second)
		shutdown(t, e2)
		if got := rec.codes(""); got != "red green" {
			t.Errorf("after the restart: %q, want red green", got)
		}
	})
}
