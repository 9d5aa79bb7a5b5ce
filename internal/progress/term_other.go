//go:build !linux

package progress

import "io"

// IsTerminal reports whether w is a terminal; outside Linux it says no,
// and no bar is drawn.
func IsTerminal(w io.Writer) bool { return false }

// Width returns DefaultWidth.
func Width(w io.Writer) int { return DefaultWidth }
