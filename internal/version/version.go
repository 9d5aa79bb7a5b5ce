package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Version, if set at link time (go build -ldflags "-X
// synfin/internal/version.Version=v1.2.3"), is printed in place of the
// module version the toolchain recorded.
var Version string

// Date, if set at link time (-X synfin/internal/version.Date=...), is the
// build date; otherwise the date of the VCS revision is shown.
var Date string

// Info is what a binary knows of its own build.
type Info struct {
	Module   string // module path
	Version  string // module version: a tag, a pseudo-version, or "(devel)"
	Revision string // VCS revision ("" when not built from a checkout)
	Modified bool   // the checkout had changes not committed
	Time     string // build date (Date), else the revision's commit time (RFC 3339)
	Go       string // Go toolchain
}

// Read returns the build information of the running binary.
func Read() Info {
	in := Info{Module: "synfin", Version: "(devel)", Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		in = FromBuildInfo(bi)
	}
	if Version != "" {
		in.Version = Version
	}
	if Date != "" {
		in.Time = Date
	}
	return in
}

// FromBuildInfo picks the fields of bi.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Module: bi.Main.Path, Version: bi.Main.Version, Go: bi.GoVersion}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String is the line --version prints, e.g.
//
//	synfin v1.2.0 (module synfin, revision 4f2c9e1d0a7b…, 2026-12-06T21:30:00Z, go1.26.8)
func (in Info) String() string {
	var b strings.Builder
	b.WriteString("synfin " + in.Version + " (module " + in.Module)
	if in.Revision != "" {
		b.WriteString(", revision " + in.Revision)
		if in.Modified {
			b.WriteString(" with uncommitted changes")
		}
	} else {
		b.WriteString(", no VCS revision recorded")
	}
	if in.Time != "" {
		b.WriteString(", " + in.Time)
	}
	b.WriteString(", " + in.Go + ")")
	return b.String()
}
