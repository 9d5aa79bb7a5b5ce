package cli

import (
	"bytes"
	"errors"

	"synfin/internal/helpdoc"
	"synfin/internal/version"
)

func init() {
	// Not in the table with the others: these read the table.
	commands["completion"] = &command{"print a script completing synfin's commands and options in bash, zsh or fish", runDocs("completion")}
	commands["man"] = &command{"print the manual page synfin(1), made from every command's help", runDocs("man")}
}

// runDocs runs completion or man, which print the commands' help in
// another form.
func runDocs(name string) func(*Env, []string) error {
	return func(env *Env, args []string) error {
		fs := newFlags(name, env.Stdout)
		if err := fs.Parse(args); err != nil {
			return err
		}
		p := helpdoc.Program{Name: "synfin", Help: topUsage(), Flags: []string{"--help", "--version"}}
		for _, n := range commandNames() {
			var b bytes.Buffer
			commands[n].run(&Env{Ctx: env.Ctx, Stdout: &b, Stderr: &b}, []string{"--help"})
			p.Commands = append(p.Commands, helpdoc.Command{Name: n, Summary: commands[n].summary, Help: b.String()})
		}
		v := version.Read()
		err := helpdoc.Write(env.Stdout, name, fs.Args(), p, helpdoc.Manual{Version: v.Version, Date: v.Time,
			SeeAlso: []string{"tcpdump(1)", "pcap-filter(7)", "tcp(7)", "ss(8)"}})
		if ue := (*helpdoc.UsageError)(nil); errors.As(err, &ue) {
			return usagef("%s", ue.Msg)
		}
		return err
	}
}
