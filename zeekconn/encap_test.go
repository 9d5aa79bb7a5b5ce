package zeekconn_test

import (
	"path/filepath"
	"testing"
)

// TestZeekEncapsulations holds "synfin conns --json" to the conn.log Zeek's
// own tests record for captures of TCP inside encapsulations (see
// wire/testdata/encap/README.md): every TCP row on every field, and on
// every field but duration where Zeek's differs by design (see ratchet).
func TestZeekEncapsulations(t *testing.T) {
	dir := filepath.Join("..", "wire", "testdata", "encap")
	for _, tc := range []struct {
		pcap, log string
		rows      int // TCP rows in the baseline
		agreed    int // rows that agree on every field, duration included
	}{
		{"cisco-fabric-path.pcap", "cisco-fabric-path.conn.log", 16, 16},
		// Zeek's duration stops at the last FIN; conns counts to the last ACK.
		{"pppoe-over-qinq.pcap", "pppoe-over-qinq.conn.log", 1, 0},
		{"mpls-in-vlan.pcap", "mpls-in-vlan.conn.log", 3, 3},
		{"gre-sample.pcap", "gre-sample.conn.log", 1, 0},
	} {
		t.Run(tc.pcap, func(t *testing.T) {
			want := readLog(t, filepath.Join(dir, tc.log))
			tl := compareRows(t, want, conns(t, filepath.Join(dir, tc.pcap)))
			t.Logf("%d/%d rows agree, %d but for duration; %s", tl.agreed, tl.rows, tl.agreedBut, tl.summary())
			if tl.rows != tc.rows || tl.agreedBut != tl.rows || tl.agreed < tc.agreed {
				t.Errorf("rows agreeing with Zeek: %d of %d, %d but for duration; want %d of %d, all but for duration",
					tl.agreed, tl.rows, tl.agreedBut, tc.agreed, tc.rows)
			}
		})
	}
}
