//go:build linux

package cli

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
)

// TestReadLoopback captures real connections on lo with tcpdump (data and
// close, abort with RST, a refused connect, IPv6) and compares "synfin
// read" with "tcpdump -r" on the capture for several flag sets.
func TestReadLoopback(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapNetRaw)
	tcpdumpPath := testenv.NeedTool(t, "tcpdump")
	withGMT(t)

	ln4, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln4.Close()
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		testenv.Unavailable(t, "no IPv6 loopback: "+err.Error())
	}
	defer ln6.Close()
	refused, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()
	ports := []string{port(ln4.Addr()), port(ln6.Addr()), port(refused.Addr())}

	capFile := filepath.Join(t.TempDir(), "lo.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tcpdumpPath, "-i", "lo", "--immediate-mode", "-U", "-w", capFile,
		"tcp port "+ports[0]+" or tcp port "+ports[1]+" or tcp port "+ports[2])
	stop := pcaptest.StartTcpdump(t, cmd)
	time.Sleep(500 * time.Millisecond) // the filter is attached a little later

	serve := func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						c.Write(buf[:n])
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}
	go serve(ln4)
	go serve(ln6)

	// Data then an orderly close, over IPv4 and IPv6.
	for _, addr := range []string{ln4.Addr().String(), ln6.Addr().String()} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "hello synfin\r\n")
		buf := make([]byte, 64)
		io.ReadAtLeast(c, buf, 14)
		c.Close()
	}
	// Abort: close with unread data pending and linger 0 sends RST.
	c, err := net.Dial("tcp", ln4.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "abort")
	time.Sleep(50 * time.Millisecond)
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	// Refused: SYN answered by RST.
	if c, err := net.Dial("tcp", refusedAddr); err == nil {
		c.Close()
		t.Fatal("connect to a closed port succeeded")
	}
	time.Sleep(time.Second)
	stop()

	// Without -n both name 127.0.0.1 and ::1 as the hosts file (or DNS)
	// does.
	flagSets := [][]string{{"-n", "-S"}, {"-n"}, {}, {"-S"}, {"-v", "-n"}, {"-vv"}, {"-e", "-n"}, {"-e", "-q"},
		{"-tt", "-n"}, {"-ttt", "-n"}, {"-x", "-n"}, {"-X", "-n", "-S"}}
	if n := readVsTcpdump(t, tcpdumpPath, capFile, []string{"127.0.0.1", "::1"}, flagSets); n < 15 {
		t.Errorf("only %d TCP records captured", n)
	}
}

func port(a net.Addr) string { return strconv.Itoa(a.(*net.TCPAddr).Port) }

// TestCaptureLineAndPacketBuffered: -l and -U, which tcpdump users type
// when piping, are taken as tcpdump takes them, alone and combined with
// other flags.
func TestCaptureLineAndPacketBuffered(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapNetRaw)
	pcap := filepath.Join(t.TempDir(), "u.pcap")
	for _, args := range [][]string{
		{"capture", "-i", "lo", "-l", "-n", "--for", "200ms", "port", "9"},
		{"capture", "-i", "lo", "-lnS", "--for", "200ms", "port", "9"},
		{"capture", "-i", "lo", "-U", "-w", pcap, "--for", "200ms", "port", "9"},
		{"capture", "-i", "lo", "-lU", "--print", "-w", pcap, "--for", "200ms", "port", "9"},
	} {
		code, _, stderr := runMain(t, args...)
		if code != 0 || strings.Contains(stderr, "unknown flag") {
			t.Errorf("%q: exit %d, stderr %q; want the capture run", args, code, stderr)
		}
	}
	if st, err := os.Stat(pcap); err != nil || st.Size() != 24 {
		t.Errorf("-U -w: %v, %v; want a pcap holding its header", st, err)
	}
}
