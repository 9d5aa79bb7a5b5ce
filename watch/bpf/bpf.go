package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"synfin/lab/kernel"
	"synfin/watch/tracefs"
)

// The record the program writes, in the ring buffer:
//
//	0  u64 bpf_ktime_get_ns (CLOCK_MONOTONIC)
//	8  u64 bpf_get_current_pid_tgid
//	16 the tracepoint's fields from skaddr on, as its format gives them
//	   (offset 8 to 72 there): skaddr, oldstate, newstate, sport, dport,
//	   family, protocol, saddr, daddr, saddr_v6, daddr_v6
//	80 comm[16]
const (
	recSize  = 96
	tpFields = 8  // offset of skaddr in the tracepoint's record
	tpEnd    = 72 // its end
	tpOffset = 16 // where its fields go in ours
	commOff  = 80
)

// layout is where the tracepoint's format puts the fields the program
// copies and decode reads (offset, size), as on every kernel since 4.16.
var layout = map[string][2]int{
	"skaddr": {8, 8}, "oldstate": {16, 4}, "newstate": {20, 4},
	"sport": {24, 2}, "dport": {26, 2}, "family": {28, 2}, "protocol": {30, 2},
	"saddr": {32, 4}, "daddr": {36, 4}, "saddr_v6": {40, 16}, "daddr_v6": {56, 16},
}

// checkLayout reads the tracepoint's format and refuses a layout other
// than the one the program reads.
func checkLayout() error {
	root, err := kernel.FindTraceFS()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(root, "events", "sock", "inet_sock_set_state", "format"))
	if err != nil {
		return err
	}
	found := 0
	for _, l := range strings.Split(string(b), "\n") {
		// field:__u8 saddr[4];	offset:32;	size:4;	signed:0;
		f := strings.Split(strings.TrimSpace(l), ";")
		if len(f) < 3 || !strings.HasPrefix(f[0], "field:") {
			continue
		}
		var off, size int
		decl := strings.TrimSuffix(f[0], "]")
		decl = decl[strings.LastIndexAny(decl, " *")+1:]
		if i := strings.IndexByte(decl, '['); i >= 0 {
			decl = decl[:i]
		}
		_, e1 := fmt.Sscanf(strings.TrimSpace(f[1]), "offset:%d", &off)
		_, e2 := fmt.Sscanf(strings.TrimSpace(f[2]), "size:%d", &size)
		if want, ok := layout[decl]; ok {
			if e1 != nil || e2 != nil || want != [2]int{off, size} {
				return fmt.Errorf("bpf: inet_sock_set_state's field %s is at %d (size %d), not where this program reads it", decl, off, size)
			}
			found++
		}
	}
	if found != len(layout) {
		return errors.New("bpf: inet_sock_set_state lacks fields this program reads")
	}
	return nil
}

// bySyscall reports whether a change is made by a system call, in the
// process acting on the socket: connect, listen, close and shutdown.
// Others come with packets, in softirq, whatever task the CPU ran then.
// (A tracepoint program cannot read the context flags trace_pipe
// prints, and reading preempt_count needs a kernel that lists its
// per-CPU variables.) A close that resets a connection (to CLOSE) is
// left out, as a reset received makes the same change.
func bySyscall(old, nw kernel.State) bool {
	switch nw {
	case kernel.SynSent, kernel.Listen, kernel.FinWait1, kernel.LastAck:
		return true
	}
	return old == kernel.Listen && nw == kernel.Close
}

// Source reads the tracepoint through an eBPF program and a ring buffer.
type Source struct {
	events, lost *ebpf.Map
	prog         *ebpf.Program
	link         link.Link
	rd           *ringbuf.Reader
	offset       time.Duration
}

// Open loads the program with a ring buffer of bufferKB (rounded up to
// a power of two) and attaches it. It needs CAP_BPF and CAP_PERFMON (or
// root).
func Open(bufferKB int) (_ *Source, err error) {
	size := uint32(os.Getpagesize())
	for size < uint32(bufferKB)<<10 {
		size <<= 1
	}
	s := &Source{}
	defer func() {
		if err != nil {
			s.Close()
		}
		if errors.Is(err, unix.EPERM) { // not memlock, as cilium/ebpf guesses: kernels since 5.11 charge memory to the cgroup
			err = errors.New("bpf: not permitted (needs CAP_BPF and CAP_PERFMON)")
		}
	}()
	if s.events, err = ebpf.NewMap(&ebpf.MapSpec{Name: "synfin_events", Type: ebpf.RingBuf, MaxEntries: size}); err != nil {
		return nil, fmt.Errorf("bpf: ring buffer: %w", err)
	}
	if s.lost, err = ebpf.NewMap(&ebpf.MapSpec{Name: "synfin_lost", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1}); err != nil {
		return nil, fmt.Errorf("bpf: lost counter: %w", err)
	}
	if err = checkLayout(); err != nil {
		return nil, err
	}
	insns := program(s.events.FD(), s.lost.FD(), int(size/8))
	if s.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{Name: "synfin_state", Type: ebpf.TracePoint, License: "GPL", Instructions: insns}); err != nil {
		return nil, fmt.Errorf("bpf: load program: %w", err)
	}
	if s.rd, err = ringbuf.NewReader(s.events); err != nil {
		return nil, fmt.Errorf("bpf: %w", err)
	}
	s.offset = tracefs.MonoOffset()
	if s.link, err = link.Tracepoint("sock", "inet_sock_set_state", s.prog, nil); err != nil {
		return nil, fmt.Errorf("bpf: attach to sock/inet_sock_set_state: %w", err)
	}
	return s, nil
}

// program is the tracepoint program: TCP only, one record per event in
// the ring buffer, or one more in the lost counter when it is full.
func program(events, lost, wakeAt int) asm.Instructions {
	in := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R2, asm.R6, 30, asm.Half), // protocol
		asm.JNE.Imm(asm.R2, unix.IPPROTO_TCP, "exit"),
		asm.LoadMapPtr(asm.R1, events),
		asm.Mov.Imm(asm.R2, recSize),
		asm.Mov.Imm(asm.R3, 0),
		asm.FnRingbufReserve.Call(),
		asm.JEq.Imm(asm.R0, 0, "lost"),
		asm.Mov.Reg(asm.R7, asm.R0),
		asm.FnKtimeGetNs.Call(),
		asm.StoreMem(asm.R7, 0, asm.R0, asm.DWord),
		asm.FnGetCurrentPidTgid.Call(),
		asm.StoreMem(asm.R7, 8, asm.R0, asm.DWord),
	}
	for off := tpFields; off < tpEnd; off += 8 {
		in = append(in,
			asm.LoadMem(asm.R2, asm.R6, int16(off), asm.DWord),
			asm.StoreMem(asm.R7, int16(off-tpFields+tpOffset), asm.R2, asm.DWord))
	}
	return append(in,
		asm.Mov.Reg(asm.R1, asm.R7),
		asm.Add.Imm(asm.R1, commOff),
		asm.Mov.Imm(asm.R2, 16),
		asm.FnGetCurrentComm.Call(),
		// Wake the reader only once the buffer fills past an eighth: a
		// wake-up per event cost the kernel more than the event (the
		// reader polls besides, every pollEvery).
		asm.LoadMapPtr(asm.R1, events),
		asm.Mov.Imm(asm.R2, 0), // BPF_RB_AVAIL_DATA
		asm.FnRingbufQuery.Call(),
		asm.Mov.Imm(asm.R2, 1), // BPF_RB_NO_WAKEUP
		asm.JLT.Imm(asm.R0, int32(wakeAt), "submit"),
		asm.Mov.Imm(asm.R2, 2), // BPF_RB_FORCE_WAKEUP
		asm.Mov.Reg(asm.R1, asm.R7).WithSymbol("submit"),
		asm.FnRingbufSubmit.Call(),
		asm.Ja.Label("exit"),

		asm.Mov.Imm(asm.R1, 0).WithSymbol("lost"),
		asm.StoreMem(asm.RFP, -4, asm.R1, asm.Word),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, lost),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "exit"),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord), // per CPU: no other writer
		asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),

		asm.Mov.Imm(asm.R0, 0).WithSymbol("exit"),
		asm.Return(),
	)
}

// Lost returns how many events the program could not put in the full
// ring buffer, and how often the kernel did not run it because another
// tracing program ran on that CPU.
func (s *Source) Lost() uint64 {
	var n uint64
	var per []uint64
	if s.lost.Lookup(uint32(0), &per) == nil {
		for _, v := range per {
			n += v
		}
	}
	if st, err := s.prog.Stats(); err == nil {
		n += st.RecursionMisses
	}
	return n
}

// pollEvery is how often Read looks for events when the program has not
// woken it.
const pollEvery = 50 * time.Millisecond

// Read hands every event to fn until stop is closed, then returns; fn
// runs on Read's goroutine.
func (s *Source) Read(stop <-chan struct{}, fn func(*tracefs.Event)) error {
	var rec ringbuf.Record
	var e tracefs.Event
	s.rd.SetDeadline(time.Now().Add(pollEvery))
	for {
		err := s.rd.ReadInto(&rec)
		switch {
		case err == nil:
			if s.decode(rec.RawSample, &e) {
				fn(&e)
			}
		case errors.Is(err, os.ErrDeadlineExceeded): // all read
			select {
			case <-stop:
				return nil
			default:
			}
			s.rd.SetDeadline(time.Now().Add(pollEvery))
		case errors.Is(err, ringbuf.ErrClosed):
			return nil
		default:
			return fmt.Errorf("bpf: read ring buffer: %w", err)
		}
	}
}

// decode reads a record into e.
func (s *Source) decode(b []byte, e *tracefs.Event) bool {
	if len(b) < recSize {
		return false
	}
	le := binary.NativeEndian // the program wrote it on this machine
	e.Time = time.Unix(0, int64(le.Uint64(b))+int64(s.offset))
	f := b[tpOffset-tpFields:]
	old, nw := kernel.State(le.Uint32(f[16:])), kernel.State(le.Uint32(f[20:]))
	if old < kernel.Established || old > kernel.NewSynRecv || nw < kernel.Established || nw > kernel.NewSynRecv {
		return false
	}
	e.Old, e.New = old, nw
	sport, dport := le.Uint16(f[24:]), le.Uint16(f[26:])
	var sa, da netip.Addr
	switch le.Uint16(f[28:]) {
	case unix.AF_INET:
		sa, da = netip.AddrFrom4([4]byte(f[32:36])), netip.AddrFrom4([4]byte(f[36:40]))
	case unix.AF_INET6:
		sa, da = netip.AddrFrom16([16]byte(f[40:56])).Unmap(), netip.AddrFrom16([16]byte(f[56:72])).Unmap()
	default:
		return false
	}
	e.Local, e.Remote = netip.AddrPortFrom(sa, sport), netip.AddrPortFrom(da, dport)
	if e.Task = bySyscall(old, nw); e.Task {
		e.Pid = int(uint32(le.Uint64(b[8:])))
		comm := b[commOff : commOff+16]
		if i := bytes.IndexByte(comm, 0); i >= 0 {
			comm = comm[:i]
		}
		if e.Comm != string(comm) {
			e.Comm = string(comm)
		}
	} else {
		e.Pid, e.Comm = 0, ""
	}
	return true
}

// Close detaches the program and frees its maps.
func (s *Source) Close() error {
	var errs []error
	if s.link != nil {
		errs = append(errs, s.link.Close())
	}
	if s.rd != nil {
		errs = append(errs, s.rd.Close())
	}
	if s.prog != nil {
		errs = append(errs, s.prog.Close())
	}
	for _, m := range []*ebpf.Map{s.events, s.lost} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	return errors.Join(errs...)
}
