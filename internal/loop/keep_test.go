package loop

import (
	"fmt"
	"testing"

	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/internal/persist"
)

// records is a Store holding records read once; it takes no writes.
type records struct{ kv [][2][]byte }

func (r *records) Load(fn func(key, value []byte) error) error {
	for _, kv := range r.kv {
		if err := fn(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

func (r *records) Write([]Change) error { return nil }

// TestKeptStatesLetGoOnceClaimed: after a restart, the kept states wait in
// a map until their monitors are added again; once every one is claimed
// the map goes too (a Go map keeps the room of its largest size: about
// 11 MB after a restart with 150k monitors failing, held for as long as
// the engine ran). A monitor's state is still given back to it.
func TestKeptStatesLetGoOnceClaimed(t *testing.T) {
	const n = 1000
	st := &records{}
	for i := range n {
		m := persist.Monitor{State: episode.New()}
		m.State.Phase, m.State.Fails = episode.Failing, 1
		m.State.Start = int64(1_000 + i)
		st.kv = append(st.kv, [2][]byte{persist.MonitorKey(fmt.Sprintf("m%d", i)), persist.AppendMonitor(nil, &m)})
	}
	e := newEngineWith(t, Config{Store: st})
	if got := len(e.keep.states); got != n {
		t.Fatalf("%d kept states loaded, want %d", got, n)
	}
	for i := range n {
		en := add(t, e, spec(fmt.Sprintf("m%d", i), nil, nil))
		if i == n-2 && e.keep.states == nil {
			t.Fatal("the map of kept states went before every state was claimed")
		}
		if ep, _ := e.store.Episode(en); ep == nil || ep.Start != int64(1_000+i) {
			t.Fatalf("m%d: episode %+v after the restart, want the kept one (start %d)", i, ep, 1_000+i)
		}
	}
	if e.keep.states != nil {
		t.Errorf("every kept state claimed, and the map (%d left) is still held", len(e.keep.states))
	}
}
