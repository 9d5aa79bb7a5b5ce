package procfs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Counters are the kernel's TCP counters by nstat's names
// ("TcpExtListenOverflows", "TcpOutRsts").
type Counters map[string]uint64

// Watched are the counters watch reports, in the order it prints them.
var Watched = []string{
	"TcpExtListenOverflows", "TcpExtListenDrops",
	"TcpExtSyncookiesSent", "TcpExtSyncookiesRecv", "TcpExtSyncookiesFailed",
	"TcpExtTCPTimeWaitOverflow",
	"TcpActiveOpens", "TcpPassiveOpens", "TcpAttemptFails", "TcpEstabResets", "TcpOutRsts",
	"TcpExtTCPAbortOnData", "TcpExtTCPAbortOnClose", "TcpExtTCPAbortOnMemory",
	"TcpExtTCPAbortOnTimeout", "TcpExtTCPAbortOnLinger", "TcpExtTCPAbortFailed",
}

// Host is a namespace's counter and sysctl files, open.
type Host struct {
	counters []*os.File // netstat, snmp
	sysctls  map[string]*os.File
	buf      []byte
}

// Sysctl names read by Sysctls.
const (
	Somaxconn = "net/core/somaxconn"
	PortRange = "net/ipv4/ip_local_port_range"
	TwReuse   = "net/ipv4/tcp_tw_reuse"
)

// Open opens the files; call it on a thread in the namespace (see
// sockdiag.InNetns). /proc/thread-self is that thread's view.
func Open() (*Host, error) {
	h := &Host{sysctls: map[string]*os.File{}, buf: make([]byte, 0, 16<<10)}
	for _, n := range []string{"/proc/thread-self/net/netstat", "/proc/thread-self/net/snmp"} {
		f, err := os.Open(n)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("procfs: %w", err)
		}
		h.counters = append(h.counters, f)
	}
	for _, n := range []string{Somaxconn, PortRange, TwReuse} {
		if f, err := os.Open("/proc/sys/" + n); err == nil {
			h.sysctls[n] = f
		}
	}
	return h, nil
}

// Close closes the files.
func (h *Host) Close() error {
	for _, f := range h.counters {
		f.Close()
	}
	for _, f := range h.sysctls {
		f.Close()
	}
	return nil
}

func (h *Host) reread(f *os.File) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h.buf = h.buf[:0]
	for {
		if len(h.buf) == cap(h.buf) {
			h.buf = append(h.buf, 0)[:len(h.buf)]
		}
		n, err := f.Read(h.buf[len(h.buf):cap(h.buf)])
		h.buf = h.buf[:len(h.buf)+n]
		if err == io.EOF || n == 0 && err == nil {
			return h.buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Counters reads every TCP counter (Tcp and TcpExt) into c.
func (h *Host) Counters(c Counters) error {
	for _, f := range h.counters {
		b, err := h.reread(f)
		if err != nil {
			return fmt.Errorf("procfs: %s: %w", f.Name(), err)
		}
		if err := ParseCounters(b, c); err != nil {
			return err
		}
	}
	return nil
}

// ParseCounters reads a /proc/net/netstat or /proc/net/snmp text: pairs
// of lines, names then values, each starting with its group ("TcpExt:").
// Only the Tcp and TcpExt groups are kept.
func ParseCounters(b []byte, c Counters) error {
	lines := bytes.Split(b, []byte("\n"))
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(string(lines[i])), strings.Fields(string(lines[i+1]))
		if len(names) == 0 {
			i--
			continue
		}
		if len(names) != len(values) || names[0] != values[0] {
			return fmt.Errorf("procfs: counters: line %d does not match its names", i+2)
		}
		group := strings.TrimSuffix(names[0], ":")
		if group != "Tcp" && group != "TcpExt" {
			continue
		}
		for j := 1; j < len(names); j++ {
			v, err := strconv.ParseInt(values[j], 10, 64)
			if err != nil {
				return fmt.Errorf("procfs: counter %s%s: %w", group, names[j], err)
			}
			// Tcp's MaxConn is -1 ("no limit"); counters never are.
			c[group+names[j]] = uint64(max(v, 0))
		}
	}
	return nil
}

// Sysctl rereads a sysctl opened by Open; ok is false if it could not be
// opened or read.
func (h *Host) Sysctl(name string) (fields []int, ok bool) {
	f := h.sysctls[name]
	if f == nil {
		return nil, false
	}
	b, err := h.reread(f)
	if err != nil {
		return nil, false
	}
	for _, w := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(w)
		if err != nil {
			return nil, false
		}
		fields = append(fields, n)
	}
	return fields, len(fields) > 0
}
