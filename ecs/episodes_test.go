package ecs

import (
	"errors"
	"fmt"
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
		*s.OpenEpisode(ens[i]) = Episode{Ep: episode.Ep{Start: int64(i)}, LastErr: boom}
	}
	if n := s.Failing(); n != 3 {
		t.Fatalf("Failing() = %d, want 3", n)
	}
	if ep := s.Episode(ens[3]); ep == nil || ep.Start != 3 || ep.LastErr != boom {
		t.Fatalf("Episode(m3) = %+v; want Start 3, boom", ep)
	}
	if s.Episode(ens[2]) != nil {
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

	ep := s.Episode(ens[3])
	ep.Attempts = 2
	if again := s.OpenEpisode(ens[3]); again != ep || again.Attempts != 2 || again.Start != 3 {
		t.Fatalf("OpenEpisode on an open episode gave %+v, want the open one", again)
	}
	s.EndEpisode(ens[1])
	s.EndEpisode(ens[2]) // none open: nothing happens
	s.Delete(ens[4])
	if n := s.Failing(); n != 1 {
		t.Fatalf("Failing() = %d after one closed and one deleted, want 1", n)
	}
	again, _ := s.Create("again", nop, Schedule{Due: 1}, Health{}, Optional{})
	if s.Episode(again) != nil {
		t.Fatalf("a monitor created after a failing one was deleted (ID %d, was %d) has an episode", again.ID(), ens[4].ID())
	}
}

// A map sized for a large outage is made again, smaller, once most of its
// episodes have closed; the open ones are kept.
func TestEpisodesShrinkAfterAnOutage(t *testing.T) {
	const n = 4 * shrinkFloor
	s := NewStore(0, n)
	ens := make([]Entity, n)
	for i := range ens {
		ens[i], _ = s.Create(fmt.Sprintf("m%d", i), nop, Schedule{Due: 1}, Health{}, Optional{})
		s.OpenEpisode(ens[i]).Start = int64(i)
	}
	before := s.eps.m
	for _, en := range ens[:n-n/8] {
		s.EndEpisode(en)
	}
	if s.Failing() != n/8 {
		t.Fatalf("Failing() = %d, want %d", s.Failing(), n/8)
	}
	if fmt.Sprintf("%p", s.eps.m) == fmt.Sprintf("%p", before) || s.eps.peak > n/4 {
		t.Fatalf("the map of %d episodes was not made again at %d (peak %d)", n, s.Failing(), s.eps.peak)
	}
	for i, en := range ens[n-n/8:] {
		if ep := s.Episode(en); ep == nil || ep.Start != int64(n-n/8+i) {
			t.Fatalf("episode of m%d lost in the shrink: %+v", n-n/8+i, ep)
		}
	}
}
