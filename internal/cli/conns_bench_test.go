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
// on one tracker and on two, whatever the machine's load, for profiling
// with -cpuprofile and -memprofile and for the speed-up of sharding.
func BenchmarkConnsFile(b *testing.B) {
	file := os.Getenv("SYNFIN_BENCH_FILE")
	if file == "" {
		b.Skip("SYNFIN_BENCH_FILE is not set")
	}
	defer func(n int, check bool) { connsShards, connsLoadCheck = n, check }(connsShards, connsLoadCheck)
	connsLoadCheck = false
	for _, mode := range []struct {
		name string
		args []string
	}{{"table", nil}, {"json", []string{"--json"}}} {
		for _, shards := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/shards=%d", mode.name, shards), func(b *testing.B) {
				connsShards = shards
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
}
