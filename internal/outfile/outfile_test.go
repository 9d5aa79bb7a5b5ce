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
