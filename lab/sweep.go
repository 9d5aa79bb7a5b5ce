package lab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/sys/unix"

	"synfin/lab/kernel"
	"synfin/lab/netns"
)

// Leftovers lists synfin namespaces, interfaces and tracefs instances,
// including those of labs still running.
type Leftovers struct {
	netns.Leftovers
	Instances []string
}

// List returns every synfin object present now.
func List() (Leftovers, error) {
	l, err := netns.List()
	if err != nil {
		return Leftovers{Leftovers: l}, err
	}
	inst, err := kernel.Instances()
	return Leftovers{Leftovers: l, Instances: inst}, err
}

// Sweep removes what labs whose process is gone left behind (after a
// SIGKILL, say) and returns what it removed. Labs still running are left
// alone.
func Sweep() (Leftovers, error) {
	l, err := netns.Sweep()
	inst, ierr := kernel.SweepInstances()
	return Leftovers{Leftovers: l, Instances: inst}, errors.Join(err, ierr)
}

// SweepAndReport sweeps, then writes a line for each thing removed and
// for each thing left to a lab still running.
func SweepAndReport(w io.Writer) error {
	if why := Unprivileged(); why != "" {
		return fmt.Errorf("cannot sweep: %s", why)
	}
	removed, err := Sweep()
	bw := bufio.NewWriter(w)
	n := 0
	for _, l := range []struct {
		what  string
		names []string
	}{{"namespace", removed.Namespaces}, {"interface", removed.Links}, {"tracefs instance", removed.Instances}} {
		for _, name := range l.names {
			fmt.Fprintf(bw, "removed %s %s\n", l.what, name)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(bw, "nothing left behind by labs that died")
	}
	if live, lerr := List(); lerr == nil {
		for _, name := range live.Namespaces {
			fmt.Fprintf(bw, "left alone: namespace %s (its lab is running)\n", name)
		}
		for _, name := range live.Instances {
			fmt.Fprintf(bw, "left alone: tracefs instance %s (its lab is running)\n", name)
		}
	} else {
		err = errors.Join(err, lerr)
	}
	if ferr := bw.Flush(); ferr != nil {
		return ferr
	}
	return err
}

// Unprivileged says what the process lacks to run a lab on the kernel
// (network namespaces, nftables, packet capture), or "".
func Unprivileged() string {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return "cannot read capabilities"
	}
	var missing []string
	for _, c := range []struct {
		n    int
		name string
	}{{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}, {unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {unix.CAP_NET_RAW, "CAP_NET_RAW"}} {
		if data[c.n/32].Effective&(1<<(uint(c.n)%32)) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return "no privileges for network namespaces and capture (missing " + strings.Join(missing, ", ") + ")"
	}
	return ""
}
