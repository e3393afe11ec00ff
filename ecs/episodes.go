package ecs

import (
	"math/bits"

	"github.com/ziad/cpra/internal/episode"
	"github.com/ziad/cpra/internal/offheap"
)

// episodes holds the open episodes, by monitor. An episode opens at a
// monitor's first failed check and most close at its next, passing, one.
//
// Kept apart from the components, an episode leaves the monitor's row
// where it is; as a component, it would move the whole row (72 bytes and
// more) to another archetype table and back, and leave both tables sized
// for their peaks: 120 to 240 bytes a failing monitor. Only the checks of
// failing monitors look here.
//
// The episodes are packed in the first n slots of a list of fixed chunks,
// each slot with its monitor, and found through an open-addressing index
// of 4-byte slot numbers keyed by the slots' monitors, between three
// eighths and three quarters full. A slot holds plain values (40 bytes),
// so a chunk's slots are an array outside the Go heap, which the
// collector's doubling does not reach; the last check error of each slot,
// an interface value, is in an array of the chunk's on the heap: about
// 63 bytes an episode, of which 16 on the heap. (A Go map of pointers to
// episodes took 70 to 95 bytes with the episode, all on the heap, and kept
// its peak size until it was made again.) When an episode ends, the last
// slot moves into its place, so the slots stay packed, and the chunks and
// the index past what the open episodes need are let go as they empty: a
// large outage's memory goes back once its episodes close.
type episodes struct {
	chunks []epChunk
	n      int                   // open episodes, in slots [0, n)
	index  offheap.Array[uint32] // 0: empty; else a slot's number plus one
	shift  uint8                 // 64 - log2(len(index.S))
}

// epSlot is an open episode and its monitor.
type epSlot struct {
	ep    episode.Ep
	owner Entity
}

// epChunkLen is the number of slots in a chunk: 80 KiB of slots, enough
// to be mapped outside the heap, and 32 KiB of errors.
const epChunkLen = 2048

type epChunk struct {
	slots offheap.Array[epSlot]
	errs  *[epChunkLen]error
}

// minIndex is the smallest index that holds anything.
const minIndex = 16

func (x *episodes) slot(i uint32) *epSlot { return &x.chunks[i/epChunkLen].slots.S[i%epChunkLen] }

func (x *episodes) err(i uint32) *error { return &x.chunks[i/epChunkLen].errs[i%epChunkLen] }

// home is the place in the index where a search for e begins.
func (x *episodes) home(e Entity) int {
	h := (uint64(e.ID())<<32 | uint64(e.Gen())) * 0x9e3779b97f4a7c15
	return int(h >> x.shift)
}

// find returns the place in the index of e's entry and true, or the empty
// place where the search for it ended and false. The index must not be
// empty.
func (x *episodes) find(e Entity) (int, bool) {
	mask := len(x.index.S) - 1
	for i := x.home(e); ; i = (i + 1) & mask {
		v := x.index.S[i]
		if v == 0 {
			return i, false
		}
		if x.slot(v-1).owner == e {
			return i, true
		}
	}
}

func (x *episodes) get(e Entity) (*episode.Ep, *error) {
	if x.n == 0 {
		return nil, nil
	}
	if i, ok := x.find(e); ok {
		k := x.index.S[i] - 1
		return &x.slot(k).ep, x.err(k)
	}
	return nil, nil
}

func (x *episodes) open(e Entity) (*episode.Ep, *error) {
	if ep, err := x.get(e); ep != nil {
		return ep, err
	}
	if (x.n+1)*4 > len(x.index.S)*3 {
		x.resize(max(minIndex, 2*len(x.index.S)))
	}
	if x.n == len(x.chunks)*epChunkLen {
		x.chunks = append(x.chunks, epChunk{offheap.Make[epSlot](epChunkLen), new([epChunkLen]error)})
	}
	k := uint32(x.n)
	s := x.slot(k)
	s.owner = e
	i, _ := x.find(e)
	x.index.S[i] = k + 1
	x.n++
	return &s.ep, x.err(k)
}

func (x *episodes) end(e Entity) {
	if x.n == 0 {
		return
	}
	i, ok := x.find(e)
	if !ok {
		return
	}
	at := x.index.S[i] - 1
	x.unindex(i)
	last := uint32(x.n - 1)
	if at != last {
		moved := x.slot(last)
		*x.slot(at), *x.err(at) = *moved, *x.err(last)
		j, _ := x.find(moved.owner)
		x.index.S[j] = at + 1
	}
	*x.slot(last), *x.err(last) = epSlot{}, nil
	x.n--
	switch {
	case x.n == 0:
		x.index.Free()
		for k := range x.chunks {
			x.chunks[k].slots.Free()
		}
		*x = episodes{}
		return
	case len(x.index.S) > minIndex && x.n*8 < len(x.index.S):
		x.resize(len(x.index.S) / 2)
	}
	// One chunk to spare, so that an episode opening and one closing at
	// a chunk's edge do not make and drop a chunk each time.
	if need := (x.n + epChunkLen - 1) / epChunkLen; len(x.chunks) > need+1 {
		k := len(x.chunks) - 1
		x.chunks[k].slots.Free()
		x.chunks[k] = epChunk{}
		x.chunks = x.chunks[:k]
	}
}

// unindex empties the index's place i, moving back each later entry of
// the run whose search passes the hole, so that no search stops short of
// its entry.
func (x *episodes) unindex(i int) {
	mask := len(x.index.S) - 1
	for j := (i + 1) & mask; x.index.S[j] != 0; j = (j + 1) & mask {
		if h := x.home(x.slot(x.index.S[j] - 1).owner); (j-h)&mask >= (j-i)&mask {
			x.index.S[i] = x.index.S[j]
			i = j
		}
	}
	x.index.S[i] = 0
}

// resize makes an index of n places, a power of two, for the open
// episodes.
func (x *episodes) resize(n int) {
	x.index.Free() // the slots are found again from the chunks
	x.index, x.shift = offheap.Make[uint32](n), uint8(64-bits.TrailingZeros(uint(n)))
	for k := range x.n {
		i, _ := x.find(x.slot(uint32(k)).owner)
		x.index.S[i] = uint32(k) + 1
	}
}

// Episode returns the state of the open episode of e and the place of its
// most recent check error, or nil and nil. The state is outside the Go
// heap, the error on it. The pointers may be kept and written through
// until an episode of any monitor ends (see [Store.EndEpisode],
// [Store.Delete]), which may move another one.
func (s *Store) Episode(e Entity) (*episode.Ep, *error) { return s.eps.get(e) }

// OpenEpisode returns what [Store.Episode] does, opening an empty episode
// if e has none.
func (s *Store) OpenEpisode(e Entity) (*episode.Ep, *error) { return s.eps.open(e) }

// EndEpisode closes the episode of e, if it has one.
func (s *Store) EndEpisode(e Entity) { s.eps.end(e) }
