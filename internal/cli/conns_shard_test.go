package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/gen"
	"synfin/input"
	"synfin/internal/corpus"
	"synfin/wire"
)

// connsWith runs conns over file with n trackers.
func connsWith(t *testing.T, n int, file string, args ...string) (string, error) {
	t.Helper()
	defer func(old int, check bool) { connsShards, connsLoadCheck = old, check }(connsShards, connsLoadCheck)
	connsShards, connsLoadCheck = n, false
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	var out bytes.Buffer
	env := &Env{Ctx: context.Background(), Stdout: &out, Stderr: &bytes.Buffer{}}
	before := shardedRuns.Load()
	err := runConns(env, append([]string{"-r", file}, args...))
	if sharded := shardedRuns.Load() != before; sharded != (n > 1) {
		t.Fatalf("%d trackers asked for, sharded: %v", n, sharded)
	}
	return out.String(), err
}

// pcapOf writes frames as a microsecond pcap of raw IP (link type 101)
// or Ethernet (1).
func pcapOf(frames []wire.Frame, link uint32) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, 262144)
	b = binary.LittleEndian.AppendUint32(b, link)
	for _, f := range frames {
		b = binary.LittleEndian.AppendUint32(b, uint32(f.Time/1e9))
		b = binary.LittleEndian.AppendUint32(b, uint32(f.Time%1e9/1e3))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Data)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Data)))
		b = append(b, f.Data...)
	}
	return b
}

// TestShardedConnsSameAsOne checks that conns on several trackers prints
// what it prints on one, byte for byte, in the same order: on a
// generated workload, on one whose clock goes back half way (where the
// trackers become one), and on every capture of the corpus.
func TestShardedConnsSameAsOne(t *testing.T) {
	dir := t.TempDir()
	var pcap bytes.Buffer
	if _, err := gen.Write(&pcap, gen.Config{Conns: 4000, Seed: 11, Rate: 100}); err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(dir, "gen.pcap")}
	if err := os.WriteFile(files[0], pcap.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same with the clock set back by 90 s at one frame half way.
	src, err := input.FromReader(bytes.NewReader(pcap.Bytes()), input.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var frames []wire.Frame
	var link wire.LinkType
	for {
		var f wire.Frame
		if src.Next(&f) != nil {
			break
		}
		f.Data = append([]byte(nil), f.Data...)
		link = f.Link
		frames = append(frames, f)
	}
	frames[len(frames)/2].Time -= 90e9
	frames[len(frames)/2+1].Time -= 1e9
	back := filepath.Join(dir, "back.pcap")
	linkType := map[wire.LinkType]uint32{wire.LinkEthernet: 1, wire.LinkRaw: 101}[link]
	if err := os.WriteFile(back, pcapOf(frames, linkType), 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, back)
	filepath.WalkDir(corpus.Dir(t), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})

	for _, file := range files {
		for _, args := range [][]string{nil, {"--json"}, {"--json", "tcp port 9988 or tcp port 80"}} {
			want, wantErr := connsWith(t, 1, file, args...)
			for _, n := range []int{2, 3} {
				got, err := connsWith(t, n, file, args...)
				if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
					t.Fatalf("%s %v, %d trackers: error %v, want %v", file, args, n, err, wantErr)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("%s %v, %d trackers (-one +sharded):\n%s", file, args, n, d)
				}
			}
		}
	}
}

// TestBusy reads /proc/loadavg samples: busy needs both a high average
// and, in every sample, as many other running tasks as processors to
// spare.
func TestBusy(t *testing.T) {
	for _, c := range []struct {
		samples []string
		procs   int
		want    bool
	}{
		{[]string{"0.10 0.20 0.30 1/80 100"}, 2, false},
		{[]string{"2.10 1.90 1.50 2/90 100", "2.10 1.90 1.50 3/90 100"}, 2, true},  // another task running throughout
		{[]string{"1.60 1.90 1.50 1/90 100"}, 2, false},                            // a job that just ended
		{[]string{"1.10 1.10 1.10 3/90 100", "1.10 1.10 1.10 1/90 100"}, 2, false}, // blips of threads
		{[]string{"1.00 1.00 1.00 2/90 100"}, 2, false},                            // the average leaves a processor
		{[]string{"3.50 3.00 3.00 3/90 100"}, 4, false},
		{[]string{"3.50 3.00 3.00 4/90 100", "3.50 3.00 3.00 5/90 100"}, 4, true},
		{[]string{"2.50 2.00 2.00 x/90 100"}, 2, true},
		{[]string{"2.50"}, 2, false},
		{nil, 2, false},
	} {
		if got := busy(c.samples, c.procs); got != c.want {
			t.Errorf("busy(%q, %d) = %v, want %v", c.samples, c.procs, got, c.want)
		}
	}
}
