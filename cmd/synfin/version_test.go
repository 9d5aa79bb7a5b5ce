package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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

// synfin starts no programs: no shell, and so no shell that user input
// could reach. These tests hold the code to that.

// execImporters are the packages outside tests that may import os/exec,
// why, and the only os/exec functions each may use.
var execImporters = map[string]struct {
	why  string
	uses []string
}{
	"synfin/bench/churn":       {"the churn benchmark's tool: polls ss -tan as the baseline observer and runs the command measured; linked into no command", []string{"Command"}},
	"synfin/internal/labtest":  {"reads a lab capture with tcpdump and starts the child processes lab tests hold sockets in; linked into no command", []string{"Cmd", "Command"}},
	"synfin/internal/pcaptest": {"starts the tcpdump a test made, and tcpdump and tshark on a capture (exec.Cmd); linked into no command", []string{"Cmd"}},
	"synfin/internal/testenv":  {"finds the tools tests need; runs nothing", []string{"LookPath"}},
}

// startsProcess names the calls, other than os/exec's, that start or
// replace a process: no non-test code may make them.
var startsProcess = map[string][]string{
	"os":                    {"StartProcess"},
	"syscall":               {"Exec", "ForkExec", "StartProcess"},
	"golang.org/x/sys/unix": {"Exec"},
}

// shells are programs whose first argument would be code to run.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "ash": true, "busybox": true, "env": true}

// TestNoProcessesStarted checks every non-test Go file in the module.
func TestNoProcessesStarted(t *testing.T) {
	root := moduleRoot(t)
	var problems []string
	importers := map[string][]string{}
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, p)
		pkg := path.Join("synfin", filepath.ToSlash(filepath.Dir(rel)))
		uses, probs := checkExec(rel, src, pkg)
		problems = append(problems, probs...)
		if uses != nil {
			importers[pkg] = append(importers[pkg], uses...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("found only %d Go files under %s; the check did not run", files, root)
	}
	for _, p := range problems {
		t.Error(p)
	}
	want := map[string][]string{}
	for pkg, a := range execImporters {
		want[pkg] = a.uses
	}
	for pkg := range importers {
		importers[pkg] = dedupe(importers[pkg])
	}
	if diff := cmp.Diff(want, importers); diff != "" {
		t.Errorf("packages importing os/exec and what they use (-allowed +found):\n%s", diff)
	}
}

// deadExec are third-party packages that import os/exec in code synfin
// never calls, so the linker leaves it out (TestBinaryLinksNoExec reads
// the binary's symbols to hold that).
var deadExec = map[string]string{
	// windows.go, with no build constraint, runs Windows' tracing tools
	// for cilium/ebpf's own test mains; internal/sys imports the package
	// for its file-descriptor tracing.
	"github.com/cilium/ebpf/internal/testutils/testmain": "Windows test tracing",
}

// TestBinaryLinksNoExec checks the built command's whole dependency
// graph, third-party packages included: none of it imports os/exec but
// deadExec, and the binary holds no os/exec symbol.
func TestBinaryLinksNoExec(t *testing.T) {
	gocmd := testenv.NeedTool(t, "go")
	out, err := exec.Command(gocmd, "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "synfin/cmd/synfin").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkgs++
		for _, imp := range f[1:] {
			if _, dead := deadExec[f[0]]; imp == "os/exec" && !dead {
				t.Errorf("%s imports os/exec and is linked into synfin", f[0])
			}
		}
	}
	if pkgs < 50 {
		t.Fatalf("go list found only %d packages; the check did not run", pkgs)
	}
	syms, err := exec.Command(gocmd, "tool", "nm", synfinBin(t)).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	if n := strings.Count(string(syms), " os/exec."); n > 0 || len(syms) < 1e5 {
		t.Errorf("the binary holds %d os/exec symbols (of %d bytes of symbols)", n, len(syms))
	}
}

// checkExec returns the os/exec functions src uses (nil if it does not
// import os/exec) and its problems: an importer not allowed, a process
// started outside os/exec, or a shell passed to exec.Command.
func checkExec(name string, src []byte, pkg string) (uses []string, problems []string) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, []string{err.Error()}
	}
	local := map[string]string{} // local name → import path
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		n := path.Base(p)
		if imp.Name != nil {
			n = imp.Name.Name
		}
		local[n] = p
		if p == "os/exec" {
			uses = []string{}
			if _, ok := execImporters[pkg]; !ok {
				problems = append(problems, fmt.Sprintf("%s: imports os/exec; add it, with a reason, to execImporters or run no program", fset.Position(imp.Pos())))
			}
		}
	}
	// imported returns n as a selector of an imported package's member
	// (exec.Command) and that package's path, or nil.
	imported := func(n ast.Node) (*ast.SelectorExpr, string) {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return nil, ""
		}
		id, ok := sel.X.(*ast.Ident)
		if !ok {
			return nil, ""
		}
		return sel, local[id.Name]
	}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, imp := imported(n)
		if sel == nil {
			return true
		}
		if imp == "os/exec" {
			uses = append(uses, sel.Sel.Name)
		}
		for _, fn := range startsProcess[imp] {
			if sel.Sel.Name == fn {
				problems = append(problems, fmt.Sprintf("%s: %s.%s starts a process", fset.Position(sel.Pos()), imp, fn))
			}
		}
		return true
	})
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, imp := imported(call.Fun)
		if sel == nil || imp != "os/exec" {
			return true
		}
		arg := 0
		switch sel.Sel.Name {
		case "Command":
		case "CommandContext":
			arg = 1
		default:
			return true
		}
		if len(call.Args) <= arg {
			return true
		}
		if lit, ok := call.Args[arg].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			prog, _ := strconv.Unquote(lit.Value)
			if shells[path.Base(prog)] {
				problems = append(problems, fmt.Sprintf("%s: runs the shell %s", fset.Position(lit.Pos()), prog))
			}
		}
		return true
	})
	return uses, problems
}

// TestCheckExec shows that the checker finds what it is for.
func TestCheckExec(t *testing.T) {
	for _, tc := range []struct {
		name, pkg, src string
		problems       int
	}{
		{"no exec", "synfin/wire", `package p; import "os"; var _ = os.Args`, 0},
		{"allowed LookPath", "synfin/internal/testenv", `package p; import "os/exec"; var _, _ = exec.LookPath("ip")`, 0},
		{"importer not allowed", "synfin/lab", `package p; import "os/exec"; var _, _ = exec.LookPath("ip")`, 1},
		{"shell", "synfin/internal/testenv", `package p; import "os/exec"; func f(s string) { exec.Command("sh", "-c", s).Run() }`, 1},
		{"shell by path, renamed import", "synfin/internal/testenv", `package p; import x "os/exec"; func f(s string) { x.Command("/bin/bash", "-c", s) }`, 1},
		{"shell with a context", "synfin/internal/testenv", `package p; import ("context"; "os/exec"); func f(s string) { exec.CommandContext(context.TODO(), "/usr/bin/env", "sh", s) }`, 1},
		{"syscall.Exec", "synfin/capture", `package p; import "syscall"; func f() { syscall.Exec("/bin/ls", nil, nil) }`, 1},
		{"unix.Exec", "synfin/capture", `package p; import "golang.org/x/sys/unix"; func f() { unix.Exec("/bin/ls", nil, nil) }`, 1},
		{"os.StartProcess", "synfin/capture", `package p; import "os"; func f() { os.StartProcess("/bin/ls", nil, nil) }`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := checkExec("x.go", []byte(tc.src), tc.pkg)
			if len(probs) != tc.problems {
				t.Errorf("%d problems, want %d: %q", len(probs), tc.problems, probs)
			}
		})
	}
}

func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
