package track

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"synfin/internal/corpus"
	"synfin/internal/testenv"
	"synfin/tcpstate"
)

// TestFINRetransmissionCrossingTheFINACK reads the three connections of
// Zeek's ssh trace whose client retransmits its FIN after the server's
// FIN-ACK. tcpdump shows what that means: the client's last segment
// acknowledges the server's FIN, so the FIN-ACK reached it, and the ACK it
// carried was not lost; the retransmissions crossed it. The client must
// end in TIME-WAIT, the server CLOSED, the close must be read as the
// three-segment close it was, and no lost-last-ACK may remain.
func TestFINRetransmissionCrossingTheFINACK(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	file := corpus.Dir(t, "zeek", "scripts.base.protocols.ssh.basic", "ssh.pcap")
	ports := []int{52294, 51476, 51489}

	// tcpdump's reading: the server's FIN-ACK, then a FIN from the client
	// again, and a last client segment acknowledging the server's FIN.
	line := regexp.MustCompile(`IP \S+\.(\d+) > \S+\.(\d+): Flags \[([^\]]+)\], (?:seq (\d+)(?::\d+)?, )?(?:ack (\d+))?`)
	for _, port := range ports {
		var serverFIN, lastClientAck uint64
		finAgain := false
		for _, l := range tcpdumpLines(t, tcpdump, file, fmt.Sprintf("tcp port %d", port)) {
			m := line.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("tcpdump line not understood: %s", l)
			}
			fromClient := m[1] == strconv.Itoa(port)
			seq, _ := strconv.ParseUint(m[4], 10, 32)
			ack, _ := strconv.ParseUint(m[5], 10, 32)
			switch {
			case !fromClient && strings.Contains(m[3], "F") && serverFIN == 0:
				serverFIN = seq
			case fromClient && strings.Contains(m[3], "F") && serverFIN != 0:
				finAgain = true
			}
			if fromClient && m[5] != "" {
				lastClientAck = ack
			}
		}
		if serverFIN == 0 || !finAgain || lastClientAck != serverFIN+1 {
			t.Fatalf("port %d: tcpdump shows server FIN %d, client FIN again %v, last client ack %d: not the case this test is about",
				port, serverFIN, finAgain, lastClientAck)
		}
	}

	conns, err := trackFile(file, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range ports {
		var c *tcpstate.Conn
		for _, x := range conns {
			if int(x.Client.Port) == port {
				c = x
			}
		}
		if c == nil {
			t.Fatalf("no connection from port %d", port)
		}
		if c.Client.State != tcpstate.TimeWait || c.Server.State != tcpstate.Closed {
			t.Errorf("port %d: final states %s/%s, want TIME-WAIT/CLOSED", port, c.Client.State, c.Server.State)
		}
		if c.Teardown.Pattern != tcpstate.PatternThreeSegment {
			t.Errorf("port %d: teardown %s, want three-segment", port, c.Teardown.Pattern)
		}
		if c.Teardown.LostLastACK || c.Anomalies[tcpstate.LostLastACK].Count != 0 {
			t.Errorf("port %d: lost-last-ack still counted (%d)", port, c.Anomalies[tcpstate.LostLastACK].Count)
		}
	}
}
