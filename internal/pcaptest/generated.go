package pcaptest

import (
	"bytes"
	"sync"
	"testing"

	"synfin/gen"
)

var (
	genMu   sync.Mutex
	genDone = map[gen.Config][]byte{}
)

// Generated returns the capture gen.Write writes for cfg, written once per
// test binary and shared: callers must not modify it. An error fails the
// test.
func Generated(tb testing.TB, cfg gen.Config) []byte {
	tb.Helper()
	genMu.Lock()
	defer genMu.Unlock()
	if b, ok := genDone[cfg]; ok {
		return b
	}
	var buf bytes.Buffer
	if _, err := gen.Write(&buf, cfg); err != nil {
		tb.Fatal(err)
	}
	genDone[cfg] = buf.Bytes()
	return buf.Bytes()
}
