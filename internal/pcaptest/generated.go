package pcaptest

import (
	"bytes"
	"os"
	"path/filepath"
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

// GeneratedFile writes Generated(tb, cfg) to a file in the test's
// temporary folder and returns its path.
func GeneratedFile(tb testing.TB, cfg gen.Config) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "gen.pcap")
	if err := os.WriteFile(path, Generated(tb, cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}
