package tracefs

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"synfin/lab/kernel"
	"synfin/lab/netns"
)

// Event is one state change.
type Event struct {
	Time          time.Time // the kernel's time stamp, as wall clock
	Local, Remote netip.AddrPort
	Old, New      kernel.State
	// Task is true when the change was made in process context (a
	// system call such as connect or close): Pid and Comm are then the
	// process acting on the socket. In softirq context (packets
	// arriving) they are whatever task the CPU was running, and are
	// left empty.
	Task bool
	Pid  int
	Comm string
}

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
	s.offset = monoOffset()
	if err := os.WriteFile(filepath.Join(ev, "enable"), []byte("1"), 0); err != nil {
		s.Close()
		return nil, fmt.Errorf("tracefs: enable inet_sock_set_state: %w", err)
	}
	return s, nil
}

// monoOffset returns wall clock minus CLOCK_MONOTONIC.
func monoOffset() time.Duration {
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

var (
	marker  = []byte(": inet_sock_set_state: ")
	lostTag = []byte(" EVENTS]")
)

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

// Parse reads one trace_pipe line; offset turns the monotonic time stamp
// into wall clock. ok is false for other lines; lost is the count of a
// "[LOST N EVENTS]" note.
func Parse(line []byte, offset time.Duration, e *Event) (ok bool, lost uint64, err error) {
	mi := bytes.Index(line, marker)
	if mi < 0 {
		if i := bytes.Index(line, []byte("[LOST ")); i >= 0 && bytes.HasSuffix(line, lostTag) {
			n, err := strconv.ParseUint(string(line[i+6:len(line)-len(lostTag)]), 10, 64)
			return false, n, err
		}
		return false, 0, nil
	}
	head, body := line[:mi], line[mi+len(marker):]
	bad := func() (bool, uint64, error) { return false, 0, fmt.Errorf("tracefs: bad line %q", line) }
	lb, rb := bytes.LastIndexByte(head, '['), bytes.LastIndexByte(head, ']')
	if lb < 0 || rb < lb {
		return bad()
	}
	// The flags, then the time stamp.
	flags, ts, _ := bytes.Cut(bytes.TrimSpace(head[rb+1:]), []byte(" "))
	ts = bytes.TrimSpace(ts)
	if len(flags) < 3 || len(ts) == 0 {
		return bad()
	}
	dot := bytes.IndexByte(ts, '.')
	if dot < 0 {
		return bad()
	}
	sec, ok1 := atoi(ts[:dot])
	frac, ok2 := atoi(ts[dot+1:])
	if !ok1 || !ok2 {
		return bad()
	}
	for i := len(ts) - dot - 1; i < 9; i++ {
		frac *= 10
	}
	e.Time = time.Unix(0, int64(sec*1e9+frac)+int64(offset))
	switch flags[2] { // '.' or 'b' (softirqs off): process context
	case '.', 'b':
		e.Task = true
		task := bytes.TrimSpace(head[:lb])
		if i := bytes.LastIndexByte(task, '-'); i >= 0 {
			p, _ := atoi(task[i+1:])
			e.Pid = int(p)
			if c := task[:i]; e.Comm != string(c) {
				e.Comm = string(c)
			}
		}
	default:
		e.Task, e.Pid, e.Comm = false, 0, ""
	}
	var sport, dport uint64
	var saddr, daddr, s6, d6 []byte
	var v6 bool
	var old, nw kernel.State
	for len(body) > 0 {
		var w []byte
		if i := bytes.IndexByte(body, ' '); i >= 0 {
			w, body = body[:i], body[i+1:]
		} else {
			w, body = body, nil
		}
		eq := bytes.IndexByte(w, '=')
		if eq < 0 {
			continue
		}
		k, v := string(w[:eq]), w[eq+1:] // string(k) in a switch does not allocate
		var okv bool
		switch k {
		case "family":
			v6, okv = string(v) == "AF_INET6", true
		case "protocol":
			okv = string(v) == "IPPROTO_TCP"
		case "sport":
			sport, okv = atoi(v)
		case "dport":
			dport, okv = atoi(v)
		case "saddr":
			saddr, okv = v, true
		case "daddr":
			daddr, okv = v, true
		case "saddrv6":
			s6, okv = v, true
		case "daddrv6":
			d6, okv = v, true
		case "oldstate":
			old, okv = state(v)
		case "newstate":
			nw, okv = state(v)
		default:
			okv = true
		}
		if !okv {
			return bad()
		}
	}
	if v6 {
		saddr, daddr = s6, d6
	}
	sa, err1 := parseAddr(saddr)
	da, err2 := parseAddr(daddr)
	if err1 != nil || err2 != nil || old == 0 || nw == 0 || sport > 65535 || dport > 65535 {
		return bad()
	}
	e.Local = netip.AddrPortFrom(sa, uint16(sport))
	e.Remote = netip.AddrPortFrom(da, uint16(dport))
	e.Old, e.New = old, nw
	return true, 0, nil
}

// parseAddr reads an address; IPv4 without allocating.
func parseAddr(b []byte) (netip.Addr, error) {
	if bytes.IndexByte(b, ':') >= 0 {
		a, err := netip.ParseAddr(string(b))
		return a.Unmap(), err
	}
	var v4 [4]byte
	for i := range 4 {
		end := bytes.IndexByte(b, '.')
		if i == 3 {
			end = len(b)
		}
		n, ok := atoi(b[:max(end, 0)])
		if end < 0 || !ok || n > 255 {
			return netip.Addr{}, errors.New("tracefs: bad IPv4 address")
		}
		v4[i] = byte(n)
		b = b[min(end+1, len(b)):]
	}
	return netip.AddrFrom4(v4), nil
}

func atoi(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

var stateNames = func() map[string]kernel.State {
	m := map[string]kernel.State{}
	for s := kernel.Established; s <= kernel.NewSynRecv; s++ {
		m[s.String()] = s
	}
	return m
}()

func state(b []byte) (kernel.State, bool) {
	s, ok := stateNames[string(b)]
	return s, ok
}
