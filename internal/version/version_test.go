package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "synfin", Version: "v1.2.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "4f2c9e1d0a7b"},
			{Key: "vcs.time", Value: "2026-12-06T21:30:00Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	want := "synfin v1.2.0 (module synfin, revision 4f2c9e1d0a7b with uncommitted changes, 2026-12-06T21:30:00Z, go1.26.8)"
	if got := FromBuildInfo(bi).String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	bi = &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "synfin", Version: "(devel)"}}
	want = "synfin (devel) (module synfin, no VCS revision recorded, go1.26.8)"
	if got := FromBuildInfo(bi).String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
