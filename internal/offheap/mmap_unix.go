//go:build unix && !race

package offheap

import "syscall"

const mappable = true

// mapAnon maps size bytes of zeroed memory, rounded up to whole pages, or
// returns nil.
func mapAnon(size int) []byte {
	page := syscall.Getpagesize()
	size = (size + page - 1) &^ (page - 1)
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil
	}
	return mem
}

func unmap(mem []byte) {
	if err := syscall.Munmap(mem); err != nil {
		panic("offheap: munmap: " + err.Error())
	}
}
