package capture

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// DropPrivileges switches to user name (and its primary group), as
// tcpdump's -Z does once the capture socket is open.
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
	// Supplementary groups first, then the group, then the user: once the
	// user changes, the others can no longer be changed.
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("capture: -Z %s: setgroups: %w", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("capture: -Z %s: setgid: %w", name, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("capture: -Z %s: setuid: %w", name, err)
	}
	return nil
}
