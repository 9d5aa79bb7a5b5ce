package cli

import (
	"fmt"
	"testing"
)

// TestPad checks padRight and padLeft against fmt's %-*s and %*s, for
// text shorter, as long as and longer than the width, and widths past
// the spaces they copy from.
func TestPad(t *testing.T) {
	for _, s := range []string{"", "x", "TIME-WAIT/CLOSED", "2001:db8::1:443"} {
		for _, width := range []int{0, 1, 4, 16, 39, 40, 41, 95} {
			prefix := []byte("id ")
			got := string(padRight(append(prefix[:3:3], s...), 3, width))
			if want := fmt.Sprintf("id %-*s", width, s); got != want {
				t.Errorf("padRight(%q, %d) = %q, want %q", s, width, got, want)
			}
			got = string(padLeft(append(prefix[:3:3], s...), 3, width))
			if want := fmt.Sprintf("id %*s", width, s); got != want {
				t.Errorf("padLeft(%q, %d) = %q, want %q", s, width, got, want)
			}
		}
	}
}
