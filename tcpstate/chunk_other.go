//go:build !unix

package tcpstate

func newChunk(n int) []byte { return make([]byte, 0, n) }

func freeChunk([]byte) {}
