package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"synfin/lab/netns"
)

// The tracepoint that reports TCP state changes.
const (
	eventSystem = "sock"
	eventName   = "inet_sock_set_state"
)

// Event is one inet_sock_set_state record.
type Event struct {
	Time   time.Time // wall clock, converted from CLOCK_MONOTONIC
	Family int       // unix.AF_INET or unix.AF_INET6
	Src    netip.AddrPort
	Dst    netip.AddrPort
	Old    State
	New    State
	Comm   string // task that was running, often not the socket's owner
	Pid    int
	CPU    int
}

// String formats the event as "127.0.0.1:41631 > 127.0.0.1:9988
// TCP_SYN_SENT -> TCP_ESTABLISHED".
func (e Event) String() string {
	return fmt.Sprintf("%s > %s %s -> %s", e.Src, e.Dst, e.Old, e.New)
}

// Filter chooses which events the kernel records.
type Filter struct {
	// Ports keeps events whose source or destination port is one of
	// these; empty keeps every TCP event.
	Ports []uint16
}

// expr returns the tracefs filter expression.
func (f Filter) expr() string {
	e := "protocol == 6"
	if len(f.Ports) > 0 {
		var parts []string
		for _, p := range f.Ports {
			parts = append(parts, fmt.Sprintf("sport == %d || dport == %d", p, p))
		}
		e += " && (" + strings.Join(parts, " || ") + ")"
	}
	return e
}

// FindTraceFS returns where tracefs is mounted, mounting it on
// /sys/kernel/tracing if it is not mounted anywhere.
func FindTraceFS() (string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("kernel: %w", err)
	}
	var found []string
	for line := range strings.SplitSeq(string(b), "\n") {
		// ... mountpoint ... - fstype source options
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f := strings.Fields(pre)
		if len(f) >= 5 && strings.HasPrefix(post, "tracefs ") {
			found = append(found, unescapeMount(f[4]))
		}
	}
	for _, p := range found {
		if p == "/sys/kernel/tracing" {
			return p, nil
		}
	}
	if len(found) > 0 {
		return found[0], nil
	}
	const dir = "/sys/kernel/tracing"
	if err := unix.Mount("nodev", dir, "tracefs", 0, ""); err != nil {
		return "", fmt.Errorf("kernel: tracefs is not mounted and mounting it on %s failed: %w", dir, err)
	}
	return dir, nil
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Recorder records inet_sock_set_state events in a private tracefs
// instance, so it neither disturbs nor sees other users of tracing.
type Recorder struct {
	dir    string // the instance directory
	fd     int
	offset time.Duration // wall clock minus CLOCK_MONOTONIC
	stop   chan struct{}
	done   chan struct{}

	mu      sync.Mutex
	events  []Event
	bad     int
	readErr error
	once    sync.Once
	stopErr error
	notify  func(Event)
}

// Start creates the instance synfin-<pid>-<random>, enables only the
// tracepoint with f's filter and starts reading it. notify, if not nil,
// is called for each event as it is read.
func Start(f Filter, notify func(Event)) (*Recorder, error) {
	root, err := FindTraceFS()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "instances", netns.UniqueName())
	if err := os.Mkdir(dir, 0o750); err != nil {
		return nil, fmt.Errorf("kernel: create tracefs instance: %w", err)
	}
	r := &Recorder{dir: dir, fd: -1, stop: make(chan struct{}), done: make(chan struct{}), notify: notify}
	fail := func(err error) (*Recorder, error) {
		r.remove()
		return nil, err
	}
	ev := filepath.Join(dir, "events", eventSystem, eventName)
	if _, err := os.Stat(ev); err != nil {
		return fail(fmt.Errorf("kernel: tracepoint %s/%s not available: %w", eventSystem, eventName, err))
	}
	// A monotonic trace clock converts to wall time with one offset.
	if err := writeFile(filepath.Join(dir, "trace_clock"), "mono"); err != nil {
		return fail(err)
	}
	if err := writeFile(filepath.Join(ev, "filter"), f.expr()); err != nil {
		return fail(err)
	}
	fd, err := unix.Open(filepath.Join(dir, "trace_pipe"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(fmt.Errorf("kernel: open trace_pipe: %w", err))
	}
	r.fd = fd
	r.offset = monoOffset()
	if err := writeFile(filepath.Join(ev, "enable"), "1"); err != nil {
		return fail(err)
	}
	go r.read()
	return r, nil
}

func writeFile(name, s string) error {
	if err := os.WriteFile(name, []byte(s), 0); err != nil {
		return fmt.Errorf("kernel: write %q to %s: %w", s, filepath.Base(name), err)
	}
	return nil
}

// monoOffset returns wall clock minus CLOCK_MONOTONIC.
func monoOffset() time.Duration {
	var ts unix.Timespec
	before := time.Now()
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	after := time.Now()
	wall := before.UnixNano() + after.Sub(before).Nanoseconds()/2
	return time.Duration(wall - ts.Nano())
}

// read drains trace_pipe until Stop, polling so Stop never waits on a
// blocked read.
func (r *Recorder) read() {
	defer close(r.done)
	buf := make([]byte, 64<<10)
	var pending []byte
	drain := func() error {
		for {
			n, err := unix.Read(r.fd, buf)
			if n > 0 {
				pending = append(pending, buf[:n]...)
				pending = r.lines(pending)
			}
			switch {
			case errors.Is(err, unix.EAGAIN), err == nil && n == 0:
				return nil
			case errors.Is(err, unix.EINTR):
				continue
			case err != nil:
				return err
			}
		}
	}
	for {
		if err := drain(); err != nil {
			r.mu.Lock()
			r.readErr = fmt.Errorf("kernel: read trace_pipe: %w", err)
			r.mu.Unlock()
			return
		}
		select {
		case <-r.stop:
			drain()
			return
		default:
		}
		fds := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}}
		unix.Poll(fds, 20)
	}
}

// lines parses the complete lines in b and returns the rest.
func (r *Recorder) lines(b []byte) []byte {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return b
		}
		line := string(b[:i])
		b = b[i+1:]
		e, ok, err := ParseLine(line, r.offset)
		if err != nil {
			r.mu.Lock()
			r.bad++
			r.mu.Unlock()
			continue
		}
		if !ok {
			continue
		}
		r.mu.Lock()
		r.events = append(r.events, e)
		r.mu.Unlock()
		if r.notify != nil {
			r.notify(e)
		}
	}
}

// Events returns the events read so far.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Stop disables the event, reads what is left, removes the instance and
// returns every event recorded. It is safe to call more than once.
func (r *Recorder) Stop() ([]Event, error) {
	r.once.Do(func() {
		writeFile(filepath.Join(r.dir, "events", eventSystem, eventName, "enable"), "0")
		close(r.stop)
		<-r.done
		r.mu.Lock()
		err := r.readErr
		r.mu.Unlock()
		r.stopErr = errors.Join(err, r.remove())
	})
	return r.Events(), r.stopErr
}

// remove closes trace_pipe and removes the instance directory (rmdir
// fails while the pipe is open).
func (r *Recorder) remove() error {
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
	var err error
	for range 50 { // the kernel may still hold the instance briefly
		err = unix.Rmdir(r.dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("kernel: remove tracefs instance %s: %w", filepath.Base(r.dir), err)
}

// ParseLine parses one trace_pipe line of inet_sock_set_state, such as
//
//	curl-1234 [001] ..s2. 5043.123456: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=41631 dport=9988 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_SYN_SENT newstate=TCP_ESTABLISHED
//
// ok is false for lines of other events and for the "CPU:n [LOST m
// EVENTS]" notes. offset converts the timestamp to wall clock.
func ParseLine(line string, offset time.Duration) (e Event, ok bool, err error) {
	head, body, found := strings.Cut(line, ": "+eventName+": ")
	if !found {
		return e, false, nil
	}
	// head: "<comm>-<pid> [<cpu>] <flags> <secs>.<usecs>"
	lb := strings.LastIndex(head, "[")
	rb := strings.LastIndex(head, "]")
	if lb < 0 || rb < lb {
		return e, false, fmt.Errorf("kernel: bad trace line %q", line)
	}
	task := strings.TrimSpace(head[:lb])
	if i := strings.LastIndexByte(task, '-'); i >= 0 {
		e.Comm = task[:i]
		e.Pid, _ = strconv.Atoi(task[i+1:])
	}
	e.CPU, _ = strconv.Atoi(head[lb+1 : rb])
	f := strings.Fields(head[rb+1:])
	if len(f) == 0 {
		return e, false, fmt.Errorf("kernel: no timestamp in %q", line)
	}
	ts := f[len(f)-1]
	secs, frac, _ := strings.Cut(ts, ".")
	s, err1 := strconv.ParseInt(secs, 10, 64)
	var ns int64
	if frac != "" {
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			err1 = err
		}
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		ns = n
	}
	if err1 != nil {
		return e, false, fmt.Errorf("kernel: bad timestamp %q", ts)
	}
	e.Time = time.Unix(0, s*1e9+ns+int64(offset))

	kv := map[string]string{}
	for _, w := range strings.Fields(body) {
		k, v, _ := strings.Cut(w, "=")
		kv[k] = v
	}
	if kv["protocol"] != "IPPROTO_TCP" {
		return e, false, nil
	}
	var src, dst string
	switch kv["family"] {
	case "AF_INET":
		e.Family, src, dst = unix.AF_INET, kv["saddr"], kv["daddr"]
	case "AF_INET6":
		e.Family, src, dst = unix.AF_INET6, kv["saddrv6"], kv["daddrv6"]
	default:
		return e, false, fmt.Errorf("kernel: unknown family in %q", line)
	}
	sa, err1 := netip.ParseAddr(src)
	da, err2 := netip.ParseAddr(dst)
	sp, err3 := strconv.ParseUint(kv["sport"], 10, 16)
	dp, err4 := strconv.ParseUint(kv["dport"], 10, 16)
	old, err5 := ParseState(kv["oldstate"])
	nw, err6 := ParseState(kv["newstate"])
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return e, false, fmt.Errorf("kernel: bad trace line %q: %w", line, err)
	}
	e.Src = netip.AddrPortFrom(sa, uint16(sp))
	e.Dst = netip.AddrPortFrom(da, uint16(dp))
	e.Old, e.New = old, nw
	return e, true, nil
}

// Instances lists synfin tracefs instances (of running labs too).
func Instances() ([]string, error) {
	root, err := FindTraceFS()
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(filepath.Join(root, "instances"))
	if err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), netns.Prefix+"-") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// SweepInstances removes synfin instances whose process is gone.
func SweepInstances() ([]string, error) {
	names, err := Instances()
	if err != nil {
		return nil, err
	}
	root, _ := FindTraceFS()
	var removed []string
	var errs []error
	for _, n := range names {
		if netns.OwnerAlive(n) {
			continue
		}
		if err := unix.Rmdir(filepath.Join(root, "instances", n)); err != nil {
			errs = append(errs, fmt.Errorf("kernel: sweep %s: %w", n, err))
			continue
		}
		removed = append(removed, n)
	}
	return removed, errors.Join(errs...)
}
