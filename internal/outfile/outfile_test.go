package outfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old")
	if err := os.WriteFile(old, []byte("previous contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(old, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		refuse     bool // ErrNotRegular expected
		fail       bool // some other error expected
	}{
		{"new file", filepath.Join(dir, "new"), false, false},
		{"existing file is truncated", old, false, false},
		{"symlink to a regular file", link, false, false},
		{"directory", dir, true, false},
		{"fifo", fifo, true, false},
		{"device", os.DevNull, true, false},
		{"missing directory", filepath.Join(dir, "no", "such"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Create(tt.path)
			switch {
			case tt.refuse:
				if !errors.Is(err, ErrNotRegular) {
					t.Fatalf("Create(%s) = %v, want ErrNotRegular", tt.path, err)
				}
				return
			case tt.fail:
				if err == nil || errors.Is(err, ErrNotRegular) {
					t.Fatalf("Create(%s) = %v, want an open error", tt.path, err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil || st.Size() != 0 {
				t.Fatalf("after Create: size %d, err %v; want an empty file", st.Size(), err)
			}
		})
	}
}

// TestReplacedOnlyOnCommit: what was at the path stays, whole, until the
// new file is committed; a discarded file leaves nothing behind, and a
// symbolic link is written through, not replaced.
func TestReplacedOnlyOnCommit(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "report.html")
	if err := os.WriteFile(old, []byte("good report"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.html")
	if err := os.Symlink("report.html", link); err != nil {
		t.Fatal(err)
	}
	entries := func() int {
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// A failed run: written to, then discarded.
	f, err := Create(old)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("half a rep")
	if got := read(old); got != "good report" {
		t.Fatalf("while writing, the file holds %q; want the previous contents", got)
	}
	f.Close()
	if got := read(old); got != "good report" {
		t.Fatalf("after a discarded write, the file holds %q; want the previous contents", got)
	}
	if n := entries(); n != 2 {
		t.Fatalf("%d entries in the directory after a discarded write; want the file and the link", n)
	}

	// A run that succeeds, through the link.
	if f, err = Create(link); err != nil {
		t.Fatal(err)
	}
	f.WriteString("new report")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Close() // after Commit: nothing to discard
	if got := read(old); got != "new report" {
		t.Fatalf("after Commit the file holds %q; want the new contents", got)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symbolic link was replaced: %v %v", st.Mode(), err)
	}
	if st, _ := os.Stat(old); st.Mode().Perm() != 0o644&^umask() {
		t.Errorf("mode %v; want what os.Create gives", st.Mode().Perm())
	}
	if n := entries(); n != 2 {
		t.Fatalf("%d entries in the directory after Commit; want the file and the link", n)
	}
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}
