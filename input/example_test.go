package input_test

import (
	"fmt"
	"os"
	"path/filepath"

	"synfin/capture"
	"synfin/input"
	"synfin/wire"
)

// A capture rotated into two files reads as one input, in time order.
func ExampleOpenAll() {
	dir, _ := os.MkdirTemp("", "rotated")
	defer os.RemoveAll(dir)
	seg := []byte{0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x04, 0xd2, 0, 80, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0}
	for i, times := range [][]int64{{1e9, 3e9}, {2e9, 4e9}} {
		w, err := capture.Create(filepath.Join(dir, fmt.Sprintf("trace%d.pcap", i)), nil, capture.WriterOptions{Link: wire.LinkRaw})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, t := range times {
			w.Write(&wire.Frame{Time: t, Link: wire.LinkRaw, Data: seg, CapLen: len(seg), WireLen: len(seg)})
		}
		w.Close()
	}
	src, err := input.OpenAll([]string{filepath.Join(dir, "trace*.pcap")}, nil, input.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	var f wire.Frame
	for src.Next(&f) == nil {
		fmt.Println(f.Index, f.Time/1e9)
	}
	// Output:
	// 1 1
	// 2 2
	// 3 3
	// 4 4
}
