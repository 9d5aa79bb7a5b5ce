package pipeline_test

import (
	"context"
	"fmt"
	"os"

	"synfin/input"
	"synfin/pipeline"
	"synfin/wire"
)

// Print prints frames on several goroutines and writes their lines in
// the frames' order.
func ExamplePrint() {
	var frames []wire.Frame
	for i := 1; i <= 5; i++ {
		frames = append(frames, wire.Frame{Index: i, Time: int64(i) * 1e6, Data: make([]byte, 60+i)})
	}
	// Each printer gets its own function: it may keep state.
	newPrinter := func() pipeline.PrintFunc {
		return func(dst []byte, f *wire.Frame) ([]byte, bool) {
			return fmt.Appendf(dst, "frame %d: %d bytes\n", f.Index, len(f.Data)), false
		}
	}
	skipped, err := pipeline.Print(context.Background(), input.FromFrames(frames), nil, 3, newPrinter, os.Stdout)
	fmt.Println(skipped, err)
	// Output:
	// frame 1: 61 bytes
	// frame 2: 62 bytes
	// frame 3: 63 bytes
	// frame 4: 64 bytes
	// frame 5: 65 bytes
	// 0 <nil>
}
