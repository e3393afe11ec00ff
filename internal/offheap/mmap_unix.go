//go:build unix && !race

package offheap

import "golang.org/x/sys/unix"

const mappable = true

// mapAnon maps size bytes of zeroed memory, a whole number of pages, or
// returns nil.
func mapAnon(size int) []byte {
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil
	}
	return mem
}

func unmap(mem []byte) {
	if err := unix.Munmap(mem); err != nil {
		panic("offheap: munmap: " + err.Error())
	}
}
