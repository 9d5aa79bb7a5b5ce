//go:build unix

package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"synfin/gen"
)

// cpuTime is the CPU time this process has used, in user and system
// mode, on every thread.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkViews runs the rich outputs beside conns --json on generated
// workloads: a tenth of the reference mix, and one long transfer at two
// sizes, in order and out of order, so that the outputs' cost per
// segment can be compared across sizes. Besides ns/op it reports
// cpu-ns/op, the process's CPU time per run, which a busy machine
// disturbs less than the wall clock.
func BenchmarkViews(b *testing.B) {
	dir := b.TempDir()
	for _, w := range []struct {
		name string
		cfg  gen.Config
	}{
		{"mix=20k", gen.Config{Conns: 20000, Seed: 1}},
		{"transfer=100k", gen.Config{Transfer: 100_000, Seed: 1}},
		{"transfer=400k", gen.Config{Transfer: 400_000, Seed: 1}},
		{"transfer=400k-reordered", gen.Config{Transfer: 400_000, Seed: 1, Reorder: true}},
	} {
		file := filepath.Join(dir, w.name+".pcap")
		f, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := gen.Write(f, w.cfg); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		for _, v := range []struct {
			name string
			run  func(*Env, []string) error
			args []string
		}{
			{"conns-json", runConns, []string{"--json"}},
			{"explain-json", runExplain, []string{"--json"}},
			{"explain", runExplain, nil},
			{"explain-full", runExplain, []string{"--full"}},
			{"diagram", runDiagram, nil},
			{"diagram-svg", runDiagram, []string{"--format", "svg"}},
		} {
			b.Run(w.name+"/"+v.name, func(b *testing.B) {
				b.ReportAllocs()
				cpu := cpuTime(b)
				for b.Loop() {
					env := &Env{Ctx: context.Background(), Stdout: io.Discard, Stderr: io.Discard}
					if err := v.run(env, append([]string{"-r", file}, v.args...)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
		os.Remove(file)
	}
}
