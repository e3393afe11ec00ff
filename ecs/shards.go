package ecs

import (
	ark "github.com/mlange-42/ark/ecs"
)

// ark keeps the monitors with the same components in one table and, when
// the table fills, doubles its capacity. One table for a whole fleet then
// holds up to twice the rows it needs: a million monitors fit 2^20 rows
// with 5 % unused, but 1.1 million take 2^21, with 48 % unused, 64 bytes a
// row. So the store files monitors in tables of at most ShardRows each:
// it fills one, then starts the next, and a table, once full, has no
// unused row. What tells the tables apart is a set of tag components
// that hold no data: shard s carries the tags of the bits set in s.
// Only the table being filled of each mix of components has room to
// spare, less than its own rows.

// ShardRows is the most monitors of one mix of components a table holds.
const ShardRows = 1 << 16

// shardBits is the number of tags: enough shards for MaxMonitors.
const shardBits = 8

var _ [ShardRows<<shardBits - (MaxMonitors + 2)]struct{} // the shards hold MaxMonitors

// The tags. They are types of their own, so that ark gives each an ID;
// they hold nothing and take no memory.
type (
	shard0 struct{}
	shard1 struct{}
	shard2 struct{}
	shard3 struct{}
	shard4 struct{}
	shard5 struct{}
	shard6 struct{}
	shard7 struct{}
)

func shardTags(w *ark.World) [shardBits]ark.ID {
	return [shardBits]ark.ID{ark.ComponentID[shard0](w), ark.ComponentID[shard1](w), ark.ComponentID[shard2](w),
		ark.ComponentID[shard3](w), ark.ComponentID[shard4](w), ark.ComponentID[shard5](w), ark.ComponentID[shard6](w),
		ark.ComponentID[shard7](w)}
}

// optionals is the number of [Optional]'s components; a mix has a bit
// for each, in the order of [Store]'s ids after the first three.
const optionals = 5

// mixes is the number of mixes of optional components.
const mixes = 1 << optionals

// mixPlugins is the mix of a monitor whose only optional component is
// [Plugins].
const mixPlugins = 1

// shards counts the monitors of each mix in each shard.
type shards struct {
	rows uint32 // ShardRows; less in tests
	fill [mixes]struct {
		n    []uint32 // monitors in each shard
		room int      // the lowest shard that may have room
	}
}

// take returns the shard a new monitor of mix goes to, the lowest with
// room, and counts it there.
func (x *shards) take(mix uint8) uint32 {
	f := &x.fill[mix]
	for f.room < len(f.n) && f.n[f.room] >= x.rows {
		f.room++
	}
	if f.room == len(f.n) {
		f.n = append(f.n, 0)
	}
	f.n[f.room]++
	return uint32(f.room)
}

// give counts a monitor of mix out of shard s.
func (x *shards) give(mix uint8, s uint32) {
	f := &x.fill[mix]
	f.n[s]--
	f.room = min(f.room, int(s))
}

// mixOf returns the mix of optional components opt holds.
func mixOf(opt *Optional) uint8 {
	var m uint8
	for i, has := range [optionals]bool{opt.Plugins != nil, opt.Meta != nil, opt.Ring != nil, opt.Deps != nil, opt.Labelled} {
		if has {
			m |= 1 << i
		}
	}
	return m
}

// placeOf returns the mix and the shard of a live monitor.
func (s *Store) placeOf(e Entity) (mix uint8, shard uint32) {
	u := s.World.Unsafe()
	for i, id := range s.ids[1 : 1+optionals] {
		if u.HasUnchecked(e, id) {
			mix |= 1 << i
		}
	}
	for i, id := range s.tags {
		if u.HasUnchecked(e, id) {
			shard |= 1 << i
		}
	}
	return mix, shard
}
