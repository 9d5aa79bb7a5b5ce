//go:build linux

package cli

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

var listeningRE = regexp.MustCompile(`listening on (\S+) \(backlog (\d+), mode (\S+)\)`)

// startServe runs "synfin serve" in-process on a random high loopback
// port and returns its address and output; the server stops with the test.
func startServe(t *testing.T, args ...string) (string, *syncBuffer, <-chan int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	out := &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- Main(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), nil, out, out)
	}()
	t.Cleanup(cancel)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m := listeningRE.FindStringSubmatch(out.String()); m != nil {
			return m[1], out, code
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("server did not start:\n%s", out)
	return "", nil, nil
}

func dial(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := Main(ctx, append([]string{"dial"}, args...), nil, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestServeDial(t *testing.T) {
	for _, tc := range []struct {
		name       string
		serve      []string
		dial       []string
		code       int
		dialWant   []string // substrings of dial's stdout
		dialErr    string   // substring of dial's stderr
		serverWant []string
	}{
		{"seed", nil, nil, 0,
			[]string{"connected #1", "closed (end of steps)"}, "",
			[]string{"backlog 10, mode seed", "accepted #1 from 127.0.0.1:"}},
		{"echo", []string{"--mode", "echo"}, []string{"--send", "100", "--shutdown"}, 0,
			[]string{"sent 100 bytes", "shutdown (sent FIN", "read 100 bytes (peer sent FIN)"}, "",
			[]string{"echoed 100 bytes", "eof (peer sent FIN)", "closed"}},
		{"sink", []string{"--mode", "sink", "--backlog", "3"}, []string{"--send", "7"}, 0,
			[]string{"sent 7 bytes"}, "",
			[]string{"backlog 3, mode sink", "read 7 bytes", "eof"}},
		{"send", []string{"--mode", "send", "--bytes", "500"}, []string{"--read"}, 0,
			[]string{"read 500 bytes (peer sent FIN)"}, "",
			[]string{"wrote 500 bytes", "closed"}},
		{"close", []string{"--mode", "close"}, []string{"--read"}, 0,
			[]string{"read (peer sent FIN)"}, "",
			[]string{"closed"}},
		{"shutdown-write", []string{"--mode", "shutdown-write", "--bytes", "5"}, []string{"--steps", "read, wait 20ms, send 3, close"}, 0,
			[]string{"read 5 bytes", "sent 3 bytes"}, "",
			[]string{"wrote 5 bytes", "shutdown (sent FIN, still reading)", "read 3 bytes", "eof"}},
		{"rst", []string{"--mode", "rst"}, []string{"--read"}, 1,
			nil, "connection reset by peer",
			[]string{"reset (SO_LINGER 0, RST sent)"}},
		{"close-unread", []string{"--mode", "close-unread"}, []string{"--send", "10", "--read"}, 1,
			[]string{"sent 10 bytes"}, "connection reset by peer",
			[]string{"closed (data left unread, kernel sends RST)"}},
		{"abort", []string{"--mode", "sink"}, []string{"--wait", "10ms", "--abort"}, 0,
			[]string{"reset (SO_LINGER 0, RST sent)"}, "",
			[]string{"connection reset by peer"}},
		{"repeat", []string{"--mode", "sink"}, []string{"-c", "3"}, 0,
			[]string{"connected #1", "connected #2", "connected #3"}, "",
			[]string{"accepted #3"}},
		{"seed-closes-previous", nil, []string{"-c", "2", "--wait", "20ms"}, 0,
			[]string{"connected #2"}, "",
			[]string{"#1 127.0.0.1:", "closed (next connection accepted)"}},
		{"hold-keeps-previous", []string{"--mode", "hold"}, []string{"-c", "2"}, 0,
			[]string{"connected #2"}, "",
			[]string{"backlog 10, mode hold", "accepted #2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, srvOut, _ := startServe(t, tc.serve...)
			code, out, errOut := dial(t, append([]string{addr}, tc.dial...)...)
			if code != tc.code {
				t.Errorf("dial exit %d, want %d\nstdout:\n%sstderr:\n%s", code, tc.code, out, errOut)
			}
			for _, w := range tc.dialWant {
				if !strings.Contains(out, w) {
					t.Errorf("dial output lacks %q:\n%s", w, out)
				}
			}
			if tc.dialErr != "" && !strings.Contains(errOut, tc.dialErr) {
				t.Errorf("dial stderr lacks %q: %s", tc.dialErr, errOut)
			}
			waitFor(t, srvOut, tc.serverWant)
		})
	}
}

func waitFor(t *testing.T, out *syncBuffer, want []string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		missing := ""
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("server output lacks %q:\n%s", missing, out)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServeLimitStops(t *testing.T) {
	addr, out, code := startServe(t, "--mode", "close", "-c", "2")
	for range 2 {
		if c, _, e := dial(t, addr, "--read"); c != 0 {
			t.Fatalf("dial: %s", e)
		}
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("serve exit %d:\n%s", c, out)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("serve -c 2 did not stop:\n%s", out)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	code := make(chan int, 1)
	go func() { code <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, nil, out, out) }()
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := listeningRE.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	// A held connection is closed when the server stops.
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, out, []string{"accepted #1"})
	cancel()
	select {
	case n := <-code:
		if n != 0 {
			t.Errorf("serve exit %d:\n%s", n, out)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("serve did not stop on cancel")
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("read after stop = %d, %v; want EOF", n, err)
	}
	if _, err := net.Dial("tcp4", addr); err == nil {
		t.Error("listener still accepts after stop")
	}
}

func TestServeDialUsage(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--mode", "bogus"},
		{"serve", "--backlog", "0"},
		{"serve", "--wait", "soon"},
		{"serve", "extra"},
		{"dial", "--steps", "jump"},
		{"dial", "--abort", "--hold"},
		{"dial", "--steps", "close", "--send", "3"},
		{"dial", "a", "b"},
		{"dial", "--lport", "70000"},
	} {
		var out, errOut bytes.Buffer
		if code := Main(context.Background(), args, nil, &out, &errOut); code != 2 || !strings.HasPrefix(errOut.String(), "synfin "+args[0]+": ") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a usage error", args, code, errOut.String())
		}
	}
}

func TestDialRefused(t *testing.T) {
	// Find a free port, then leave it closed.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	code, _, errOut := dial(t, addr)
	if code != 1 || !strings.Contains(errOut, "connection refused") {
		t.Errorf("exit %d, stderr %q; want 1 and connection refused", code, errOut)
	}
}
