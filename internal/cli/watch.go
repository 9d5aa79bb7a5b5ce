//go:build linux

package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"synfin/capture"
	"synfin/internal/progress"
	"synfin/watch"
	"synfin/watch/finding"
	"synfin/watch/metrics"
	"synfin/watch/screen"
)

func runWatch(env *Env, args []string) error {
	var (
		netns, metricsAddr, lang string
		asJSON, poll, tracefs    bool
		interval, dur, cwAge     time.Duration
	)
	fs := newFlags("watch", env.Stdout)
	fs.String(0, "netns", &netns)
	fs.Bool(0, "json", &asJSON)
	fs.String(0, "metrics", &metricsAddr)
	fs.Duration(0, "interval", &interval, true)
	fs.Duration(0, "for", &dur, true)
	fs.Duration(0, "close-wait-age", &cwAge, true)
	fs.String(0, "lang", &lang)
	fs.Bool(0, "poll", &poll)
	fs.Bool(0, "tracefs", &tracefs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if lang == "" {
		lang = "en"
	} else if lang != "en" && lang != "zh" {
		return usagef("--lang takes en or zh, not %q", lang)
	}
	match, err := watch.CompileMatcher(strings.Join(fs.Args(), " "))
	if err != nil {
		return usagef("%v", err)
	}
	w, err := watch.Open(watch.Options{Netns: netns, Interval: interval, Match: match, Poll: poll, Tracefs: tracefs,
		Thresholds: finding.Thresholds{CloseWaitAge: cwAge}})
	if err != nil {
		return err
	}
	defer w.Close()
	if !w.Transitions() && !poll {
		fmt.Fprintf(env.Stderr, "synfin watch: no transitions (%s); polling sock_diag, ages start when a socket is first seen\n", oneLine(w.Reason()))
	}
	var coll *metrics.Collector
	if metricsAddr != "" {
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics: %w", err)
		}
		coll = metrics.New()
		mux := http.NewServeMux()
		mux.Handle("/metrics", metrics.Handler(coll))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	// Every source is open: what set them up is needed no more.
	if err := capture.DropCapabilities(); err != nil {
		return err
	}
	ctx := env.Ctx
	if dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dur)
		defer cancel()
	}
	var h watch.Handler
	switch tty := progress.IsTerminal(env.Stdout); {
	case asJSON:
		h = watch.NewJSON(env.Stdout, lang).Handler()
	default:
		h.Snapshot = func(s *watch.Snapshot) error {
			if tty {
				fmt.Fprint(env.Stdout, screen.Home)
			} else {
				fmt.Fprintln(env.Stdout)
			}
			return screen.Draw(env.Stdout, s, lang, 0)
		}
	}
	if coll != nil {
		show := h.Snapshot
		h.Snapshot = func(s *watch.Snapshot) error {
			coll.Update(s)
			if show != nil {
				return show(s)
			}
			return nil
		}
	}
	return w.Run(ctx, h)
}
