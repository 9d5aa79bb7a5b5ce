//go:build unix

package tcpstate

import "syscall"

// Snapshot chunks are mapped outside the Go heap: they hold no pointers,
// and bytes the garbage collector does not own do not double its heap
// goal.
func newChunk(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, 0, n)
	}
	return b[:0]
}

func freeChunk(b []byte) {
	syscall.Munmap(b[:cap(b)])
}
