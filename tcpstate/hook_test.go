package tcpstate

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
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
			prev := map[uint16][2]State{}
			cfg := Config{Segments: tc.segments, OnSegment: func(c *Conn, s *Segment) {
				if !tc.segments {
					if s != nil {
						t.Errorf("segment %d: record without Config.Segments", c.Last.Seg)
					}
					got = append(got, fmt.Sprint(c.Last.Seg))
					return
				}
				p, ok := prev[c.Client.Port]
				if !ok {
					p = [2]State{c.Client.Initial, c.Server.Initial}
				}
				got = append(got, fmt.Sprintf("%d %d %s %s>%s %s>%s", s.Index, c.Client.Port, s.Phase, p[0], s.Client, p[1], s.Server))
				prev[c.Client.Port] = [2]State{s.Client, s.Server}
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
