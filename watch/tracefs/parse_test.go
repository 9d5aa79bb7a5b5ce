package tracefs_test

import (
	"testing"
	"time"

	"synfin/lab/kernel"
	"synfin/watch/tracefs"
)

// Lines in the format of the event's print format, as the kernel writes
// them to trace_pipe (flags of a task in process context, then of a
// softirq).
var lines = []string{
	`curl-1234 [001] ..... 5043.123456: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=0 dport=9988 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT`,
	`          <idle>-0       [000] ..s2. 5043.123512: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=41631 dport=9988 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_SYN_SENT newstate=TCP_ESTABLISHED`,
	`   python3-77 [003] b..1. 12.000001: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=443 dport=50000 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=2001:db8::1 daddrv6=2001:db8::2 oldstate=TCP_CLOSE_WAIT newstate=TCP_LAST_ACK`,
	`ksoftirqd/1-22 [001] ..s.. 99.5: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=9988 dport=41631 saddr=10.0.0.2 daddr=10.0.0.1 saddrv6=::ffff:10.0.0.2 daddrv6=::ffff:10.0.0.1 oldstate=TCP_LISTEN newstate=TCP_SYN_RECV`,
}

// TestParse: the parser reads what the lab's parser (lab/kernel, checked
// there against the kernel's own transitions) reads, and tells process
// context from softirq by the flags.
func TestParse(t *testing.T) {
	task := []bool{true, false, true, false}
	for i, l := range lines {
		want, ok, err := kernel.ParseLine(l, time.Hour)
		if !ok || err != nil {
			t.Fatalf("kernel.ParseLine(%q): %v %v", l, ok, err)
		}
		var e tracefs.Event
		ok, lost, err := tracefs.Parse([]byte(l), time.Hour, &e)
		if !ok || lost != 0 || err != nil {
			t.Fatalf("Parse(%q): %v %d %v", l, ok, lost, err)
		}
		if !e.Time.Equal(want.Time) || e.Local != want.Src || e.Remote != want.Dst || e.Old != want.Old || e.New != want.New {
			t.Errorf("line %d: %+v, lab/kernel reads %+v", i, e, want)
		}
		if e.Task != task[i] || task[i] && (e.Pid != want.Pid || e.Comm != want.Comm) {
			t.Errorf("line %d: task %v pid %d comm %q", i, e.Task, e.Pid, e.Comm)
		}
	}
}

func TestParseOther(t *testing.T) {
	for _, tc := range []struct {
		line string
		lost uint64
		bad  bool
	}{
		{"CPU:1 [LOST 42 EVENTS]", 42, false},
		{"##### CPU 1 buffer started ####", 0, false},
		{"x-1 [000] ..... 1.0: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=1 dport=2 saddr=1.2.3.4 daddr=bad saddrv6=:: daddrv6=:: oldstate=TCP_CLOSE newstate=TCP_SYN_SENT", 0, true},
		{"x-1 [000] ..... 1.0: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=1 dport=2 saddr=1.2.3.4 daddr=1.2.3.4 oldstate=TCP_NOPE newstate=TCP_SYN_SENT", 0, true},
		{"x-1 [000] 1.0: inet_sock_set_state: family=AF_INET", 0, true},
	} {
		var e tracefs.Event
		ok, lost, err := tracefs.Parse([]byte(tc.line), 0, &e)
		if ok || lost != tc.lost || (err != nil) != tc.bad {
			t.Errorf("%q: ok %v lost %d err %v", tc.line, ok, lost, err)
		}
	}
}

// TestParseAllocs: a softirq event (most of them) costs no allocation;
// in process context the name is kept as a string only when it changes.
func TestParseAllocs(t *testing.T) {
	var e tracefs.Event
	for _, i := range []int{1, 0} {
		b := []byte(lines[i])
		tracefs.Parse(b, 0, &e)
		if n := testing.AllocsPerRun(100, func() { tracefs.Parse(b, 0, &e) }); n != 0 {
			t.Errorf("line %d: %v allocations", i, n)
		}
	}
}
