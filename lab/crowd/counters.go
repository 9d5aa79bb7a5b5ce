package crowd

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"synfin/lab/netns"
)

// Counters are the kernel's TCP counters of one network namespace, named
// as nstat(8) names them: the group and the field, "TcpExtListenOverflows",
// "TcpActiveOpens".
type Counters map[string]uint64

// ReadCounters reads /proc/net/netstat and /proc/net/snmp inside ns (the
// files follow the network namespace of the reading thread).
func ReadCounters(ns *netns.NS) (Counters, error) {
	c := Counters{}
	err := ns.Do(func() error {
		for _, name := range []string{"netstat", "snmp"} {
			b, err := os.ReadFile("/proc/thread-self/net/" + name)
			if err != nil {
				return fmt.Errorf("crowd: counters: %w", err)
			}
			if err := parseCounters(b, c); err != nil {
				return fmt.Errorf("crowd: /proc/net/%s: %w", name, err)
			}
		}
		return nil
	})
	return c, err
}

// parseCounters reads the pairs of lines of /proc/net/netstat and snmp:
// "Group: name name ..." then "Group: value value ...". Negative values
// (snmp's Tcp MaxConn is -1) are left out.
func parseCounters(b []byte, into Counters) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		names := strings.Fields(sc.Text())
		if !sc.Scan() {
			return fmt.Errorf("%s without values", names[0])
		}
		values := strings.Fields(sc.Text())
		if len(names) == 0 || len(values) != len(names) || values[0] != names[0] {
			return fmt.Errorf("unmatched lines %q and %q", names, values)
		}
		group := strings.TrimSuffix(names[0], ":")
		for i := 1; i < len(names); i++ {
			if v, err := strconv.ParseUint(values[i], 10, 64); err == nil {
				into[group+names[i]] = v
			}
		}
	}
	return sc.Err()
}

// Since returns the counters that changed from before to c, by how much.
// A gauge that fell (TcpCurrEstab) is left out.
func (c Counters) Since(before Counters) Counters {
	out := Counters{}
	for k, v := range c {
		if v > before[k] {
			out[k] = v - before[k]
		}
	}
	return out
}
