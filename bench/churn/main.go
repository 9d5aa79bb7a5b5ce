// Command churn is bench/churn.sh's load and measuring tool: it makes
// short TCP connections at a steady rate on loopback, polls ss -tan once
// a second as a baseline observer, and runs a command to be measured,
// reporting its CPU time and peak RSS.
//
//	churn load -port P -n 100000 -rate 5000   server and clients, in this netns
//	churn sspoll -port P -interval 1s          until SIGINT: what ss -tan sees, and its cost
//	churn measure -- COMMAND ...               until SIGINT (passed on): COMMAND's cost
//
// Each prints one line of "key value" pairs.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: churn load|sspoll|measure ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "load":
		err = load(os.Args[2:])
	case "sspoll":
		err = sspoll(os.Args[2:])
	case "measure":
		err = measure(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "churn:", err)
		os.Exit(1)
	}
}

// load serves on 127.0.0.1:port, closing each connection first (so the
// server's end keeps TIME-WAIT), and makes n connections at rate a
// second from sources addresses in turn, each reading the server's FIN
// and closing. Clients and server use blocking system calls on threads
// of their own: Go's poller and net.Dial cost about as much CPU as the
// kernel's work per connection, which held the rate on a busy machine.
func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	port := fs.Int("port", 9977, "server port")
	n := fs.Int("n", 100000, "connections")
	rate := fs.Int("rate", 5000, "connections a second")
	sources := fs.Int("sources", 64, "client addresses, 127.0.0.2 on")
	workers := fs.Int("workers", 16, "clients at a time")
	fs.Parse(args)
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(ln)
	unix.SetsockoptInt(ln, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	server := &unix.SockaddrInet4{Port: *port, Addr: [4]byte{127, 0, 0, 1}}
	if err := unix.Bind(ln, server); err != nil {
		return err
	}
	if err := unix.Listen(ln, 4096); err != nil {
		return err
	}
	for range 2 {
		go func() {
			for {
				fd, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
				if err == nil {
					unix.Close(fd)
				} else if err != unix.EINTR && err != unix.ECONNABORTED {
					return
				}
			}
		}()
	}
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf [64]byte
			for i := next.Add(1) - 1; i < int64(*n); i = next.Add(1) - 1 {
				// Pace by the clock, not by the previous connection.
				if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(*rate))); d > 0 {
					time.Sleep(d)
				}
				// Each source address has its own ports: connect() takes
				// them in turn for each source and destination, and when
				// it comes back to one the server still holds in
				// TIME-WAIT, the new SYN takes that TIME-WAIT over.
				if err := dial(byte(2+i%int64(*sources)), server, buf[:]); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	fmt.Printf("connections %d failed %d seconds %.2f rate %.0f\n", *n, failed.Load(), el.Seconds(), float64(*n)/el.Seconds())
	return nil
}

// dial connects from 127.0.0.src to server, reads until its FIN and
// closes.
func dial(src byte, server *unix.SockaddrInet4, buf []byte) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Sec: 5}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv) // bounds connect
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	// The port is chosen at connect, for the 4-tuple, not at bind.
	unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, src}}); err != nil {
		return err
	}
	if err := unix.Connect(fd, server); err != nil {
		return err
	}
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// sspoll runs ss -tan every interval until SIGINT and counts what the
// polls show: state changes of sockets of port (a socket new to a poll
// counts as one, as does each new state), then its children's cost.
func sspoll(args []string) error {
	fs := flag.NewFlagSet("sspoll", flag.ExitOnError)
	port := fs.Int("port", 9977, "server port")
	every := fs.Duration("interval", time.Second, "poll interval")
	fs.Parse(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := fmt.Sprintf(":%d", *port)
	last := map[string]string{}
	var polls, seen, peak int
	t := time.NewTicker(*every)
	defer t.Stop()
	for {
		out, err := exec.Command("ss", "-tanH").Output()
		if err != nil {
			return err
		}
		polls++
		now := map[string]string{}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 5 || !strings.HasSuffix(f[3], p) && !strings.HasSuffix(f[4], p) {
				continue
			}
			k := f[3] + " " + f[4]
			now[k] = f[0]
			if last[k] != f[0] {
				seen++
			}
		}
		peak = max(peak, len(now))
		last = now
		select {
		case <-ctx.Done():
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
			fmt.Printf("polls %d changes_seen %d peak_sockets %d cpu_s %.2f peak_rss_kb %d\n",
				polls, seen, peak, cpu(&ru), ru.Maxrss)
			return nil
		case <-t.C:
		}
	}
}

// measure runs a command until SIGINT or SIGTERM, passes the signal on,
// and prints the command's CPU time and peak RSS. The command's output
// goes to this one's.
func measure(args []string) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return errors.New("measure: no command")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { cmd.Process.Signal(<-sig) }()
	err := cmd.Wait()
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "measured cpu_s %.2f peak_rss_kb %d exit %d\n", cpu(ru), ru.Maxrss, cmd.ProcessState.ExitCode())
	return nil
}

func cpu(ru *syscall.Rusage) float64 {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
