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
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
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
// and closing.
func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	port := fs.Int("port", 9977, "server port")
	n := fs.Int("n", 100000, "connections")
	rate := fs.Int("rate", 5000, "connections a second")
	sources := fs.Int("sources", 4, "client addresses, 127.0.0.2 on")
	fs.Parse(args)
	ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		for c, err := ln.Accept(); err == nil; c, err = ln.Accept() {
			c.Close()
		}
	}()
	var failed atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 512)
	start := time.Now()
	for i := range *n {
		// Pace by the clock, not by the previous connection.
		if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(*rate))); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{}
		wg.Add(1)
		// Each source address has its own ports: connect() prefers even
		// ones, so one address would reuse a port, taking over the
		// server's TIME-WAIT, every 32,000 or so connections.
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%*sources))}}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := d.Dial("tcp4", ln.Addr().String())
			if err != nil {
				failed.Add(1)
				return
			}
			io.Copy(io.Discard, c)
			c.Close()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	fmt.Printf("connections %d failed %d seconds %.2f rate %.0f\n", *n, failed.Load(), el.Seconds(), float64(*n)/el.Seconds())
	return nil
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
