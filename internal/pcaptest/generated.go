package pcaptest

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"synfin/gen"
	"synfin/wire"
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

// GeneratedFrames returns the frames of Generated(tb, cfg), each with its
// own copy of the data. An error fails the test.
func GeneratedFrames(tb testing.TB, cfg gen.Config) []wire.Frame {
	tb.Helper()
	frames, err := Read(bytes.NewReader(Generated(tb, cfg)))
	if err != nil {
		tb.Fatal(err)
	}
	return frames
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
