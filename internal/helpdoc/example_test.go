package helpdoc_test

import (
	"fmt"
	"os"
	"strings"

	"synfin/internal/helpdoc"
)

const dialHelp = `Usage: prog dial [ADDR] [--lang en|zh]

Connects to ADDR.

Options:
  -r FILE       read the steps from FILE
  --lang L      language of the messages
  -c N          make N connections

Examples:
  prog dial -c 2    two connections
`

func ExampleHelp_Flags() {
	for _, f := range helpdoc.Parse(dialHelp).Flags() {
		fmt.Printf("%s %q %q %v\n", f.Name, f.Value, f.Desc, f.Choices)
	}
	// Output:
	// -r "FILE" "read the steps from FILE" []
	// --lang "L" "language of the messages" [en zh]
	// -c "N" "make N connections" []
}

func ExampleWriteCompletion() {
	var b strings.Builder
	p := helpdoc.Program{Name: "prog", Help: "Usage: prog COMMAND\n", Commands: []helpdoc.Command{{Name: "dial", Summary: "connect", Help: dialHelp}}}
	if err := helpdoc.WriteCompletion(&b, "fish", p); err != nil {
		fmt.Println(err)
	}
	fmt.Print(b.String())
	// Output:
	// # fish completion for prog, made from its --help (prog completion fish)
	// complete -c prog -f
	// complete -c prog -n __fish_use_subcommand -a dial -d 'connect'
	// complete -c prog -n '__fish_seen_subcommand_from dial' -s 'r' -r -F -d 'read the steps from FILE'
	// complete -c prog -n '__fish_seen_subcommand_from dial' -l lang -x -a 'en zh' -d 'language of the messages'
	// complete -c prog -n '__fish_seen_subcommand_from dial' -s 'c' -x -d 'make N connections'
	// complete -c prog -n '__fish_seen_subcommand_from dial' -l help -d 'print the help'
}

func ExampleWriteMan() {
	p := helpdoc.Program{Name: "prog", Help: "prog connects: a demonstration.\n\nUsage: prog COMMAND\n",
		Commands: []helpdoc.Command{{Name: "dial", Summary: "connect", Help: dialHelp}}}
	helpdoc.WriteMan(os.Stdout, p, helpdoc.Manual{Version: "v1.0.0", Date: "2024-06-01T12:00:00Z", SeeAlso: []string{"tcp(7)"}})
	// Output:
	// .TH PROG 1 "2024-06-01" "prog v1.0.0" "User Commands"
	// .SH NAME
	// prog \- connects
	// .SH SYNOPSIS
	// .B "prog"
	// COMMAND
	// .PP
	// .B "prog dial"
	// [ADDR] [\-\-lang en|zh]
	// .SH DESCRIPTION
	// prog connects: a demonstration.
	// .SH COMMANDS
	// .SS "prog dial"
	// .B "prog dial"
	// [ADDR] [\-\-lang en|zh]
	// .PP
	// Connects to ADDR.
	// .PP
	// Options:
	// .RS 2
	// .TP
	// \fB\-r\fR \fIFILE\fR
	// read the steps from FILE
	// .TP
	// \fB\-\-lang\fR \fIL\fR
	// language of the messages
	// .TP
	// \fB\-c\fR \fIN\fR
	// make N connections
	// .RE
	// .PP
	// Examples:
	// .RS 4
	// .nf
	// prog dial \-c 2
	// .fi
	// .RS 4
	// two connections
	// .RE
	// .RE
	// .SH SEE ALSO
	// .BR tcp (7)
}
