package cli

import (
	"bufio"
	"fmt"

	"synfin/input"
	"synfin/internal/outfile"
	"synfin/render/html"
	"synfin/render/ladder"
	"synfin/render/tsg"
	"synfin/summary"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
)

func runDiagram(env *Env, args []string) error {
	var (
		files                   []string
		format, out, lang       string
		plain, full             bool
		connID, width, maxConns int
	)
	fs := newFlags("diagram", env.Stdout)
	fs.Strings('r', "read", &files)
	fs.String(0, "format", &format)
	fs.String('o', "output", &out)
	fs.Int(0, "conn", &connID)
	fs.Bool(0, "ascii", &plain)
	fs.Int(0, "width", &width)
	fs.String(0, "lang", &lang)
	fs.Bool(0, "full", &full)
	maxConnsFlag(fs, &maxConns, track.DefaultMaxConns)
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch format {
	case "":
		format = "ascii"
	case "ascii", "svg", "mermaid", "html", "tsg":
	default:
		return usagef("--format must be ascii, svg, mermaid, html or tsg, not %q", format)
	}
	expr, err := checkViewFlags(fs, lang, connID, width, maxConns)
	if err != nil {
		return err
	}
	// The output is opened first, so that a bad path fails before a long
	// read; it takes the place of FILE only if the run succeeds.
	w := env.Stdout
	var f *outfile.File
	if out != "" && out != outfile.Stdout {
		if f, err = outfile.Create(out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	lo := ladder.Options{Width: width, ASCII: plain, Lang: lang, Full: full}
	live := input.Live(files, env.Stdin)
	// Text and the HTML report are drawn as each connection is handed
	// out, so that memory follows the connections held, as in explain;
	// SVG and Mermaid are one document of them all: they are kept.
	kept := track.Kept{Max: track.ReportMax(maxConns)}
	var report *html.Writer // buffered itself: it writes to w
	sum := summary.New()    // the report's summary
	if format == "html" {
		report, err = html.NewWriter(w, html.Options{Title: inputsName(files), Lang: lang})
	}
	found, evicted := 0, 0
	readErr := trackFile(env, files, f == nil, expr, viewConfig(func(c *tcpstate.Conn) {
		if c.End == tcpstate.EndEvicted {
			evicted++
		}
		if connID != 0 && c.ID != uint64(connID) {
			return
		}
		found++
		if report != nil {
			sum.Add(c)
			if err == nil {
				err = report.Add(c)
			}
		} else if format != "ascii" {
			kept.Add(c)
		} else if err == nil {
			if err = ladder.WriteText(bw, c, lo); err == nil && live {
				err = bw.Flush() // reading a live pipe: show it now
			}
		}
	}, maxConns))
	sayEvicted(env, "diagram", evicted, maxConns, "drawn as far as they went")
	if readErr == nil && connID != 0 && found == 0 {
		return fmt.Errorf("no connection %d in %s", connID, inputsName(files))
	}
	if conns := kept.Conns(); report != nil && err == nil {
		report.SetSummary(sum.Summary().Page())
		err = report.Close()
	} else if format != "ascii" && err == nil {
		sayLeftOut(env, "diagram", &kept)
		switch format {
		case "svg":
			err = ladder.WriteSVG(bw, conns, lo)
		case "mermaid":
			err = ladder.WriteMermaid(bw, conns, lo)
		case "tsg":
			if len(conns) != 1 {
				return fmt.Errorf("--format tsg draws one connection and %s has %d: pick one with --conn ID", inputsName(files), len(conns))
			}
			err = tsg.WriteSVG(bw, tsg.Compute(conns[0]), tsg.Options{Lang: lang})
		}
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err == nil {
		err = readErr
	}
	if err == nil && f != nil {
		err = f.Commit()
	}
	if err == nil && report != nil {
		sayReport(env, "diagram", out, report)
	}
	return err
}

// viewConfig is the tracker's configuration for explain and diagram:
// segments kept, at most maxConns connections held (no Zeek fields).
// Connections idle for the idle timeout are let go as conns lets them go,
// so that both number connections alike and memory stays flat however
// long the capture.
func viewConfig(done func(*tcpstate.Conn), maxConns int) track.Config {
	return track.Config{Segments: true, Done: done, MaxOpen: maxConns, MaxConns: maxConns * track.HeldPerOpen, MaxWarm: track.DefaultMaxWarm}
}
