//go:build linux && !race

package offheap

import "golang.org/x/sys/unix"

// remap gives mem, a mapping of mapAnon, the new size (a whole number of
// pages), in place or elsewhere: the kernel moves the pages, so nothing is
// copied and the pages in use are not faulted in again, as they would be
// in a new mapping. Pages added are zero. It returns nil when the kernel
// refuses; mem is then unchanged.
func remap(mem []byte, size int) []byte {
	b, err := unix.Mremap(mem, size, unix.MREMAP_MAYMOVE)
	if err != nil {
		return nil
	}
	return b
}
