package server_test

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"synfin/lab/kernel"
	"synfin/lab/server"
)

// diagListener returns the listener on addr as sock_diag shows it.
func diagListener(t *testing.T, addr netip.AddrPort) kernel.Socket {
	t.Helper()
	h, err := netlink.NewHandle(unix.NETLINK_INET_DIAG)
	var socks []kernel.Socket
	if err == nil {
		defer h.Close()
		socks, err = kernel.Sockets(h)
	}
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(socks, func(s kernel.Socket) bool { return s.Local == addr && s.State == kernel.Listen })
	if i < 0 {
		t.Fatalf("listener %s not in sock_diag", addr)
	}
	return socks[i]
}

func TestParseMode(t *testing.T) {
	for _, m := range server.Modes {
		if got, err := server.ParseMode(string(m)); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %q, %v", m, got, err)
		}
	}
	if _, err := server.ParseMode("nope"); err == nil || !strings.HasPrefix(err.Error(), "server: ") {
		t.Errorf("ParseMode(nope) error = %v", err)
	}
}

// TestListenBacklogAndPlainTCP checks with sock_diag (what ss shows as a
// listener's Send-Q) that the backlog asked for is the kernel's, and that
// the socket is plain TCP, not MPTCP.
func TestListenBacklogAndPlainTCP(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		backlog int
		want    uint32
	}{
		{"127.0.0.1:0", 0, 10},
		{"127.0.0.1:0", 3, 3},
		{"[::1]:0", 7, 7},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv, err := server.Listen(ctx, server.Options{Addr: tc.addr, Backlog: tc.backlog})
			if err != nil {
				t.Skipf("cannot listen on %s: %v", tc.addr, err)
			}
			defer srv.Close()
			if s := diagListener(t, srv.Addr()); s.SendQ != tc.want {
				t.Errorf("backlog %d, want %d", s.SendQ, tc.want)
			}
			c, err := net.Dial("tcp", srv.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			rc, _ := c.(*net.TCPConn).SyscallConn()
			var proto int
			rc.Control(func(fd uintptr) { proto, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL) })
			if proto != unix.IPPROTO_TCP {
				t.Errorf("client socket protocol %d, want plain TCP", proto)
			}
		})
	}
}

func TestServeModes(t *testing.T) {
	for _, tc := range []struct {
		mode    server.Mode
		bytes   int
		send    string
		wantRd  int
		wantErr bool
	}{
		{server.Echo, 0, "hello", 5, false},
		{server.Send, 300, "", 300, false},
		{server.Close, 0, "", 0, false},
		{server.ShutdownWrite, 4, "", 4, false},
		{server.RST, 0, "", 0, true},
		{server.CloseUnread, 0, "unread", 0, true},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var mu sync.Mutex
			var events []string
			// A pause before RST lets connect(2) return first.
			srv, err := server.Listen(ctx, server.Options{Addr: "127.0.0.1:0", Mode: tc.mode, Bytes: tc.bytes, Limit: 1, Wait: 20 * time.Millisecond,
				Log: func(e server.Event) { mu.Lock(); events = append(events, e.String()); mu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx) }()
			c, err := net.Dial("tcp4", srv.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			tc2 := c.(*net.TCPConn)
			if tc.send != "" {
				tc2.Write([]byte(tc.send))
				if tc.mode == server.Echo {
					tc2.CloseWrite()
				}
			}
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, err := readAll(c)
			if tc.wantErr != (err != nil) || n != tc.wantRd {
				t.Errorf("read %d bytes, err %v; want %d bytes, error %v", n, err, tc.wantRd, tc.wantErr)
			}
			c.Close()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(events) < 2 || !strings.HasPrefix(events[1], "accepted #1 from 127.0.0.1:") {
				t.Errorf("events: %q", events)
			}
		})
	}
}

func readAll(c net.Conn) (int, error) {
	buf := make([]byte, 4096)
	total := 0
	for {
		n, err := c.Read(buf)
		total += n
		if err != nil {
			if err.Error() == "EOF" {
				return total, nil
			}
			return total, err
		}
	}
}

// TestNoAccept fills a never-accepting listener's queue: the kernel
// completes backlog+1 handshakes into it, then drops further SYNs, so the
// next connects time out. sock_diag (ss's Recv-Q and Send-Q) is the
// oracle for the queue and the backlog.
func TestNoAccept(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv, err := server.Listen(ctx, server.Options{Addr: "127.0.0.1:0", Backlog: 3, NoAccept: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	d := net.Dialer{Timeout: 300 * time.Millisecond}
	var ok, timedOut int
	for range 6 {
		c, err := d.Dial("tcp4", srv.Addr().String())
		if err != nil {
			timedOut++
			continue
		}
		defer c.Close()
		ok++
	}
	if ok != 4 || timedOut != 2 {
		t.Errorf("%d connects succeeded and %d failed; want backlog+1 = 4 and 2", ok, timedOut)
	}
	if s := diagListener(t, srv.Addr()); s.RecvQ != 4 || s.SendQ != 3 {
		t.Errorf("sock_diag: accept queue %d of backlog %d, want 4 of 3", s.RecvQ, s.SendQ)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestAcceptDelay checks that accepts are spaced by the delay while
// connections wait in the queue.
func TestAcceptDelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	const delay = 80 * time.Millisecond
	var mu sync.Mutex
	var accepted []time.Time
	srv, err := server.Listen(ctx, server.Options{Addr: "127.0.0.1:0", Mode: server.Hold, AcceptDelay: delay, Limit: 3,
		Log: func(e server.Event) {
			if e.What == "accepted" {
				mu.Lock()
				accepted = append(accepted, e.Time)
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	start := time.Now()
	for range 3 {
		c, err := net.Dial("tcp4", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	if s := diagListener(t, srv.Addr()); s.RecvQ == 0 {
		t.Error("sock_diag: nothing waits in the accept queue")
	}
	for n := 0; n < 3 && time.Since(start) < 2*time.Second; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n = len(accepted)
		mu.Unlock()
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(accepted) == 0 || accepted[0].Sub(start) < delay*9/10 {
		t.Fatalf("accepted at %v, want the first after %s", accepted, delay)
	}
	for i := 1; i < len(accepted); i++ {
		if gap := accepted[i].Sub(accepted[i-1]); gap < delay*9/10 {
			t.Errorf("accept %d came %s after the previous, want at least %s", i+1, gap, delay)
		}
	}
}
