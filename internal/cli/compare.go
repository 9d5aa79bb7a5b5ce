package cli

import (
	"cmp"
	"encoding/json"
	"fmt"

	"synfin/input"
	"synfin/vantage"
)

func runCompare(env *Env, args []string) error {
	var (
		files  []string
		lang   string
		asJSON bool
		connID int
	)
	fs := newFlags("compare", env.Stdout)
	fs.Strings('r', "read", &files)
	fs.Bool(0, "json", &asJSON)
	fs.String(0, "lang", &lang)
	fs.Int(0, "conn", &connID)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(files) != 2 {
		return usagef("compare takes two captures: -r A -r B (got %d)", len(files))
	}
	expr, err := checkViewFlags(fs, lang, connID, 0, 0)
	if err != nil {
		return err
	}
	// Each point is one input (a file, a directory or a glob), opened
	// and read as every command reads its inputs, and compared as far as
	// it is readable: damage is the error, after the report, unless
	// nothing could be read from it.
	var caps [2]*vantage.Capture
	var errs [2]error
	for i, name := range files {
		src, err := openInput(env, []string{name}, false)
		if err != nil {
			return input.Named(name, err)
		}
		caps[i], errs[i] = vantage.Read(env.Ctx, name, src, input.NewFilter(expr))
		src.Close()
	}
	rep := vantage.Compare(caps[0], caps[1])
	var readErr error
	for i, p := range []vantage.Point{rep.A, rep.B} {
		if errs[i] != nil && p.Segments == 0 {
			return input.Named(files[i], errs[i])
		} else if errs[i] != nil {
			readErr = cmp.Or(readErr, input.Named(files[i], errs[i]))
		}
	}
	if connID > len(rep.Connections) {
		return fmt.Errorf("no connection %d seen at both points", connID)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(env.Stderr, "synfin compare: %s\n", w)
	}
	if asJSON && connID > 0 {
		rep.Connections = rep.Connections[connID-1 : connID]
	}
	if asJSON {
		err = json.NewEncoder(env.Stdout).Encode(rep)
	} else {
		err = rep.WriteText(env.Stdout, lang, connID)
	}
	return cmp.Or(err, readErr)
}
