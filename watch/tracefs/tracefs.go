package tracefs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"synfin/lab/kernel"
	"synfin/lab/netns"
)

// Source reads the tracepoint from its tracefs instance.
type Source struct {
	dir    string
	fd     int
	offset time.Duration
	lost   atomic.Uint64
	bad    atomic.Uint64
}

// Open creates the instance with bufferKB of ring buffer per CPU,
// enables the tracepoint for TCP only and opens trace_pipe. It needs
// root (or CAP_SYS_ADMIN over tracefs).
func Open(bufferKB int) (*Source, error) {
	root, err := kernel.FindTraceFS()
	if err != nil {
		return nil, err
	}
	s := &Source{dir: filepath.Join(root, "instances", netns.UniqueName()), fd: -1}
	if err := os.Mkdir(s.dir, 0o750); err != nil {
		return nil, fmt.Errorf("tracefs: create instance: %w", err)
	}
	ev := filepath.Join(s.dir, "events", "sock", "inet_sock_set_state")
	steps := [][2]string{
		{filepath.Join(s.dir, "trace_clock"), "mono"},
		{filepath.Join(s.dir, "buffer_size_kb"), strconv.Itoa(bufferKB)},
		{filepath.Join(ev, "filter"), "protocol == 6"},
	}
	for _, st := range steps {
		if err := os.WriteFile(st[0], []byte(st[1]), 0); err != nil {
			s.Close()
			return nil, fmt.Errorf("tracefs: write %q to %s: %w", st[1], filepath.Base(st[0]), err)
		}
	}
	s.fd, err = unix.Open(filepath.Join(s.dir, "trace_pipe"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("tracefs: open trace_pipe: %w", err)
	}
	s.offset = MonoOffset()
	if err := os.WriteFile(filepath.Join(ev, "enable"), []byte("1"), 0); err != nil {
		s.Close()
		return nil, fmt.Errorf("tracefs: enable inet_sock_set_state: %w", err)
	}
	return s, nil
}

// MonoOffset returns wall clock minus CLOCK_MONOTONIC, the clock the
// tracepoint's time stamps count (here and in package bpf).
func MonoOffset() time.Duration {
	var ts unix.Timespec
	before := time.Now()
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	after := time.Now()
	return time.Duration(before.UnixNano() + after.Sub(before).Nanoseconds()/2 - ts.Nano())
}

// Lost returns how many events the kernel reported losing.
func (s *Source) Lost() uint64 { return s.lost.Load() }

// Bad returns how many lines could not be parsed.
func (s *Source) Bad() uint64 { return s.bad.Load() }

// Read hands every event to fn until stop is closed, then returns; fn
// runs on Read's goroutine. While fn is slow the kernel's buffer holds
// what comes, and what overflows it is counted in Lost.
func (s *Source) Read(stop <-chan struct{}, fn func(*Event)) error {
	buf := make([]byte, 256<<10)
	var pending []byte
	var e Event
	for {
		n, err := unix.Read(s.fd, buf)
		if n > 0 {
			b := buf[:n]
			if len(pending) > 0 {
				b = append(pending, b...)
			}
			for {
				i := bytes.IndexByte(b, '\n')
				if i < 0 {
					break
				}
				switch ok, lost := s.parse(b[:i], &e); {
				case lost > 0:
					s.lost.Add(lost)
				case ok:
					fn(&e)
				}
				b = b[i+1:]
			}
			pending = append(pending[:0], b...)
			continue
		}
		switch {
		case err == nil, errors.Is(err, unix.EAGAIN):
		case errors.Is(err, unix.EINTR):
			continue
		default:
			return fmt.Errorf("tracefs: read trace_pipe: %w", err)
		}
		select {
		case <-stop:
			return nil
		default:
		}
		unix.Poll([]unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}, 100)
	}
}

// Close disables the event and removes the instance.
func (s *Source) Close() error {
	os.WriteFile(filepath.Join(s.dir, "events", "sock", "inet_sock_set_state", "enable"), []byte("0"), 0)
	if s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
	var err error
	for range 50 { // the kernel may hold the instance briefly
		if err = unix.Rmdir(s.dir); err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("tracefs: remove instance %s: %w", filepath.Base(s.dir), err)
}

// parse reads one trace_pipe line into e without allocating (but for
// Comm in process context):
//
//	curl-1234 [001] ..s2. 5043.123456: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=41631 dport=9988 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_SYN_SENT newstate=TCP_ESTABLISHED
//
// or a "CPU:1 [LOST 42 EVENTS]" note, whose count it returns.
func (s *Source) parse(line []byte, e *Event) (ok bool, lost uint64) {
	ok, lost, err := Parse(line, s.offset, e)
	if err != nil {
		s.bad.Add(1)
	}
	return ok, lost
}
