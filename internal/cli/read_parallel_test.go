package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"synfin/gen"
	"synfin/internal/corpus"
)

// readWith runs read with --jobs n (1: the sequential loop) and returns
// what it printed and its exit code.
func readWith(t *testing.T, n int, args ...string) (string, string, int) {
	t.Helper()
	return execRead(t, append([]string{"--jobs", strconv.Itoa(n)}, args...)...)
}

// sameParallel checks that read prints the same with 2 and 3 printers as
// with one.
func sameParallel(t *testing.T, args ...string) {
	t.Helper()
	wantOut, wantErr, wantCode := readWith(t, 1, args...)
	for _, n := range []int{2, 3} {
		out, errOut, code := readWith(t, n, args...)
		if code != wantCode || errOut != wantErr {
			t.Errorf("%v with %d printers: exit %d, stderr %q; sequentially exit %d, stderr %q",
				args, n, code, errOut, wantCode, wantErr)
		}
		if out != wantOut {
			t.Errorf("%v with %d printers: output differs from the sequential one at line %d (%d bytes, want %d)",
				args, n, firstDiffLine(out, wantOut), len(out), len(wantOut))
		}
	}
}

func firstDiffLine(a, b string) int {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// TestReadParallelGenerated compares parallel and sequential printing on
// generated captures large enough for hundreds of batches, pcap and
// pcapng, whole and cut short inside a record.
func TestReadParallelGenerated(t *testing.T) {
	withGMT(t)
	dir := t.TempDir()
	var files []string
	for _, ng := range []bool{false, true} {
		var buf bytes.Buffer
		if _, err := gen.Write(&buf, gen.Config{Conns: 3000, Seed: 7, PcapNG: ng}); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, map[bool]string{false: "c.pcap", true: "c.pcapng"}[ng])
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		cut := name + ".cut"
		if err := os.WriteFile(cut, buf.Bytes()[:buf.Len()*2/3+7], 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name, cut)
	}
	for _, f := range files {
		for _, opts := range [][]string{
			{"-n", "-S"},
			{"-S", "-tttt", "-v", "-#"},
			{"-n", "-S", "-e", "-X"},
			{"-n", "-S", "-tt", "tcp[tcpflags] & tcp-syn != 0 or ip6"},
		} {
			sameParallel(t, append(opts, "-r", f)...)
		}
		// Options whose lines depend on earlier packets print on one job.
		for _, opts := range [][]string{{"-n"}, {"-n", "-S", "-ttt"}, {"-n", "-S", "-c", "5"}} {
			sameParallel(t, append(opts, "-r", f)...)
		}
	}
}

// TestReadParallelCorpus compares them on every capture of tcpdump's
// test corpus: link types, tunnels, damaged and non-TCP packets.
func TestReadParallelCorpus(t *testing.T) {
	withGMT(t)
	dir := corpus.Dir(t, "tcpdump")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".pcap") && !strings.HasSuffix(e.Name(), ".pcapng") {
			continue
		}
		n++
		f := filepath.Join(dir, e.Name())
		sameParallel(t, "-n", "-S", "-v", "-r", f)
		sameParallel(t, "-S", "-e", "-xx", "-r", f)
	}
	if n < 20 {
		t.Fatalf("only %d captures in the corpus", n)
	}
}

// TestReadParallelAllocs checks that printing in parallel allocates
// nothing per packet: a capture twice as long (twice the batches) costs
// no more allocations.
func TestReadParallelAllocs(t *testing.T) {
	mallocs := func(conns int) (uint64, int) {
		var capture bytes.Buffer
		st, err := gen.Write(&capture, gen.Config{Conns: conns, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		data := capture.Bytes()
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		n := ms.Mallocs
		var out, errb bytes.Buffer
		out.Grow(len(data)) // the output buffer's growth is not read's
		if code := Main(context.Background(), []string{"read", "-n", "-S", "--jobs", "2", "-r", "-"}, bytes.NewReader(data), &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		runtime.ReadMemStats(&ms)
		return ms.Mallocs - n, int(st.Packets)
	}
	mallocs(500) // warm up lazily built tables
	small, pkts1 := mallocs(3000)
	large, pkts2 := mallocs(6000)
	if per := float64(int64(large)-int64(small)) / float64(pkts2-pkts1); per > 0.001 {
		t.Errorf("%.4f allocations per packet (%d for %d packets, %d for %d)", per, small, pkts1, large, pkts2)
	}
}

// failAfter accepts n bytes, then fails every write.
type failAfter struct{ n int }

var errFull = errors.New("disk full")

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestReadParallelWriteError: a failing output stops the read with the
// error, sequentially and in parallel, without hanging.
func TestReadParallelWriteError(t *testing.T) {
	var capture bytes.Buffer
	if _, err := gen.Write(&capture, gen.Config{Conns: 3000, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2} {
		env := &Env{Ctx: context.Background(), Stdin: bytes.NewReader(capture.Bytes()), Stdout: &failAfter{n: 300000}, Stderr: io.Discard}
		err := runRead(env, []string{"-n", "-S", "--jobs", strconv.Itoa(n), "-r", "-"})
		if !errors.Is(err, errFull) || !strings.HasPrefix(err.Error(), "read: ") {
			t.Errorf("%d printers: error %v, want read: %v", n, err, errFull)
		}
	}
}
