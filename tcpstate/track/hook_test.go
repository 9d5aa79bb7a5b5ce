package track

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/tcpstate"
	"synfin/wire"
)

// TestOnSegment checks the hook on the seed's seven segments against the
// states read from the blog post's capture by hand with RFC 9293, and that
// emptying Conn.Segments in the hook changes nothing else.
func TestOnSegment(t *testing.T) {
	want := []string{
		"1 41631 handshake CLOSED>SYN-SENT LISTEN>SYN-RECEIVED",
		"2 41631 handshake SYN-SENT>ESTABLISHED SYN-RECEIVED>SYN-RECEIVED",
		"3 41631 handshake ESTABLISHED>ESTABLISHED SYN-RECEIVED>ESTABLISHED",
		"4 41474 teardown UNKNOWN>CLOSE-WAIT UNKNOWN>FIN-WAIT-1",
		"5 41474 teardown CLOSE-WAIT>CLOSE-WAIT FIN-WAIT-1>FIN-WAIT-2",
		"6 41631 teardown ESTABLISHED>FIN-WAIT-1 ESTABLISHED>CLOSE-WAIT",
		"7 41631 teardown FIN-WAIT-1>FIN-WAIT-2 CLOSE-WAIT>CLOSE-WAIT",
	}
	for _, tc := range []struct {
		name     string
		segments bool
		trim     bool
	}{
		{"kept", true, false},
		{"trimmed", true, true},
		{"no records", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			prev := map[uint16][2]tcpstate.State{}
			cfg := Config{Segments: tc.segments, OnSegment: func(c *tcpstate.Conn, s *tcpstate.Segment) {
				if !tc.segments {
					if s != nil {
						t.Errorf("segment %d: record without Config.Segments", c.Last.Seg)
					}
					got = append(got, fmt.Sprint(c.Last.Seg))
					return
				}
				p, ok := prev[c.Client.Port]
				if !ok {
					p = [2]tcpstate.State{c.Client.Initial, c.Server.Initial}
				}
				got = append(got, fmt.Sprintf("%d %d %s %s>%s %s>%s", s.Index, c.Client.Port, s.Phase, p[0], s.Client, p[1], s.Server))
				prev[c.Client.Port] = [2]tcpstate.State{s.Client, s.Server}
				if tc.trim {
					c.Segments = c.Segments[:0]
				}
			}}
			conns := runSegments(cfg, seedSegments)
			w := want
			if !tc.segments {
				w = []string{"1", "2", "3", "4", "5", "6", "7"}
			}
			if d := cmp.Diff(w, got); d != "" {
				t.Errorf("OnSegment calls (-want +got):\n%s", d)
			}
			plain := runSegments(Config{Segments: tc.segments}, seedSegments)
			if len(conns) != len(plain) {
				t.Fatalf("%d connections with the hook, %d without", len(conns), len(plain))
			}
			for i := range conns {
				if d := cmp.Diff(viewOf(plain[i]), viewOf(conns[i])); d != "" {
					t.Errorf("connection %d differs with the hook (-without +with):\n%s", i+1, d)
				}
			}
		})
	}
}

// countingObserver counts the segments from each end of its connection:
// [0] from the end that sent the first.
type countingObserver struct{ n [2]uint64 }

func (o *countingObserver) Segment(_ int64, first, fromFirst bool, _ *wire.Packet) {
	if first {
		o.n = [2]uint64{}
	}
	if fromFirst {
		o.n[0]++
	} else {
		o.n[1]++
	}
}

func (o *countingObserver) Clone() tcpstate.Observer { c := *o; return &c }

// stateObserver is a countingObserver whose counts the tracker keeps in
// its snapshots.
type stateObserver struct{ countingObserver }

func (o *stateObserver) AppendState(b []byte, _ *tcpstate.StateContext) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(b, o.n[0]), o.n[1])
}

func (o *stateObserver) LoadState(b []byte, _ *tcpstate.StateContext) ([]byte, error) {
	for i := range o.n {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errors.New("short state")
		}
		o.n[i], b = v, b[k:]
	}
	return b, nil
}

// TestObserver tracks connections of six segments from the client and
// three from the server with an observer that counts them, held live or
// as snapshots (closed connections wait for 2MSL), and checks the counts
// each connection hands out, and its clone's once the tracker reuses the
// observer for the next connections.
func TestObserver(t *testing.T) {
	for _, tc := range []struct {
		name string
		obs  func() tcpstate.Observer
	}{
		{"live", func() tcpstate.Observer { return new(countingObserver) }},
		{"snapshots", func() tcpstate.Observer { return new(stateObserver) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var clones []*tcpstate.Conn
			tr := New(Config{Observer: tc.obs, Done: func(c *tcpstate.Conn) {
				if got := counts(c); got != [2]uint64{6, 3} {
					t.Errorf("connection %d: observer counted %v segments, want [6 3]", c.ID, got)
				}
				clones = append(clones, c.Clone())
			}})
			frames := workload(200)
			runRound(tr, frames, 0)
			// Past the first round's 2MSL: its connections are handed
			// out, and the next ones tracked, the last four halfway.
			runRound(tr, frames[:len(frames)/2+10], 200e9)
			if len(clones) != 200 {
				t.Fatalf("%d connections handed out, want 200", len(clones))
			}
			for _, c := range clones {
				if got := counts(c); got != [2]uint64{6, 3} {
					t.Errorf("clone of connection %d: counted %v segments, want [6 3]", c.ID, got)
				}
			}
		})
	}
}

func counts(c *tcpstate.Conn) [2]uint64 {
	switch o := c.Observer.(type) {
	case *countingObserver:
		return o.n
	case *stateObserver:
		return o.n
	}
	return [2]uint64{}
}
