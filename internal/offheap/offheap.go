// Package offheap holds memory outside the Go heap: large byte blocks
// and a uint64 map for data without pointers that a program keeps for a
// long time. The garbage collector neither scans them nor counts them
// towards its goal, so they cost their size in resident memory, not
// twice it.
package offheap

import (
	"sync"
	"unsafe"
)

// mapped records the blocks that Alloc mapped, so that Free never unmaps
// a block that came from the Go heap when mapping failed.
var (
	mu     sync.Mutex
	mapped = map[unsafe.Pointer]bool{}
)

// Alloc returns an empty slice with room for n bytes, zeroed.
func Alloc(n int) []byte {
	if b := mapMem(n); b != nil {
		mu.Lock()
		mapped[unsafe.Pointer(unsafe.SliceData(b))] = true
		mu.Unlock()
		return b[:0]
	}
	return make([]byte, 0, n)
}

// Blocks is the number of blocks mapped by Alloc and not yet freed, for
// tests that check that memory outside the Go heap is given back.
func Blocks() int {
	mu.Lock()
	defer mu.Unlock()
	return len(mapped)
}

// Free gives back a block from Alloc (any slice of it from its start).
func Free(b []byte) {
	p := unsafe.Pointer(unsafe.SliceData(b))
	mu.Lock()
	ok := mapped[p]
	delete(mapped, p)
	mu.Unlock()
	if ok {
		unmapMem(b[:cap(b)])
	}
}
