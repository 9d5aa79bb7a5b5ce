package tcpdumptext

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"

	"synfin/wire"
)

// TestCutText: text that ends inside a packet is damage at the byte offset
// where that packet's line starts; a whole last line without its line
// end is not.
func TestCutText(t *testing.T) {
	l1 := fuzzSeeds[0]
	l2 := fuzzSeeds[1]
	whole := l1 + l2
	tests := []struct {
		name   string
		in     string
		frames int
		offset int64 // -1: clean end
		line   int
	}{
		{"whole", whole, 2, -1, 0},
		{"no final line end", strings.TrimSuffix(whole, "\n"), 2, -1, 0},
		{"cut in the second line", whole[:len(l1)+60], 1, int64(len(l1)), 2},
		{"cut in the time stamp", whole[:len(l1)+5], 1, int64(len(l1)), 2},
		{"cut in the first line", whole[:30], 0, 0, 1},
		{"cut at a line end", l1, 1, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bufio.NewReader(strings.NewReader(tt.in)), Options{})
			n := 0
			var err error
			for {
				var f wire.Frame
				if err = r.Next(&f); err != nil {
					break
				}
				n++
			}
			if n != tt.frames {
				t.Errorf("%d frames, want %d", n, tt.frames)
			}
			var ce *CutError
			switch {
			case tt.offset < 0 && err != io.EOF:
				t.Errorf("error %v, want a clean end", err)
			case tt.offset >= 0 && !errors.As(err, &ce):
				t.Errorf("error %v, want a *CutError", err)
			case tt.offset >= 0 && (ce.Offset != tt.offset || ce.Line != tt.line):
				t.Errorf("cut at offset %d line %d, want %d line %d", ce.Offset, ce.Line, tt.offset, tt.line)
			}
		})
	}
}
