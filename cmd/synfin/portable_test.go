package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"synfin/internal/testenv"
)

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
