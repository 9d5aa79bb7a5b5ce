package client

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestReadThenShutdown checks the read-to-the-end-then-close path against
// the kernel: after it returns, the kernel's TCP_INFO shows this end's FIN
// sent (LAST-ACK, or CLOSED once acknowledged), and the bytes read are the
// ones the peer wrote. A cancelled context and a reset end it with an error.
func TestReadThenShutdown(t *testing.T) {
	tests := []struct {
		name    string
		bytes   int
		peer    func(c *net.TCPConn) // what the peer does after accepting
		cancel  time.Duration        // cancel the context after this, 0: never
		wantErr error
	}{
		{name: "empty stream", peer: func(c *net.TCPConn) { c.Close() }},
		{name: "data then FIN", bytes: 300000, peer: func(c *net.TCPConn) { c.Write(make([]byte, 300000)); c.Close() }},
		{name: "FIN later", peer: func(c *net.TCPConn) { time.Sleep(100 * time.Millisecond); c.Close() }},
		{name: "cancelled", peer: func(c *net.TCPConn) {}, cancel: 80 * time.Millisecond, wantErr: context.Canceled},
		{name: "reset", peer: func(c *net.TCPConn) { time.Sleep(50 * time.Millisecond); c.SetLinger(0); c.Close() }, wantErr: unix.ECONNRESET},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			accepted := make(chan *net.TCPConn, 1)
			go func() {
				c, err := ln.AcceptTCP()
				if err != nil {
					close(accepted)
					return
				}
				tt.peer(c)
				accepted <- c
			}()
			c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			start := time.Now()
			n, err := readThenShutdown(ctx, c)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || n != tt.bytes {
				t.Fatalf("read %d bytes, err %v; want %d", n, err, tt.bytes)
			}
			rc, _ := c.SyscallConn()
			var info *unix.TCPInfo
			rc.Control(func(fd uintptr) { info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
			if err != nil {
				t.Fatal(err)
			}
			// TCP_LAST_ACK is 9, TCP_CLOSE 7 in the kernel's numbering.
			if info.State != 9 && info.State != 7 {
				t.Errorf("kernel state %d after return, want LAST-ACK (9) or CLOSED (7): the FIN was not sent", info.State)
			}
			if p := <-accepted; p != nil {
				p.Close()
			}
		})
	}
}
