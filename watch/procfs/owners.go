package procfs

import (
	"os"
	"strconv"
	"strings"
)

// Owner is the process holding a socket.
type Owner struct {
	Pid  int
	Comm string
}

// Owners finds the processes that hold the sockets whose inodes want
// lists, by reading every /proc/PID/fd. A socket shared by several
// processes (after fork) is given to the lowest pid, the parent as a
// rule. Processes this one may not look into (without
// CAP_SYS_PTRACE, other users') are skipped: their sockets stay unowned.
func Owners(want map[uint32]bool) map[uint32]Owner {
	out := map[uint32]Owner{}
	if len(want) == 0 {
		return out
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	var link [64]byte
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + p.Name() + "/fd/"
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		var comm string
		for _, fd := range fds {
			n, err := readlink(dir+fd.Name(), link[:])
			if err != nil {
				continue
			}
			s := string(link[:n])
			if !strings.HasPrefix(s, "socket:[") {
				continue
			}
			ino, err := strconv.ParseUint(strings.TrimSuffix(s[8:], "]"), 10, 32)
			if err != nil || !want[uint32(ino)] {
				continue
			}
			if o, ok := out[uint32(ino)]; ok && o.Pid < pid {
				continue
			}
			if comm == "" {
				c, _ := os.ReadFile("/proc/" + p.Name() + "/comm")
				comm = strings.TrimSpace(string(c))
			}
			out[uint32(ino)] = Owner{Pid: pid, Comm: comm}
		}
	}
	return out
}

// Process returns the process (thread group) a thread belongs to, with
// the process's name: the tracepoint names the thread.
func Process(tid int) (Owner, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return Owner{}, false
	}
	var o Owner
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "Name":
			o.Comm = strings.TrimSpace(v)
		case "Tgid":
			o.Pid, _ = strconv.Atoi(strings.TrimSpace(v))
			return o, o.Pid > 0
		}
	}
	return Owner{}, false
}
