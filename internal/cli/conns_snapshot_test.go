package cli

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"synfin/gen"
	"synfin/input"
	"synfin/render/conn"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/zeekconn"
)

// plainObserver hides the Zeek observer's state methods, so that the
// tracker keeps every connection live.
type plainObserver struct{ tcpstate.Observer }

func (o plainObserver) Record() zeekconn.Record {
	return o.Observer.(interface{ Record() zeekconn.Record }).Record()
}

func (o plainObserver) Earlier() []zeekconn.Record {
	return o.Observer.(interface{ Earlier() []zeekconn.Record }).Earlier()
}

// TestSnapshotsChangeNothing tracks a generated workload (every teardown
// pattern, retransmissions, port reuse, IPv4 and IPv6) once with closed
// and idle connections held as snapshots and once with all of them live:
// the JSON lines must be the same, in the same order. With segments kept
// (explain), the explanations' JSON, every segment with its note, its
// arguments and both ends' states, must be the same too.
func TestSnapshotsChangeNothing(t *testing.T) {
	var pcap bytes.Buffer
	if _, err := gen.Write(&pcap, gen.Config{Conns: 20000, Seed: 7, Rate: 500}); err != nil {
		t.Fatal(err)
	}
	run := func(snap bool, maxConns int, segments bool) []byte {
		var out []byte
		observers := zeekObservers(true)
		cfg := track.Config{
			IdleTimeout: 20 * time.Second, // some connections go idle within the capture
			MaxConns:    maxConns,
			Segments:    segments,
			Done: func(c *tcpstate.Conn) {
				if segments {
					out = conn.AppendExplainJSON(out, c)
				} else {
					out = conn.AppendJSON(out, c)
				}
			},
			Observer: func() tcpstate.Observer {
				if snap {
					return observers()
				}
				return plainObserver{observers()}
			},
		}
		src, err := input.FromReader(bytes.NewReader(pcap.Bytes()), input.Options{})
		if err != nil {
			t.Fatal(err)
		}
		env := &Env{Ctx: context.Background()}
		if err := trackSource(env, src, "", cfg); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, segments := range []bool{false, true} {
		for _, max := range []int{0, 300} {
			want, got := run(false, max, segments), run(true, max, segments)
			if len(want) == 0 {
				t.Fatal("no connections")
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("max-conns %d, segments %v, with snapshots (-without +with):\n%.5000s", max, segments, d)
			}
		}
	}
}
