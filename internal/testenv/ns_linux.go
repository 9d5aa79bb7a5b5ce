package testenv

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// Unshared calls fn on a thread of its own that has left the namespaces
// flags names (unix.CLONE_NEWNET, unix.CLONE_NEWNS ...) for new ones, and
// returns fn's error. Programs fn starts are forked from that thread and
// so start in those namespaces. The thread is never given back to Go's
// pool: it ends with fn's goroutine. fn runs off the test's goroutine, so
// it must not call t.Fatal.
func Unshared(flags int, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked
		if err := unix.Unshare(flags); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// WithHosts calls fn where host names come from the hosts(5) text hosts
// alone: in a mount namespace of its own (see Unshared) in which a file
// holding the text is bind-mounted over /etc/hosts, and a copy of
// /etc/nsswitch.conf whose hosts line is "files" over that, so that
// neither the C library (tcpdump, getent) nor Go's resolver asks DNS in
// the programs fn starts. It needs CAP_SYS_ADMIN.
func WithHosts(t testing.TB, hosts string, fn func()) {
	t.Helper()
	NeedCaps(t, CapSysAdmin)
	dir := t.TempDir()
	nss, _ := os.ReadFile("/etc/nsswitch.conf")
	nss = append(hostsLine.ReplaceAll(nss, nil), "\nhosts: files\n"...)
	files := map[string][]byte{"/etc/hosts": []byte(hosts), "/etc/nsswitch.conf": nss}
	for target, b := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(target)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err := Unshared(unix.CLONE_NEWNS, func() error {
		// Mounts made here must not propagate back to the parent's.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return err
		}
		for target := range files {
			if err := unix.Mount(filepath.Join(dir, filepath.Base(target)), target, "", unix.MS_BIND, ""); err != nil {
				return err
			}
		}
		fn()
		return nil
	})
	if err != nil {
		t.Fatalf("a mount namespace with its own hosts file: %v", err)
	}
}

var hostsLine = regexp.MustCompile(`(?m)^\s*hosts\s*:.*$`)
