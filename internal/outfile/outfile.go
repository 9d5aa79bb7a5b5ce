package outfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular is returned when the path names something other than a
// regular file.
var ErrNotRegular = errors.New("not a regular file; refusing to write over it")

// Create creates path, or truncates it if it is an existing regular file.
// The check is made on the opened descriptor (O_NONBLOCK keeps a FIFO
// without a reader from blocking the open), so a file swapped in between
// the check and the open is caught too; nothing is truncated before it.
func Create(path string) (*os.File, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "write", Path: path, Err: ErrNotRegular}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		if errors.Is(err, syscall.ENXIO) { // a FIFO with no reader
			return nil, &fs.PathError{Op: "write", Path: path, Err: ErrNotRegular}
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "write", Path: path, Err: ErrNotRegular}
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("truncate %s: %w", path, err)
	}
	return f, nil
}
