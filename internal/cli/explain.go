package cli

import (
	"bufio"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"synfin/filter"
	"synfin/input"
	"synfin/internal/outfile"
	"synfin/render/conn"
	"synfin/render/explain"
	"synfin/render/html"
	"synfin/render/ladder"
	"synfin/summary"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

func runExplain(env *Env, args []string) error {
	var (
		files                   []string
		lang, htmlOut           string
		asJSON, plain, full     bool
		connID, width, maxConns int
	)
	fs := newFlags("explain", env.Stdout)
	fs.Strings('r', "read", &files)
	fs.Bool(0, "json", &asJSON)
	fs.String(0, "lang", &lang)
	fs.Int(0, "conn", &connID)
	fs.String(0, "html", &htmlOut)
	fs.Int(0, "width", &width)
	fs.Bool(0, "ascii", &plain)
	fs.Bool(0, "full", &full)
	var hold time.Duration
	fs.Duration(0, "hold", &hold, true)
	maxConnsFlag(fs, &maxConns, track.DefaultMaxConns)
	if err := fs.Parse(args); err != nil {
		return err
	}
	expr, err := checkViewFlags(fs, lang, connID, width, maxConns)
	if err != nil {
		return err
	}
	// The report file is opened first, so that a bad path fails before a
	// long read.
	if htmlOut == outfile.Stdout {
		return usagef("--html - would mix the report with the explanations on standard output; name a file")
	}
	// Each connection is printed, and added to the report, as the
	// tracker hands it out, so that memory follows the connections held
	// rather than the capture (in the order they began, one that never
	// closes would hold back all that follow it).
	var (
		reportFile *outfile.File
		report     *html.Writer       // buffered itself
		sum        *summary.Collector // the report's summary
	)
	if htmlOut != "" {
		if reportFile, err = outfile.Create(htmlOut); err != nil {
			return err
		}
		defer reportFile.Close()
		report, _ = html.NewWriter(reportFile, html.Options{Title: filepath.Base(inputsName(files)), Lang: lang})
		sum = summary.New() // half a megabyte of tables: only for a report
	}
	// What the heap holds lives long (the analyzers of the connections
	// open; those held for 2MSL wait outside it, see package track):
	// garbage of 30% of it rather than all of it. On the reference
	// workload that is 6 MB less at the peak than 50% (as conns has) for
	// 0.3 s more of the collector's CPU time (gctrace), out of 6.
	defer debug.SetGCPercent(debug.SetGCPercent(30))
	out := bufio.NewWriterSize(env.Stdout, 1<<16)
	ew, err := explain.NewWriter(out, ladder.ExplainOptions(ladder.Options{Lang: lang, Width: width, ASCII: plain, Full: full}))
	if err != nil {
		return err
	}
	live := input.Live(files, env.Stdin)
	var (
		werr             error
		buf              []byte
		printed, evicted int
	)
	done := func(c *tcpstate.Conn) {
		if c.End == tcpstate.EndEvicted {
			evicted++
		}
		if connID != 0 && c.ID != uint64(connID) {
			return
		}
		printed++
		if werr == nil && report != nil {
			sum.Add(c)
			werr = report.Add(c)
		}
		if werr != nil {
			return
		}
		if asJSON {
			buf = conn.AppendExplainJSON(buf[:0], c)
			_, werr = out.Write(buf)
		} else {
			werr = ew.Write(c)
		}
		if live && werr == nil {
			werr = out.Flush() // reading a live pipe: show it now
		}
	}
	cfg := viewConfig(done, maxConns)
	cfg.Hold = hold
	if asJSON { // the only view with Zeek's fields: the others need not keep them
		cfg.Observer = zeekObservers(false)
	}
	err = trackFile(env, files, true, expr, cfg)
	if werr == nil {
		werr = out.Flush()
	}
	sayEvicted(env, "explain", evicted, maxConns, "explained as evicted")
	if err == nil && connID != 0 && printed == 0 {
		err = fmt.Errorf("no connection %d in %s", connID, inputsName(files))
	}
	if werr == nil && err == nil && report != nil {
		report.SetSummary(sum.Summary().Page())
		if werr = report.Close(); werr == nil {
			werr = reportFile.Commit() // in place of the file only on success
		}
		if werr == nil {
			sayReport(env, "explain", htmlOut, report)
		}
	}
	if werr != nil && err == nil {
		err = werr
	}
	return err
}

// sayReport says in one line on standard error how big the report
// written to path is.
func sayReport(env *Env, cmd, path string, r *html.Writer) {
	fmt.Fprintf(env.Stderr, "synfin %s: %s\n", cmd, r.Said(path))
}

// checkViewFlags checks the flags explain and diagram share and returns
// the filter expression.
func checkViewFlags(fs *flagSet, lang string, connID, width, maxConns int) (string, error) {
	if explain.CheckLang(lang) != nil {
		return "", usagef("--lang must be en or zh, not %q", lang)
	}
	if fs.Seen("conn") && connID <= 0 {
		return "", usagef("--conn takes a connection id from 1")
	}
	if fs.Seen("width") && width < 40 {
		return "", usagef("--width must be at least 40")
	}
	return exprArg(fs)
}

// exprArg returns the filter expression, compiled once here so that a
// bad one is a usage error before any reading.
func exprArg(fs *flagSet) (string, error) {
	expr := strings.Join(fs.Args(), " ")
	if expr != "" {
		if _, err := filter.Compile(expr, wire.LinkEthernet); err != nil {
			return "", usagef("%v", err)
		}
	}
	return expr, nil
}
