package helpdoc

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Shells are the shells WriteCompletion writes for.
var Shells = []string{"bash", "zsh", "fish"}

// WriteCompletion writes a script that completes p's commands, their
// options and the values of options for shell (one of Shells). What it
// offers is read from the help: each command's "Options" list, values
// from the usage lines ("--lang en|zh") or the list of an option's
// values (--mode), files for a FILE, interfaces for an IFACE, users for
// a USER.
func WriteCompletion(w io.Writer, shell string, p Program) error {
	b := bufio.NewWriter(w)
	cs := commands(p)
	switch shell {
	case "bash":
		bash(b, p, cs)
	case "zsh":
		zsh(b, p, cs)
	case "fish":
		fish(b, p, cs)
	default:
		return &UsageError{fmt.Sprintf("no completion for %q (one of %s)", shell, strings.Join(Shells, ", "))}
	}
	return b.Flush()
}

// command is what completion needs of a command.
type command struct {
	Command
	flags []Flag
	args  []string // the values of its first argument, if the usage lists them
}

func commands(p Program) []command {
	var cs []command
	for _, c := range p.Commands {
		h := Parse(c.Help)
		cs = append(cs, command{Command: c, flags: h.Flags(), args: h.Args()})
	}
	return cs
}

// A value is what an option takes.
type value int

const (
	noValue value = iota
	anyValue
	fileValue
	ifaceValue
	userValue
	choiceValue
)

func valueOf(f Flag) value {
	switch {
	case f.Value == "":
		return noValue
	case len(f.Choices) > 0:
		return choiceValue
	case strings.Contains(f.Value, "FILE"):
		return fileValue
	case f.Value == "IFACE":
		return ifaceValue
	case f.Value == "USER":
		return userValue
	}
	return anyValue
}

// short is the first clause of a description (up to "; ", ": ", " ("
// or ". "), at most 60 bytes, for shells that show one.
func short(desc string) string {
	for _, sep := range []string{"; ", ": ", " (", ". "} {
		desc, _, _ = strings.Cut(desc, sep)
	}
	return clip(desc)
}

// clip cuts s to at most 60 bytes, at a space.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		s = s[:strings.LastIndexByte(s[:60], ' ')] + "..."
	}
	return s
}

// single quotes s for a POSIX shell (and zsh).
func single(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func names(fs []Flag) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func bash(b *bufio.Writer, p Program, cs []command) {
	fn := "_" + p.Name
	fmt.Fprintf(b, "# bash completion for %s, made from its --help (%s completion bash)\n", p.Name, p.Name)
	fmt.Fprintf(b, "%s() {\n", fn)
	b.WriteString("\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n")
	b.WriteString("\tif ((COMP_CWORD == 1)); then\n")
	var top []string
	for _, c := range cs {
		top = append(top, c.Name)
	}
	fmt.Fprintf(b, "\t\tCOMPREPLY=($(compgen -W %s -- \"$cur\"))\n\t\treturn\n\tfi\n", single(strings.Join(append(top, p.Flags...), " ")))
	b.WriteString("\tcase ${COMP_WORDS[1]} in\n")
	for _, c := range cs {
		fmt.Fprintf(b, "\t%s)\n", c.Name)
		b.WriteString("\t\tcase $prev in\n")
		for _, f := range c.flags {
			switch valueOf(f) {
			case noValue:
				continue
			case fileValue:
				fmt.Fprintf(b, "\t\t%s) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", f.Name)
			case ifaceValue:
				fmt.Fprintf(b, "\t\t%s) COMPREPLY=($(compgen -W \"any $(ls /sys/class/net 2>/dev/null)\" -- \"$cur\")); return ;;\n", f.Name)
			case userValue:
				fmt.Fprintf(b, "\t\t%s) COMPREPLY=($(compgen -u -- \"$cur\")); return ;;\n", f.Name)
			case choiceValue:
				fmt.Fprintf(b, "\t\t%s) COMPREPLY=($(compgen -W %s -- \"$cur\")); return ;;\n", f.Name, single(strings.Join(f.Choices, " ")))
			default:
				fmt.Fprintf(b, "\t\t%s) return ;;\n", f.Name)
			}
		}
		b.WriteString("\t\tesac\n")
		words := append(names(c.flags), "--help")
		if len(c.args) > 0 {
			fmt.Fprintf(b, "\t\tif [[ $cur != -* ]]; then COMPREPLY=($(compgen -W %s -- \"$cur\")); return; fi\n", single(strings.Join(c.args, " ")))
		}
		fmt.Fprintf(b, "\t\tCOMPREPLY=($(compgen -W %s -- \"$cur\"))\n\t\t;;\n", single(strings.Join(words, " ")))
	}
	b.WriteString("\tesac\n}\n")
	fmt.Fprintf(b, "complete -F %s %s\n", fn, p.Name)
}

// zspec is an _arguments spec of a flag: "-r+[capture to read]:FILE:_files".
func zspec(f Flag) string {
	desc := strings.NewReplacer("[", "(", "]", ")", "\\", "").Replace(short(f.Desc))
	name := strings.ReplaceAll(f.Name, "#", `\#`)
	v := valueOf(f)
	if v == noValue {
		return single(name + "[" + desc + "]")
	}
	sep := "+" // a short option's value may follow it in the same word (-c5)
	if strings.HasPrefix(name, "--") {
		sep = "=" // --lang=zh or --lang zh
	}
	action := " "
	switch v {
	case fileValue:
		action = "_files"
	case ifaceValue:
		action = "_net_interfaces"
	case userValue:
		action = "_users"
	case choiceValue:
		action = "(" + strings.Join(f.Choices, " ") + ")"
	}
	return single(name + sep + "[" + desc + "]:" + f.Value + ":" + action)
}

func zsh(b *bufio.Writer, p Program, cs []command) {
	fn := "_" + p.Name
	fmt.Fprintf(b, "#compdef %s\n# zsh completion for %s, made from its --help (%s completion zsh)\n\n", p.Name, p.Name, p.Name)
	fmt.Fprintf(b, "%s() {\n\tlocal -a cmds\n\tcmds=(\n", fn)
	for _, c := range cs {
		fmt.Fprintf(b, "\t\t%s\n", single(c.Name+":"+strings.ReplaceAll(clip(c.Summary), ":", `\:`)))
	}
	b.WriteString("\t)\n\tif ((CURRENT == 2)); then\n")
	fmt.Fprintf(b, "\t\t_describe -t commands %s cmds\n", single(p.Name+" command"))
	for _, f := range p.Flags {
		fmt.Fprintf(b, "\t\tcompadd -- %s\n", f)
	}
	b.WriteString("\t\treturn\n\tfi\n")
	b.WriteString("\tlocal cmd=${words[2]}\n\tshift words\n\t((CURRENT--))\n\tcase $cmd in\n")
	for _, c := range cs {
		fmt.Fprintf(b, "\t%s)\n\t\t_arguments \\\n", c.Name)
		for _, f := range c.flags {
			fmt.Fprintf(b, "\t\t\t%s \\\n", zspec(f))
		}
		if len(c.args) > 0 {
			fmt.Fprintf(b, "\t\t\t%s \\\n", single("1:"+c.args[0]+":("+strings.Join(c.args, " ")+")"))
		}
		b.WriteString("\t\t\t'--help[print the help]'\n\t\t;;\n")
	}
	b.WriteString("\tesac\n}\n\n")
	fmt.Fprintf(b, "if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then\n\t%s \"$@\"\nelse\n\tcompdef %s %s\nfi\n", fn, fn, p.Name)
}

// fishQuote quotes s for fish, where a backslash escapes in single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

func fish(b *bufio.Writer, p Program, cs []command) {
	n := p.Name
	fmt.Fprintf(b, "# fish completion for %s, made from its --help (%s completion fish)\n", n, n)
	fmt.Fprintf(b, "complete -c %s -f\n", n)
	for _, c := range cs {
		fmt.Fprintf(b, "complete -c %s -n __fish_use_subcommand -a %s -d %s\n", n, c.Name, fishQuote(clip(c.Summary)))
	}
	for _, f := range p.Flags {
		fmt.Fprintf(b, "complete -c %s -n __fish_use_subcommand -l %s\n", n, strings.TrimPrefix(f, "--"))
	}
	for _, c := range cs {
		cond := fishQuote("__fish_seen_subcommand_from " + c.Name)
		if len(c.args) > 0 {
			fmt.Fprintf(b, "complete -c %s -n %s -a %s\n", n, cond, fishQuote(strings.Join(c.args, " ")))
		}
		for _, f := range append(slices.Clip(c.flags), Flag{Name: "--help", Desc: "print the help"}) {
			var opt string
			switch name := strings.TrimLeft(f.Name, "-"); {
			case strings.HasPrefix(f.Name, "--"):
				opt = "-l " + name
			case len(name) == 1:
				opt = "-s " + fishQuote(name)
			default:
				opt = "-o " + name // -tt, -vv: one dash, several letters
			}
			switch valueOf(f) {
			case fileValue:
				opt += " -r -F"
			case ifaceValue:
				opt += " -x -a '(__fish_print_interfaces)'"
			case userValue:
				opt += " -x -a '(__fish_complete_users)'"
			case choiceValue:
				opt += " -x -a " + fishQuote(strings.Join(f.Choices, " "))
			case anyValue:
				opt += " -x"
			}
			fmt.Fprintf(b, "complete -c %s -n %s %s -d %s\n", n, cond, opt, fishQuote(short(f.Desc)))
		}
	}
}
