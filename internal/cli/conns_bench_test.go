package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
)

// BenchmarkConnsFile runs conns over the capture named by
// SYNFIN_BENCH_FILE (for example the reference workload from synfin gen)
// on one tracker and on two, for profiling
// with -cpuprofile and -memprofile and for the speed-up of sharding.
func BenchmarkConnsFile(b *testing.B) {
	file := os.Getenv("SYNFIN_BENCH_FILE")
	if file == "" {
		b.Skip("SYNFIN_BENCH_FILE is not set")
	}
	for _, mode := range []struct {
		name string
		args []string
	}{{"table", nil}, {"json", []string{"--json"}}} {
		for _, jobs := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/jobs=%d", mode.name, jobs), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					env := &Env{Ctx: context.Background(), Stdout: io.Discard, Stderr: io.Discard}
					args := append([]string{"-r", file, "--jobs", fmt.Sprint(jobs)}, mode.args...)
					if err := runConns(env, args); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
