package cli

import (
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"synfin/internal/helpdoc"
	"synfin/internal/testenv"
)

// helps returns the help of every command, as "synfin CMD --help"
// prints it.
func helps(t *testing.T) map[string]helpdoc.Help {
	t.Helper()
	m := map[string]helpdoc.Help{}
	for _, n := range commandNames() {
		out, errs, code := runCLI(t, n, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d: %s", n, code, errs)
		}
		m[n] = helpdoc.Parse(out)
	}
	return m
}

// writeDoc writes what "synfin ARGS" prints to a file.
func writeDoc(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, errs, code := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("synfin %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	file := t.TempDir() + "/" + name
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestManPage: synfin(1) is roff that mandoc and groff read without a
// warning, and the page man(1) renders from it shows every option of
// every command's help.
func TestManPage(t *testing.T) {
	page := writeDoc(t, "synfin.1", "man")
	if mandoc, err := exec.LookPath("mandoc"); err == nil {
		if out, err := exec.Command(mandoc, "-Tlint", "-W", "warning", page).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("mandoc -Tlint: %v\n%s", err, out)
		}
	} else {
		testenv.Unavailable(t, "mandoc is not installed (apt-get install mandoc)")
	}
	groff := testenv.NeedTool(t, "groff")
	if out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", page).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff -ww: %v\n%s", err, out)
	}
	man := testenv.NeedTool(t, "man")
	cmd := exec.Command(man, "-l", page)
	cmd.Env = append(os.Environ(), "MANWIDTH=100", "MANPAGER=cat", "LANG=C.UTF-8")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l: %v", err)
	}
	text := string(out)
	for name, h := range helps(t) {
		if !strings.Contains(text, "synfin "+name+"\n") {
			t.Errorf("man page has no section for %s", name)
		}
		for _, f := range h.Flags() {
			if !strings.Contains(text, f.Name) {
				t.Errorf("man page lacks %s %s", name, f.Name)
			}
		}
		for _, e := range h.Block("Examples").Entries {
			if !strings.Contains(text, e.Term) {
				t.Errorf("man page lacks the example %q", e.Term)
			}
		}
	}
}

// TestCompletionFlagsAccepted: every option the completions offer (the
// help's) is one its command accepts.
func TestCompletionFlagsAccepted(t *testing.T) {
	for name, h := range helps(t) {
		for _, f := range h.Flags() {
			args := []string{name, f.Name}
			if f.Value != "" {
				args = append(args, "1")
			}
			if _, errs, code := runCLI(t, append(args, "--help")...); code != 0 {
				t.Errorf("synfin %s: exit %d: %s", strings.Join(args, " "), code, errs)
			}
		}
	}
}

// completionCase is a command line being completed (its last word the
// one under the cursor) and what must be offered.
type completionCase struct {
	words []string
	want  []string // exactly these, in any order, when exact
	exact bool
}

func completionCases(t *testing.T) []completionCase {
	modes := []string{"seed", "hold", "close", "echo", "sink", "send", "shutdown-write", "rst", "close-unread"}
	var iface []string // the kernel's interfaces, beside "any"
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		iface = append(iface, i.Name)
	}
	return []completionCase{
		{[]string{"synfin", ""}, append(commandNames(), "--help", "--version"), true},
		{[]string{"synfin", "ex"}, []string{"explain"}, true},
		{[]string{"synfin", "--"}, []string{"--help", "--version"}, true},
		{[]string{"synfin", "explain", "--l"}, []string{"--lang"}, true},
		{[]string{"synfin", "explain", "--lang", ""}, []string{"en", "zh"}, true},
		{[]string{"synfin", "serve", "--mode", ""}, modes, true},
		{[]string{"synfin", "diagram", "--format", ""}, []string{"ascii", "svg", "mermaid", "html", "tsg"}, true},
		{[]string{"synfin", "completion", ""}, []string{"bash", "zsh", "fish"}, true},
		{[]string{"synfin", "read", "-r", "cap"}, []string{"capture.txt"}, true},
		{[]string{"synfin", "capture", "-i", ""}, iface, false},
		{[]string{"synfin", "read", "--"}, []string{"--annotate", "--jobs", "--max-conns", "--nano", "--help"}, false},
		{[]string{"synfin", "capture", "-"}, []string{"-i", "-w", "-Z", "-tt", "-#", "--explain", "--hold"}, false},
	}
}

// checkOffered compares what a shell offered with what c wants.
func checkOffered(t *testing.T, shell string, c completionCase, got []string) {
	t.Helper()
	offered := map[string]bool{}
	for _, g := range got {
		offered[g] = true
	}
	wanted := map[string]bool{}
	for _, w := range c.want {
		wanted[w] = true
		if !offered[w] {
			t.Errorf("%s completing %q: %q not offered (got %q)", shell, c.words, w, got)
		}
	}
	for _, g := range got {
		if c.exact && !wanted[g] {
			t.Errorf("%s completing %q: %q offered, not %q", shell, c.words, g, c.want)
		}
	}
}

// completionDir is a directory with a file to complete.
func completionDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/capture.txt", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCompletionBash sources the bash script, sets COMP_WORDS and
// COMP_CWORD as bash does before calling the function that complete -p
// names, and reads COMPREPLY.
func TestCompletionBash(t *testing.T) {
	bash := testenv.NeedTool(t, "bash")
	script := writeDoc(t, "synfin.bash", "completion", "bash")
	if out, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	dir := completionDir(t)
	for _, c := range completionCases(t) {
		prog := `source "$1" || exit 1
fn=$(complete -p synfin | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ -n "$fn" ] || exit 2
shift
COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
"$fn" synfin "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command(bash, append([]string{"-c", prog, "bash", script}, c.words...)...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bash completing %q: %v", c.words, err)
		}
		checkOffered(t, "bash", c, strings.Fields(string(out)))
	}
}

// TestCompletionFish asks fish itself what it offers (complete -C) once
// the script is sourced.
func TestCompletionFish(t *testing.T) {
	fish := testenv.NeedTool(t, "fish")
	script := writeDoc(t, "synfin.fish", "completion", "fish")
	if out, err := exec.Command(fish, "--no-config", "--no-execute", script).CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("fish --no-execute: %v\n%s", err, out)
	}
	dir := completionDir(t)
	for _, c := range completionCases(t) {
		cmd := exec.Command(fish, "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, script, strings.Join(c.words, " "))
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("fish completing %q: %v", c.words, err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l != "" {
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
		}
		switch c.words[len(c.words)-1] {
		case "-":
			// fish offers "-tt" also as "-t" followed by "t" stacked:
			// keep what the help names.
			c.exact = false
		case "":
			// fish offers options only for a word that starts with "-".
			var words []string
			for _, w := range c.want {
				if !strings.HasPrefix(w, "-") {
					words = append(words, w)
				}
			}
			c.want = words
		}
		checkOffered(t, "fish", c, got)
	}
}

// TestCompletionZsh checks the zsh script's syntax with zsh -n and runs
// its function with zsh's completion functions replaced by ones that
// print what they are given: the commands for the first word, and an
// _arguments spec for each option of the command.
func TestCompletionZsh(t *testing.T) {
	zsh := testenv.NeedTool(t, "zsh")
	script := writeDoc(t, "_synfin", "completion", "zsh")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	run := func(words ...string) string {
		prog := `_describe() { print -rl -- ${(P)4} }
_arguments() { print -rl -- "$@" }
compadd() { shift; print -rl -- "$@" }
compdef() { print -r -- "compdef $*" }
source $1
shift
words=("$@"); CURRENT=$#words
_synfin`
		out, err := exec.Command(zsh, append([]string{"-f", "-c", prog, "zsh", script}, words...)...).Output()
		if err != nil {
			t.Fatalf("zsh completing %q: %v", words, err)
		}
		return string(out)
	}
	out := run("synfin", "")
	for _, n := range append(commandNames(), "--help", "--version") {
		if !strings.Contains(out, "\n"+n+":") && !strings.Contains(out, "\n"+n+"\n") {
			t.Errorf("zsh: %s not offered first:\n%s", n, out)
		}
	}
	if !strings.HasPrefix(out, "compdef _synfin synfin\n") {
		t.Errorf("zsh: sourced, the script does not register _synfin:\n%s", out)
	}
	for name, h := range helps(t) {
		out := run("synfin", name, "")
		for _, f := range h.Flags() {
			if !strings.Contains(out, "\n"+strings.ReplaceAll(f.Name, "#", `\#`)) {
				t.Errorf("zsh: synfin %s: no spec for %s:\n%s", name, f.Name, out)
			}
		}
	}
	if out := run("synfin", "explain", "--lang", ""); !strings.Contains(out, "--lang=[language of the text and the report]:L:(en zh)\n") {
		t.Errorf("zsh: explain --lang spec:\n%s", out)
	}

	// And zsh's own completion system, autoloading the script.
	dir := t.TempDir()
	if err := os.Rename(script, dir+"/_synfin"); err != nil {
		t.Fatal(err)
	}
	lines := []string{"synfin ex", "synfin explain --la", "synfin serve --mode "}
	got, err := exec.Command(zsh, append([]string{"-f", "-c", zptyScript, "zsh", dir}, lines...)...).Output()
	if err != nil {
		t.Fatalf("zsh in a pseudo terminal: %v\n%s", err, got)
	}
	// Without the terminal's escape sequences, carriage returns, bells,
	// and characters backspaced over.
	parts := strings.Split(regexp.MustCompile("\x1b\\[[0-9;?]*[a-zA-Z]|[\r\a]|.\b").ReplaceAllString(string(got), ""), "=== ")
	if len(parts) != 4 {
		t.Fatalf("zsh in a pseudo terminal printed:\n%s", got)
	}
	for i, want := range [][]string{{"synfin explain "}, {"synfin explain --lang="}, {"seed", "hold", "close-unread", "shutdown-write"}} {
		for _, w := range want {
			if !strings.Contains(parts[i+1], w) {
				t.Errorf("zsh completing %q shows no %q:\n%q", lines[i], w, parts[i+1])
			}
		}
	}
}

// zptyScript types command lines into an interactive zsh (in a pseudo
// terminal, zsh/zpty) whose completion system has the script in its
// fpath, presses Tab after each and prints what the terminal shows,
// without its escape sequences.
const zptyScript = `zmodload zsh/zpty || exit 3
zpty z zsh -f -i
# Only the script and zsh's base completion functions: compinit reads
# every directory of fpath, which takes seconds.
zpty -w z "PS1='> '; fpath=($1 \${(M)fpath:#*/Completion(|/Base)}); autoload -Uz compinit; compinit -u -D; synfin() { :; }; print \${(U):-ready}"
# show prints what the terminal shows, until it has been quiet for 1 s
# after showing something (or for 10 s).
show() {
	local out got=0 quiet=0
	for i in {1..100}; do
		if zpty -r -t z out; then
			print -rn -- "$out"
			got=1 quiet=0
		else
			((got && ++quiet >= 10)) && break
			sleep 0.1
		fi
	done
}
# Until zsh has run the line above (READY, not its echo "ready").
for i in {1..100}; do
	zpty -r -t z out && [[ $out == *READY* ]] && break
	sleep 0.1
done
show >/dev/null
shift
for line; do
	zpty -n -w z $'\x15'"$line"$'\t'
	print -r -- "=== $line"
	show
done
zpty -d z`

func TestDocsUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"completion"}, "synfin completion: name one shell: bash, zsh, fish (see 'synfin completion --help')\n"},
		{[]string{"completion", "ksh"}, "synfin completion: no completion for \"ksh\" (one of bash, zsh, fish) (see 'synfin completion --help')\n"},
		{[]string{"man", "x"}, "synfin man: man takes no argument (see 'synfin man --help')\n"},
	} {
		out, errs, code := runCLI(t, tc.args...)
		if code != 2 || errs != tc.err || out != "" {
			t.Errorf("synfin %q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errs, tc.err)
		}
	}
}

// TestEveryCommandHasHelp: the commands' table and the help files name
// the same commands, so that a command lost from the table (or a help
// file left without one) fails here rather than in a user's hands.
func TestEveryCommandHasHelp(t *testing.T) {
	files, err := help.ReadDir("help")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, f := range files {
		if n := strings.TrimSuffix(f.Name(), ".txt"); !strings.HasPrefix(n, "top-") {
			named[n] = true
			if commands[n] == nil {
				t.Errorf("help/%s has no command in the table", f.Name())
			}
		}
	}
	for n := range commands {
		if !named[n] {
			t.Errorf("command %s has no help file", n)
		}
	}
}
