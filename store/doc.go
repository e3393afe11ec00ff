// Package store keeps an engine's state across restarts: it has the
// implementations of [cpra.Store], one in a file and one in memory.
//
// # Overview
//
// [Open] opens a store kept in one file, a [File], written with bbolt (a
// B+tree in one file, mapped into memory, with copy-on-write pages and two
// alternating headers): no server, no other file beside it. Records live in
// key order; [File.Write] applies a group of changes in one transaction,
// synced to disk before it returns, so that a crash leaves either all of
// them or none; [File.Load] reads them all back, in key order.
//
// Measured on a 2-core virtual machine: a million records of a 16-byte key
// and a 60-byte value open (with the check below) and load in about 0.1 s.
// They take 95 bytes each on disk when written in key order or after
// [File.Compact]; written in random order, pages are left 50 to 100 % full,
// and the file takes 170 bytes a record and more, which [File.Compact] gives
// back in about two seconds. Synced writes of changes to random records of
// a million reach about 3,000 records a second one at a time, 21,000 in
// groups of 100, 33,000 in groups of 1,000 and 55,000 in groups of 10,000:
// each Write costs two syncs, and rewrites every page it changes.
//
// [Memory] returns a [Mem], a store in memory with the same behaviour, for
// tests and for embedders who want the engine's semantics without a disk.
// [Mem.Len], [Mem.Get] and [Mem.FailWrites] let a test look inside it and
// make it fail as a full disk would.
//
// The package cpra does not import this one: an embedder that keeps no
// state does not link bbolt.
//
// # Faults
//
// [Open] reads the whole file, page by page, before it hands it to bbolt,
// which trusts what it maps: a damaged page number or offset makes bbolt
// read outside the file, a fault that no recover catches. The check follows
// every reference, and bounds every element, key and value by its page; it
// checks that keys are in order, that no page is used twice, and that every
// page is either in use or listed free. It takes about 35 ms for a million
// records. A file that fails it gives a [*CorruptError] that names the file
// and the byte offset of the damage: a truncated file, a damaged header or
// page, a file that is not a store at all. A file whose newer header is
// damaged, as by a crash while it was written, is not corrupt: it opens as
// it was at the Write before.
//
// Damage found while the file is open (another program truncating or
// changing it) makes Load and Write return a [*CorruptError] too, with the
// offset where known, instead of crashing the process.
//
// A damaged file is never wiped. [Open] fails and leaves it alone, unless
// asked to start fresh with [Fresh]; then, and with [Reset], it is renamed
// with the suffix ".aside-" and the time, and [File.MovedAside] tells where.
//
// A file written by a newer version of the format gives a [*VersionError]
// (wrapping [ErrNewerVersion]) that names both versions, and is left alone:
// a newer build can still read it.
//
// When the disk is full or fails, Write returns the error and changes
// nothing: the records are as they were, and the same Write can be retried,
// and succeeds once there is room. A failed [File.Compact] leaves the old
// file in place.
//
// Only one process opens a file at a time: it holds an advisory lock on it.
// Another process's [Open] waits for it up to [LockTimeout] and fails with
// [ErrLocked].
//
// # Concurrency
//
// A [File] and a [Mem] are safe for concurrent use. Writes are applied one
// at a time, in the order they are called; a Load sees the records as of
// the last Write that returned before it began, and goes on while Writes
// are applied: a long Load holds back only a Write that must grow the
// file's mapping in memory. So a Load's callback must not call Write on a
// File: that Write could wait for the Load to end.
// [File.Compact] and [File.Close] wait for Loads and Writes under way, and
// those that follow wait for them.
package store
