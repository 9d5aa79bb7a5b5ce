package procfs

import "golang.org/x/sys/unix"

func readlink(path string, buf []byte) (int, error) { return unix.Readlink(path, buf) }
