package tracefs

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"synfin/lab/kernel"
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

var (
	marker  = []byte(": inet_sock_set_state: ")
	lostTag = []byte(" EVENTS]")
)

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
