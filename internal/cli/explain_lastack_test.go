package cli

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"synfin/internal/labtest"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
)

// TestExplainLostLastACKNote: where tcpdump shows an end send its FIN
// again after the other end acknowledged it, that acknowledgment never
// arrived, so the note of the ACK must not say the end left LAST-ACK; the
// ACK that answers the repeated FIN may. Before, the note of the first
// ACK said "the server leaves LAST-ACK and is CLOSED" while the ladder
// kept it in LAST-ACK. The captures: the lab's last-ack-lost run on
// netstack (recorded) and, with the privileges, on the kernel.
func TestExplainLostLastACKNote(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	files := []string{filepath.Join("..", "..", "lab", "verdict", "testdata", "u-last-ack-lost.pcap")}
	dir := t.TempDir()
	t.Run("kernel", func(t *testing.T) {
		testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
		for _, sc := range lab.Scenarios() {
			if sc.Name == "last-ack-lost" {
				res := labtest.Kernel(t, &sc, 9861)
				name := filepath.Join(dir, "k-last-ack-lost.pcap")
				pcaptest.WriteFile(t, name, res.Link, res.Frames)
				files = append(files, name)
			}
		}
	})
	for _, file := range files {
		lines := labtest.Tcpdump(t, tcpdump, file)
		lost := lostLastACKs(lines)
		if len(lost) == 0 {
			t.Fatalf("%s: tcpdump shows no FIN sent again after its ACK:\n%s", file, strings.Join(lines, "\n"))
		}
		out, e, code := runCLI(t, "explain", "-r", file)
		if code != 0 {
			t.Fatalf("explain %s: exit %d: %s", file, code, e)
		}
		notes := segmentNotes(out)
		for _, n := range lost {
			if strings.Contains(notes[n], "leaves LAST-ACK") || !strings.Contains(notes[n], "never reached") {
				t.Errorf("%s: #%d, an ACK the peer never got (tcpdump: its FIN came again), reads:\n%s", file, n, notes[n])
			}
		}
	}
}

var finRE = regexp.MustCompile(`IP6? (\S+) > (\S+): Flags \[F[^\]]*\], seq (\d+)`)
var ackRE = regexp.MustCompile(`IP6? (\S+) > (\S+): Flags \[\.\], ack (\d+)`)

// lostLastACKs returns the frame numbers (tcpdump's line numbers, from 1)
// of ACKs of a FIN (ack = its seq + 1) after which the FIN's sender sent
// it again, as tcpdump -n -S prints them.
func lostLastACKs(lines []string) []int {
	type fin struct {
		from, to string
		seq      uint64
	}
	var fins []fin
	var out []int
	acked := map[fin]int{} // FIN → frame of its first ACK
	for i, l := range lines {
		if m := finRE.FindStringSubmatch(l); m != nil {
			seq, _ := strconv.ParseUint(m[3], 10, 32)
			f := fin{m[1], m[2], seq}
			if a, ok := acked[f]; ok && a > 0 {
				out = append(out, a)
				acked[f] = -1
			}
			fins = append(fins, f)
			continue
		}
		if m := ackRE.FindStringSubmatch(l); m != nil {
			ack, _ := strconv.ParseUint(m[3], 10, 32)
			for _, f := range fins {
				if f.from == m[2] && f.to == m[1] && uint32(f.seq+1) == uint32(ack) {
					if _, ok := acked[f]; !ok {
						acked[f] = i + 1
					}
				}
			}
		}
	}
	return out
}

var segHeadRE = regexp.MustCompile(`^  #(\d+) `)

// segmentNotes returns the lines explain prints under each segment of its
// timeline, by frame number, joined into one line.
func segmentNotes(out string) map[int]string {
	notes := map[int]string{}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if m := segHeadRE.FindStringSubmatch(l); m != nil {
			n, _ = strconv.Atoi(m[1])
			continue
		}
		if n > 0 && strings.HasPrefix(l, "      ") {
			notes[n] += " " + strings.TrimSpace(l)
		} else {
			n = 0
		}
	}
	return notes
}
