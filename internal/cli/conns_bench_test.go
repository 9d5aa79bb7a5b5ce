package cli

import (
	"context"
	"io"
	"os"
	"testing"
)

// BenchmarkConnsFile runs conns over the capture named by
// SYNFIN_BENCH_FILE (for example the reference workload from synfin gen),
// for profiling with -cpuprofile and -memprofile.
func BenchmarkConnsFile(b *testing.B) {
	file := os.Getenv("SYNFIN_BENCH_FILE")
	if file == "" {
		b.Skip("SYNFIN_BENCH_FILE is not set")
	}
	for _, mode := range []struct {
		name string
		args []string
	}{{"table", nil}, {"json", []string{"--json"}}} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				env := &Env{Ctx: context.Background(), Stdout: io.Discard, Stderr: io.Discard}
				if err := runConns(env, append([]string{"-r", file}, mode.args...)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
