//go:build !unix || race

package offheap

// Without mmap, or with the race detector, which watches only the heap's
// memory, every array is on the heap.
const mappable = false

func mapAnon(int) []byte { return nil }

func remap([]byte, int) []byte { return nil }

func unmap([]byte) {}
