package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"synfin/internal/testenv"
)

// TestVersion: --version says what the toolchain recorded in the binary,
// as go version -m reads it: the module version, the VCS revision when
// there is one, and the Go version.
func TestVersion(t *testing.T) {
	gobin := testenv.NeedTool(t, "go")
	bin := synfinBin(t)
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	m, err := exec.Command(gobin, "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	lines := strings.Split(string(m), "\n")
	if _, gov, ok := strings.Cut(lines[0], ": "); ok { // "BIN: go1.26.8"
		want = append(want, gov)
	}
	for _, line := range lines[1:] {
		f := strings.Split(strings.TrimSpace(line), "\t")
		switch {
		case len(f) >= 3 && f[0] == "mod":
			want = append(want, "synfin "+f[2]+" (module "+f[1])
		case len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.revision="):
			want = append(want, "revision "+strings.TrimPrefix(f[1], "vcs.revision="))
		case len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.time="):
			want = append(want, strings.TrimPrefix(f[1], "vcs.time="))
		}
	}
	if len(want) < 2 {
		t.Fatalf("go version -m says too little:\n%s", m)
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("synfin --version = %q; want it to say %q, as go version -m does", got, w)
		}
	}
	if strings.Count(got, "\n") != 1 {
		t.Errorf("synfin --version = %q; want one line", got)
	}
}

// TestBuildsElsewhere: the commands that read captures work on any system
// Go builds for, pure Go; only capture, lab, serve and dial need Linux.
// The binary must build for macOS, Windows and FreeBSD, and there say
// that a Linux-only command needs Linux rather than fail to build.
func TestBuildsElsewhere(t *testing.T) {
	gobin := testenv.NeedTool(t, "go")
	dir := t.TempDir()
	for _, target := range []string{"darwin/arm64", "windows/amd64", "freebsd/amd64"} {
		t.Run(strings.ReplaceAll(target, "/", "-"), func(t *testing.T) {
			goos, goarch, _ := strings.Cut(target, "/")
			cmd := exec.Command(gobin, "build", "-o", filepath.Join(dir, goos+"-"+goarch), ".")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("CGO_ENABLED=0 GOOS=%s GOARCH=%s go build: %v\n%s", goos, goarch, err, out)
			}
		})
	}
}
