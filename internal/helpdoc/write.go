package helpdoc

import (
	"io"
	"strings"
)

// UsageError is Write's error when its arguments do not say what to
// write.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return "helpdoc: " + e.Msg }

// Write writes what a program's man or completion command prints: for
// what "man", with no args, the manual page; for "completion", with
// args naming one of Shells, that shell's completion script.
func Write(w io.Writer, what string, args []string, p Program, m Manual) error {
	switch {
	case what == "man" && len(args) == 0:
		return WriteMan(w, p, m)
	case what == "completion" && len(args) == 1:
		return WriteCompletion(w, args[0], p)
	case what == "completion":
		return &UsageError{"name one shell: " + strings.Join(Shells, ", ")}
	}
	return &UsageError{what + " takes no argument"}
}
