package capture

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DropPrivileges switches to user name (and its primary group), as
// tcpdump's -Z does once the capture socket is open. As root, changing
// every user id away from 0 also clears the process's capabilities. A
// process that already runs as that user (say, with only CAP_NET_RAW from
// setcap) has nothing to change.
func DropPrivileges(name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("capture: -Z: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("capture: -Z: user %s has a non-numeric id", name)
	}
	if os.Geteuid() != 0 && os.Getuid() == uid && os.Geteuid() == uid && os.Getgid() == gid && os.Getegid() == gid {
		return nil
	}
	fail := func(call string, err error) error {
		if errors.Is(err, syscall.EPERM) {
			return fmt.Errorf("capture: -Z %s: changing user needs root (%s: %w)", name, call, err)
		}
		return fmt.Errorf("capture: -Z %s: %s: %w", name, call, err)
	}
	// Supplementary groups first, then the group, then the user: once the
	// user changes, the others can no longer be changed. Go applies each
	// to every thread of the process.
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fail("setgroups", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fail("setgid", err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fail("setuid", err)
	}
	return nil
}

// DropCapabilities gives up every capability on every thread of a
// process that is not root: once the capture socket is open and its
// filter attached, the CAP_NET_RAW that setcap granted is needed no more,
// and libpcap-built tcpdump drops it too. Root keeps what it has (use
// DropPrivileges): without CAP_DAC_OVERRIDE, root could no longer create
// a -w file in a user's directory.
//
// Capabilities belong to threads, and Go changes them on every thread
// only without cgo (syscall.AllThreadsSyscall); a cgo build keeps them.
func DropCapabilities() error {
	if os.Geteuid() == 0 {
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData // version 3 takes two: capabilities 0-31, 32-63
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capture: reading capabilities: %w", err)
	}
	if data == [2]unix.CapUserData{} {
		return nil
	}
	data = [2]unix.CapUserData{}
	// Ambient capabilities go with the permitted ones.
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if errno != 0 && errno != syscall.ENOTSUP {
		return fmt.Errorf("capture: giving up capabilities: %w", errno)
	}
	return nil
}
