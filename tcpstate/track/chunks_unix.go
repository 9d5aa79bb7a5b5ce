//go:build unix

package track

import "golang.org/x/sys/unix"

func mapChunk(n int) ([]byte, error) {
	return unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
}

func unmapChunk(c []byte) { unix.Munmap(c) }
