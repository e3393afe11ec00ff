//go:build linux && !race

package offheap

import "golang.org/x/sys/unix"

const mappable = true

// mapAnon maps size bytes of zeroed memory, a whole number of pages, or
// returns nil.
func mapAnon(size int) []byte {
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil
	}
	return mem
}

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

func unmap(mem []byte) {
	if err := unix.Munmap(mem); err != nil {
		panic("offheap: munmap: " + err.Error())
	}
}
