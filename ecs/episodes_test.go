package ecs

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ziad/cpra/internal/episode"
)

// Episodes open, change and close without moving the monitor: its other
// components keep their values, the count and the scan of failing monitors
// follow, and a deleted monitor takes its episode with it, so that a
// monitor given its ID later starts with none.
func TestEpisodesFollowTheirMonitors(t *testing.T) {
	s := NewStore(0, 8)
	var ens []Entity
	for i := range 6 {
		en, ok := s.Create(fmt.Sprintf("m%d", i), nop, Schedule{Due: int64(100 + i)}, Health{LastLatency: uint32(i)}, Optional{})
		if !ok {
			t.Fatal("Create: name taken")
		}
		ens = append(ens, en)
	}
	boom := errors.New("boom")
	for _, i := range []int{4, 1, 3} {
		ep, lastErr := s.OpenEpisode(ens[i])
		*ep, *lastErr = episode.Ep{Start: int64(i)}, boom
	}
	if n := s.Failing(); n != 3 {
		t.Fatalf("Failing() = %d, want 3", n)
	}
	if ep, lastErr := s.Episode(ens[3]); ep == nil || ep.Start != 3 || *lastErr != boom {
		t.Fatalf("Episode(m3) = %+v; want Start 3, boom", ep)
	}
	if ep, lastErr := s.Episode(ens[2]); ep != nil || lastErr != nil {
		t.Fatal("m2 has an episode it was never given")
	}
	if h := s.Health(ens[4]); h.LastLatency != 4 || s.Scheds.Get(ens[4]).Due != 104 {
		t.Fatalf("m4's components changed with its episode: latency %d, due %d", h.LastLatency, s.Scheds.Get(ens[4]).Due)
	}
	keys, done := s.ScanFailing(0, true, 2, nil, nil)
	if done || len(keys) != 2 || keys[0].E != ens[1] || keys[1].E != ens[3] {
		t.Fatalf("first page %v, want m1 and m3 in order", keys)
	}
	keys, done = s.ScanFailing(uint32(keys[1].Key), false, 2, nil, nil)
	if !done || len(keys) != 1 || keys[0].E != ens[4] {
		t.Fatalf("second page %v (last %v), want m4, the last", keys, done)
	}

	ep, _ := s.Episode(ens[3])
	ep.Attempts = 2
	if again, lastErr := s.OpenEpisode(ens[3]); again != ep || again.Attempts != 2 || again.Start != 3 || *lastErr != boom {
		t.Fatalf("OpenEpisode on an open episode gave %+v, want the open one", again)
	}
	s.EndEpisode(ens[1])
	s.EndEpisode(ens[2]) // none open: nothing happens
	s.Delete(ens[4])
	if n := s.Failing(); n != 1 {
		t.Fatalf("Failing() = %d after one closed and one deleted, want 1", n)
	}
	again, _ := s.Create("again", nop, Schedule{Due: 1}, Health{}, Optional{})
	if ep, _ := s.Episode(again); ep != nil {
		t.Fatalf("a monitor created after a failing one was deleted (ID %d, was %d) has an episode", again.ID(), ens[4].ID())
	}
}

// The memory of a large outage goes back as its episodes close: the
// chunks and the index shrink to what the open ones need, and the open
// ones keep their values; once none is open, nothing is held.
func TestEpisodesShrinkAfterAnOutage(t *testing.T) {
	const n = 16 * epChunkLen
	s := NewStore(0, n)
	ens := make([]Entity, n)
	for i := range ens {
		ens[i], _ = s.Create(fmt.Sprintf("m%d", i), nop, Schedule{Due: 1}, Health{}, Optional{})
		ep, lastErr := s.OpenEpisode(ens[i])
		ep.Start, *lastErr = int64(i), fmt.Errorf("e%d", i)
	}
	if len(s.eps.chunks) != n/epChunkLen || len(s.eps.index.S) != 8*epChunkLen*4 {
		t.Fatalf("%d episodes in %d chunks and an index of %d places", n, len(s.eps.chunks), len(s.eps.index.S))
	}
	// Every other one of the first seven eighths closes, then the rest
	// of them: the survivors are scattered over the chunks first.
	for _, step := range []int{0, 1} {
		for i := step; i < n-n/8; i += 2 {
			s.EndEpisode(ens[i])
		}
	}
	if s.Failing() != n/8 {
		t.Fatalf("Failing() = %d, want %d", s.Failing(), n/8)
	}
	if c, x := len(s.eps.chunks), len(s.eps.index.S); c > n/8/epChunkLen+1 || x > 8*n/8 {
		t.Fatalf("%d episodes open hold %d chunks and an index of %d places, want at most %d and %d", n/8, c, x, n/8/epChunkLen+1, n)
	}
	for i := n - n/8; i < n; i++ {
		if ep, lastErr := s.Episode(ens[i]); ep == nil || ep.Start != int64(i) || (*lastErr).Error() != fmt.Sprintf("e%d", i) {
			t.Fatalf("episode of m%d lost in the shrink: %+v", i, ep)
		}
	}
	for _, en := range ens[n-n/8:] {
		s.EndEpisode(en)
	}
	if s.eps.chunks != nil || s.eps.index.S != nil || s.Failing() != 0 {
		t.Fatalf("no episode open, and still %d chunks and an index of %d places", len(s.eps.chunks), len(s.eps.index.S))
	}
}

// Against a Go map, through random opens, changes, ends and deletions of
// monitors: each monitor finds its own episode with the values and the
// error written to it, a pointer stays good until an episode ends, and the
// failing scan sees exactly the open ones.
func TestEpisodesAgainstAMap(t *testing.T) {
	const n = 3000
	s := NewStore(0, n)
	ens := make([]Entity, n)
	for i := range ens {
		ens[i], _ = s.Create(fmt.Sprintf("m%d", i), nop, Schedule{Due: 1}, Health{}, Optional{})
	}
	want := map[Entity]int64{}
	errs := map[int64]error{} // by the episode's start
	rng := rand.New(rand.NewPCG(1, 2))
	var held *episode.Ep // opened since the last end
	var heldEn Entity
	for step := range 60000 {
		i := rng.IntN(n)
		en := ens[i]
		switch r := rng.IntN(10); {
		case r < 5:
			ep, lastErr := s.OpenEpisode(en)
			if _, open := want[en]; !open && (*ep != (episode.Ep{}) || *lastErr != nil) {
				t.Fatalf("step %d: m%d's new episode is not empty: %+v, %v", step, i, ep, *lastErr)
			}
			ep.Start = int64(step)
			*lastErr = errors.New("failed")
			want[en], errs[int64(step)] = int64(step), *lastErr
			if h, _ := s.Episode(heldEn); held != nil && h != held {
				t.Fatalf("step %d: an episode moved while none ended", step)
			}
			if held == nil {
				held, heldEn = ep, en
			}
		case r < 9:
			s.EndEpisode(en)
			delete(want, en)
			held = nil
		default:
			s.Delete(en)
			delete(want, en)
			held = nil
			ens[i], _ = s.Create(fmt.Sprintf("m%d", i), nop, Schedule{Due: 1}, Health{}, Optional{})
		}
		if step%997 != 0 {
			continue
		}
		if s.Failing() != len(want) {
			t.Fatalf("step %d: Failing() = %d, want %d", step, s.Failing(), len(want))
		}
		for j, en := range ens {
			start, open := want[en]
			ep, lastErr := s.Episode(en)
			if (ep != nil) != open || open && (ep.Start != start || *lastErr != errs[start]) {
				t.Fatalf("step %d: m%d has episode %+v, want open %v from %d with its own error", step, j, ep, open, start)
			}
		}
		keys, _ := s.ScanFailing(0, true, n, nil, nil)
		if len(keys) != len(want) {
			t.Fatalf("step %d: the scan finds %d failing, want %d", step, len(keys), len(want))
		}
		for _, k := range keys {
			if _, open := want[k.E]; !open {
				t.Fatalf("step %d: the scan finds %v, which has no episode", step, k.E)
			}
		}
	}
	// The index's load stays within its bounds.
	if x := len(s.eps.index.S); s.Failing() > 0 && (s.Failing()*4 > x*3 || x > minIndex && s.Failing()*8 < x) {
		t.Fatalf("%d episodes in an index of %d places", s.Failing(), x)
	}
}

// The columns of schedules and healths, the wheel's chunks and the
// episodes' slots are outside the Go heap (except in a race build, which
// keeps them on it).
func TestPlainArraysOutsideTheHeap(t *testing.T) {
	const n = 60_000
	s := NewStore(0, n)
	for i := range n {
		en, _ := s.Create(fmt.Sprintf("m%d", i), nop, Schedule{Due: int64(i % 5000)}, Health{}, Optional{})
		s.Wheel.Insert(en, int64(i%5000))
		ep, lastErr := s.OpenEpisode(en)
		ep.Start, *lastErr = 1, errors.New("down")
	}
	var arrays []bool
	for k := range s.Scheds.blocks {
		arrays = append(arrays, s.Scheds.blocks[k].Mapped(), s.Healths.blocks[k].Mapped())
	}
	for _, b := range s.Wheel.blocks {
		arrays = append(arrays, b.Mapped())
	}
	for _, c := range s.eps.chunks {
		arrays = append(arrays, c.slots.Mapped())
	}
	if len(s.Scheds.blocks) < 2 || len(s.Wheel.blocks) < 2 || len(s.eps.chunks) < 2 {
		t.Fatalf("%d monitors fill %d blocks of each column, %d of wheel chunks and %d chunks of episodes, want two or more of each", n, len(s.Scheds.blocks), len(s.Wheel.blocks), len(s.eps.chunks))
	}
	for i, mapped := range arrays {
		if mapped == raceEnabled {
			t.Fatalf("array %d of %d (column blocks, wheel blocks, then episode chunks): mapped %v in a build with the race detector %v", i, len(arrays), mapped, raceEnabled)
		}
	}
}
