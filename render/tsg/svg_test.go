package tsg

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"reflect"
	"strings"
	"testing"

	"synfin/tcpstate"
)

// bigGraph is a flow of n segments of 1000 bytes, every 50th sent again
// and every second acknowledged, with a SACK block on each tenth ACK.
func bigGraph(n int) *Graph {
	g := &Graph{Conn: 1, Start: 1e18}
	f := &g.Flows[0]
	f.Dir, f.From, f.To = "c2s", "192.0.2.1:1", "192.0.2.2:2"
	g.Flows[1].Dir = "s2c"
	f.Segs, f.ACKs, f.Windows = make([]Seg, 0, n+n/50), make([]Point, 0, n/2), make([]Point, 0, n/2)
	for i := range n {
		t := float64(i) * 1e-4
		lo := int64(i) * 1000
		f.Segs = append(f.Segs, Seg{T: t, Index: i + 1, Lo: lo, Hi: lo + 1000, Len: 1000, Flags: "A"})
		f.Bytes += 1000
		if i%50 == 49 {
			f.Segs = append(f.Segs, Seg{T: t, Lo: lo - 5000, Hi: lo - 4000, Len: 1000, Flags: "A", Retrans: true})
		}
		if i%2 == 1 {
			f.ACKs = append(f.ACKs, Point{t, lo + 1000})
			f.Windows = append(f.Windows, Point{t, lo + 65000})
			if i%20 == 19 {
				f.SACKs = append(f.SACKs, Block{t, lo + 2000, lo + 3000})
			}
		}
		if i%10 == 9 {
			f.Throughput = append(f.Throughput, Value{t, 1e7})
			f.RTT = append(f.RTT, Value{t, 0.01 + float64(i%7)/1000})
		}
	}
	return g
}

// TestSVGBounded draws flows of a thousand and of 200,000 segments: the
// documents are well-formed XML, and the larger holds no more elements
// than the decimation allows.
func TestSVGBounded(t *testing.T) {
	for _, n := range []int{1000, 200_000} {
		var b bytes.Buffer
		if err := WriteSVG(&b, bigGraph(n), Options{}); err != nil {
			t.Fatal(err)
		}
		size := b.Len()
		d := xml.NewDecoder(&b)
		elems := 0
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%d segments: not XML: %v", n, err)
			}
			if _, ok := tok.(xml.StartElement); ok {
				elems++
			}
		}
		// Per pixel column: a data bar, three retransmission bars, a SACK
		// bar; the axes, labels and legend besides.
		if limit := plotW*5 + 200; elems > limit {
			t.Errorf("%d segments: %d elements, want at most %d", n, elems, limit)
		}
		t.Logf("%d segments: %d elements, %d bytes", n, elems, size)
	}
}

func TestGraphJSON(t *testing.T) {
	g := bigGraph(100)
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var back Graph
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Flows[0], back.Flows[0]) {
		t.Error("the graph does not survive JSON")
	}
	for _, key := range []string{`"segs":`, `"acks":`, `"windows":`, `"sacks":`, `"zero":`, `"rtt":`, `"throughput":`, `"retrans":true`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestUnknownLanguage(t *testing.T) {
	err := WriteSVG(io.Discard, bigGraph(10), Options{Lang: "fr"})
	if err == nil || !strings.Contains(err.Error(), `unknown language "fr"`) {
		t.Errorf("got %v", err)
	}
}

// TestEmpty draws a connection without segments (as one handed out
// without track.Config.Segments): one empty graph, no panic.
func TestEmpty(t *testing.T) {
	g := Compute(&tcpstate.Conn{ID: 7})
	var b bytes.Buffer
	if err := WriteSVG(&b, g, Options{Lang: "zh"}); err != nil {
		t.Fatal(err)
	}
	if len(g.Flows[0].Segs) != 0 || !strings.Contains(b.String(), "未发送数据") {
		t.Errorf("got %d segments and\n%s", len(g.Flows[0].Segs), b.String())
	}
}
