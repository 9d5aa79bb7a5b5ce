package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
)

// WithHosts returns cmd changed to take host names from the hosts(5)
// text hosts alone: it runs in a mount namespace of its own, where a file
// holding the text is bind-mounted over /etc/hosts and a copy of
// /etc/nsswitch.conf whose hosts line is "files" over that, so that
// neither the C library (tcpdump, getent) nor Go's resolver asks DNS. It
// needs CAP_SYS_ADMIN and mount(8).
func WithHosts(t testing.TB, cmd *exec.Cmd, hosts string) *exec.Cmd {
	t.Helper()
	NeedCaps(t, CapSysAdmin)
	NeedTool(t, "mount")
	dir := t.TempDir()
	nss, _ := os.ReadFile("/etc/nsswitch.conf")
	nss = append(hostsLine.ReplaceAll(nss, nil), "\nhosts: files\n"...)
	for name, b := range map[string][]byte{"hosts": []byte(hosts), "nsswitch.conf": nss} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := exec.Command("/bin/sh", append([]string{"-c",
		`mount --bind "$0/hosts" /etc/hosts && mount --bind "$0/nsswitch.conf" /etc/nsswitch.conf && exec "$@"`,
		dir, cmd.Path}, cmd.Args[1:]...)...)
	c.Env, c.Dir, c.Stdin, c.Stdout, c.Stderr = cmd.Env, cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr
	// Go makes the new namespace's mounts private before the command
	// runs, so the bind mounts stay in it.
	c.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	return c
}

var hostsLine = regexp.MustCompile(`(?m)^\s*hosts\s*:.*$`)
