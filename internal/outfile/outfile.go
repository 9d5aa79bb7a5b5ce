package outfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrNotRegular is returned when the path names something other than a
// regular file.
var ErrNotRegular = errors.New("not a regular file; refusing to write over it")

// Stdout is the name that means standard output, as in tcpdump's -w -.
const Stdout = "-"

// File is an output being written. It is a temporary file in the target's
// directory, which Commit renames over the target: a run that fails
// (Close without Commit) leaves whatever was there before untouched and no
// temporary file behind.
type File struct {
	*os.File
	name      string // the path as given, which errors name
	path      string // the target, its symbolic links resolved
	committed bool
}

var tmpSeq atomic.Uint32

// Create starts writing path. It refuses anything that exists and is not
// a regular file (a device, a FIFO, a directory), so that a typo cannot
// send a capture into one; a symbolic link to a regular file is written
// through. Nothing at path changes until Commit.
func Create(path string) (*File, error) {
	target := path
	if st, err := os.Stat(path); err == nil {
		if !st.Mode().IsRegular() {
			return nil, &fs.PathError{Op: "write", Path: path, Err: ErrNotRegular}
		}
		if t, err := filepath.EvalSymlinks(path); err == nil {
			target = t
		}
	}
	dir, base := filepath.Split(target)
	var (
		f   *os.File
		err error
	)
	for range 100 {
		// The mode of a new file is what os.Create would give it
		// (0644 less the umask), not os.CreateTemp's 0600.
		name := filepath.Join(dir, "."+base+".tmp"+strconv.Itoa(os.Getpid())+"-"+
			strconv.FormatUint(uint64(tmpSeq.Add(1)), 10)+strconv.FormatInt(time.Now().UnixNano()%1e6, 36))
		f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_CLOEXEC, 0o644)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			// Name the file asked for, not the temporary one.
			return nil, &fs.PathError{Op: "open", Path: path, Err: pe.Err}
		}
		return nil, err
	}
	return &File{File: f, name: path, path: target}, nil
}

// Write writes to the file; an error names the path given to Create,
// not the temporary file.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	return n, f.named(err)
}

// WriteString is Write of a string.
func (f *File) WriteString(s string) (int, error) {
	n, err := f.File.WriteString(s)
	return n, f.named(err)
}

func (f *File) named(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: f.name, Err: pe.Err}
	}
	return err
}

// Commit closes the file and puts it in place of the target.
func (f *File) Commit() error {
	if f.committed {
		return nil
	}
	tmp := f.File.Name()
	// A writer that owned the *os.File (capture.NewWriter) may have
	// closed it already.
	if err := f.File.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		os.Remove(tmp)
		return f.named(err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		os.Remove(tmp)
		return &fs.PathError{Op: "write", Path: f.name, Err: errors.Unwrap(err)}
	}
	f.committed = true
	return nil
}

// Close discards the file unless it was committed; it may be called
// after Commit, so that a deferred Close handles every way out.
func (f *File) Close() error {
	if f.committed {
		return nil
	}
	f.committed = true
	f.File.Close()
	return os.Remove(f.File.Name())
}
