package cli

import (
	"synfin/render/explain"
	"synfin/summary"
	"synfin/tcpstate/track"
)

// runSummary adds the connections up (conns --summary too: writeSummary).
func runSummary(env *Env, args []string) error {
	var (
		files  []string
		asJSON bool
		lang   = explain.English
	)
	fs := newFlags("summary", env.Stdout)
	fs.Strings('r', "read", &files)
	fs.Bool(0, "json", &asJSON)
	fs.String(0, "lang", &lang)
	if err := fs.Parse(args); err != nil {
		return err
	}
	expr, err := checkViewFlags(fs, lang, 0, 0, 0)
	if err != nil {
		return err
	}
	src, err := openInput(env, files, false)
	if err != nil {
		return err
	}
	defer src.Close()
	sum := summary.New()
	// What was read before damage is summed up, then the error.
	err = trackOpened(env, src, false, expr, track.Config{Done: sum.Add})
	if werr := writeSummary(env.Stdout, sum, asJSON, lang); werr != nil {
		return werr
	}
	return err
}
