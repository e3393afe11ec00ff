package cpra

import "github.com/ziad/cpra/internal/offheap"

// OffHeapBytes returns the bytes that the engines and config Syncers of
// this process hold outside the Go heap: large arrays of plain values
// (an engine's record of its monitors' IDs, its name index, every
// monitor's schedule and health and the index of its labels, ark's record
// of its entities, its schedule's chunks and its open episodes, a
// Syncer's list of the monitors it runs), mapped from the operating
// system: about 71 bytes a monitor (76 for one with labels), and 48 more
// for each failing one. runtime.MemStats, runtime/metrics and GOMEMLIMIT do
// not count them; a program that sets a memory limit leaves room for them.
//
// At the default GOGC the heap grows to twice what is live before it is
// collected, so these arrays would cost twice their size on it. In a build
// with the race detector, and on systems without mmap, they are on the
// heap and OffHeapBytes returns 0.
func OffHeapBytes() int64 { return offheap.Mapped() }
