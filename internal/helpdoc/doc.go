// Package helpdoc reads a command-line program's help text, the one its
// commands print for --help, into its parts (usage lines, paragraphs,
// lists of options and examples) and writes it in other forms: a manual
// page in roff, and completion scripts for bash, zsh and fish. The help
// text is the one source: the page and the scripts say what it says.
//
// The help is plain text laid out the usual way: "Usage: " lines first,
// then paragraphs and titled lists ("Options:", "Examples:") separated
// by blank lines, each list entry a term ("-r FILE", "--mode MODE", an
// example's command line) with its description aligned in a column.
package helpdoc
