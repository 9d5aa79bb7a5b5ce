//go:build linux

package cli

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/render/explain"
)

// collapsedText is what explain's timeline and the text ladder say of a
// summed-up data phase.
type collapsedText struct {
	First, Last     int
	Start, End      string
	Segments, Bytes [2]int
	Retransmissions [2]int
}

var (
	timelineRE = regexp.MustCompile(`(?m)^  #(\d+)-#(\d+)  ([\d:.]+) (?:to|至) ([\d:.]+)`)
	dirRE      = map[string]*regexp.Regexp{
		"en": regexp.MustCompile(`(client|server) → (?:client|server): (\d+) segments, (\d+) bytes, (\d+) retransmissions`),
		"zh": regexp.MustCompile(`(客户端|服务器) → (?:客户端|服务器)：(\d+) 个报文段，(\d+) 字节，重传 (\d+) 个`),
	}
	ladderRE = regexp.MustCompile(`(──▶|◀──) (\d+) segments, (\d+) bytes, (\d+) retransmissions`)
)

// numbers reads the numbers of a regexp's submatches.
func numbers(t *testing.T, subs ...string) []int {
	t.Helper()
	out := make([]int, len(subs))
	for i, s := range subs {
		if _, err := fmt.Sscan(s, &out[i]); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	}
	return out
}

// TestCollapsedAgreesWithTcpdump explains and draws one long connection
// as the user does (explain in both languages, diagram) and checks the
// summed-up data phase against tcpdump's lines of the same capture
// (frames, times, segments and bytes by direction) and tshark's
// tcp.analysis.retransmission: a generated upload in order and out of
// order, and a real one the kernel made with a segment lost. The
// handshake and the teardown are told in full, and --full tells every
// segment.
func TestCollapsedAgreesWithTcpdump(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	tshark := testenv.NeedTool(t, "tshark")
	for _, tc := range []struct {
		name string
		path func(t *testing.T) string
	}{
		{"generated", generated("--transfer", "3001", "--seed", "4")},
		{"generated out of order", generated("--transfer", "3001", "--seed", "4", "--reorder")},
		{"kernel with a lost segment", resentTransfer(tcpdump, tshark)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t)
			want := pcaptest.TcpdumpDataPhase(t, tcpdump, tshark, path)
			if tc.name == "kernel with a lost segment" && want.Retransmissions[0] == 0 {
				t.Fatal("tshark sees no retransmission: the capture no longer shows what it was made for")
			}
			if want.Frames <= explain.CollapseAbove {
				t.Fatalf("%d segments: too few to be summed up", want.Frames)
			}
			for _, lang := range []string{"en", "zh"} {
				out := runOK(t, "explain", "-r", path, "--lang", lang)
				m := timelineRE.FindAllStringSubmatch(out, -1)
				if len(m) != 1 {
					t.Fatalf("%s: %d summed-up data phases in:\n%s", lang, len(m), out)
				}
				frames := numbers(t, m[0][1], m[0][2])
				got := collapsedText{First: frames[0], Last: frames[1], Start: m[0][3], End: m[0][4]}
				dirs := dirRE[lang].FindAllStringSubmatch(out, -1)
				if len(dirs) != 2 {
					t.Fatalf("%s: %d lines by direction", lang, len(dirs))
				}
				for i, d := range dirs {
					n := numbers(t, d[2:]...)
					got.Segments[i], got.Bytes[i], got.Retransmissions[i] = n[0], n[1], n[2]
				}
				if w := (collapsedText{want.First, want.Last, want.Start, want.End, want.Segments, want.Bytes, want.Retransmissions}); got != w {
					t.Errorf("%s: explain's data phase is %+v, tcpdump and tshark show %+v", lang, got, w)
				}
				// Every other segment has its entry in the timeline.
				for frame := 1; frame <= want.Frames; frame++ {
					entry := regexp.MustCompile(fmt.Sprintf(`(?m)^  #%d  `, frame))
					inData := frame >= want.First && frame <= want.Last
					if entry.MatchString(out) == inData {
						t.Errorf("%s: frame %d in the data phase %v, in the timeline %v", lang, frame, inData, !inData)
					}
				}
			}
			full := runOK(t, "explain", "-r", path, "--full")
			if n := len(regexp.MustCompile(`(?m)^  #\d+  `).FindAllString(full, -1)); n != want.Frames {
				t.Errorf("explain --full lists %d segments of %d", n, want.Frames)
			}
			ladder := runOK(t, "diagram", "-r", path, "--width", "120")
			rows := ladderRE.FindAllStringSubmatch(ladder, -1)
			if len(rows) != 2 {
				t.Fatalf("the ladder has %d lines by direction:\n%s", len(rows), ladder)
			}
			for i, r := range rows {
				got := numbers(t, r[2:]...)
				if w := []int{want.Segments[i], want.Bytes[i], want.Retransmissions[i]}; !slices.Equal(got, w) {
					t.Errorf("ladder, %s: segments, bytes, retransmissions %v, tcpdump and tshark %v", r[1], got, w)
				}
			}
			for _, frame := range []int{1, 2, 3, want.First, want.Last, want.Last + 1, want.Frames} {
				if !strings.Contains(ladder, fmt.Sprintf("│#%d ", frame)) {
					t.Errorf("the ladder does not show frame %d:\n%s", frame, ladder)
				}
			}
			if n := strings.Count(runOK(t, "diagram", "-r", path, "--full"), "│#"); n != want.Frames {
				t.Errorf("diagram --full draws %d segments of %d", n, want.Frames)
			}
		})
	}
}

// resentTransfer is kernelTransfer taken again, up to 5 times, until
// tshark flags the resent segment a retransmission. The kernel resends it
// within microseconds of its newest segment, and tshark (and synfin with
// it) calls a segment that fills a hole within the handshake's round trip
// of the newest one out of order, not a retransmission: a third of the
// captures on loopback.
func resentTransfer(tcpdump, tshark string) func(t *testing.T) string {
	return func(t *testing.T) string {
		for try := 1; ; try++ {
			path := kernelTransfer(t)
			if pcaptest.TcpdumpDataPhase(t, tcpdump, tshark, path).Retransmissions[0] > 0 || try == 5 {
				return path
			}
			t.Logf("capture %d: tshark sees no retransmission; taking it again", try)
		}
	}
}

// generated makes a capture with synfin gen and the options given.
func generated(opts ...string) func(t *testing.T) string {
	return func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "gen.pcap")
		runOK(t, append([]string{"gen", "-q", "-w", path}, opts...)...)
		return path
	}
}

// runOK runs synfin with args in process and returns its standard
// output; a non-zero exit fails the test.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := Main(context.Background(), args, nil, &out, &errb); code != 0 {
		t.Fatalf("synfin %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}
