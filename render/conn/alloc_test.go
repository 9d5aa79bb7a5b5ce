package conn

import (
	"testing"

	"synfin/tcpstate"
)

// TestZeroAllocs renders every connection of a generated workload into a
// buffer that has grown: the table row and the conns --json line, which
// conns renders for every connection, allocate nothing. (An explain
// --json line allocates its segments' flag strings.)
func TestZeroAllocs(t *testing.T) {
	conns := generated(t, 300) // odd ones escape strings, through encoding/json
	briefs := make([]tcpstate.Brief, len(conns))
	for i, c := range conns {
		c.Brief(&briefs[i])
	}
	for _, tc := range []struct {
		name   string
		render func(b []byte, i int) []byte
	}{
		{"row", func(b []byte, i int) []byte { return AppendRow(b, &briefs[i]) }},
		{"json", func(b []byte, i int) []byte { return AppendJSON(b, conns[i]) }},
	} {
		buf := make([]byte, 0, 1<<20)
		run := func() {
			for i := range conns {
				buf = tc.render(buf[:0], i)
			}
		}
		run() // the buffer grows to the longest line
		if n := testing.AllocsPerRun(3, run); n != 0 {
			t.Errorf("%s: %.0f allocations rendering %d connections, want 0", tc.name, n, len(conns))
		}
	}
}
