package track

import (
	"bytes"
	"testing"

	"synfin/gen"
	"synfin/input"
	rconn "synfin/render/conn"
	"synfin/tcpstate"
	"synfin/wire"
	"synfin/zeekconn"
)

// trackJSON tracks data as explain does (segments and Zeek's fields) and
// returns its explain --json lines, the number evicted and the most
// connections held live at once.
func trackJSON(t *testing.T, data []byte, cfg Config) (out []byte, evicted uint64, peakLive int) {
	t.Helper()
	cfg.Segments = true
	cfg.Observer = zeekconn.Observer(&zeekconn.Config{LikelyServerPorts: zeekconn.DefaultServerPorts()})
	cfg.Done = func(c *tcpstate.Conn) { out = rconn.AppendExplainJSON(out, c) }
	tr := New(cfg)
	src, err := input.FromReader(bytes.NewReader(data), input.Options{})
	if err != nil {
		return nil, 0, 0
	}
	var f wire.Frame
	for src.Next(&f) == nil {
		tr.Frame(&f)
		peakLive = max(peakLive, tr.table.len())
	}
	tr.Flush()
	return out, tr.Stats().Evicted, peakLive
}

// TestMaxWarmSameOutput: holding all but the MaxWarm most recently active
// open connections as snapshots changes nothing that is handed out, on
// the corpus and a generated workload, while it bounds the connections
// held live.
func TestMaxWarmSameOutput(t *testing.T) {
	inputs := corpusAndGenerated(t, gen.Config{Conns: 5000, Seed: 3, Rate: 2000})
	for name, data := range inputs {
		want, _, _ := trackJSON(t, data, Config{})
		got, _, live := trackJSON(t, data, Config{MaxWarm: 2})
		if !bytes.Equal(got, want) {
			t.Errorf("%s: MaxWarm 2 changes the connections handed out", name)
		}
		if live > 3 {
			t.Errorf("%s: %d connections held live at once, want at most 3", name, live)
		}
	}
}

// TestMaxOpenSparesClosed: MaxOpen counts the open connections only, so
// that connections closed and held for 2MSL are not evicted for it, and a
// flood of never-answered SYNs is.
func TestMaxOpenSparesClosed(t *testing.T) {
	var pcap bytes.Buffer
	st, err := gen.Write(&pcap, gen.Config{Conns: 5000, Seed: 3, Rate: 2000})
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := trackJSON(t, pcap.Bytes(), Config{})
	// Generous for what is open at once, far below what is held with the
	// closed ones.
	max := 2 * int(st.MaxOpen)
	got, evicted, _ := trackJSON(t, pcap.Bytes(), Config{MaxOpen: max, MaxWarm: 64})
	if evicted != 0 || !bytes.Equal(got, want) {
		t.Errorf("MaxOpen %d (at most %d open at once): %d evicted", max, st.MaxOpen, evicted)
	}
	if _, evicted, _ := trackJSON(t, pcap.Bytes(), Config{MaxConns: max}); evicted == 0 {
		t.Errorf("MaxConns %d evicts nothing: the test no longer shows the difference", max)
	}
}
