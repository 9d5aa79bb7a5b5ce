package cli

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"

	"synfin/gen"
	"synfin/internal/outfile"
)

func init() {
	register(&command{name: "gen", summary: "write a synthetic capture of a busy server (the benchmark workload)", run: runGen})
}

const genUsage = `Usage: synfin gen -w FILE [--conns N] [--seed S] [--scale K] [--pcapng]

Writes a deterministic capture of many overlapping TCP connections with
every lifecycle synfin names (four- and three-segment closes from either
side, simultaneous close, half-close, RST abort, refusal, unanswered SYN),
IPv4 and IPv6 over Ethernet. The same options give the same bytes.

Options:
  -w FILE      where to write ("-" for standard output)
  --conns N    connections at scale 1 (default 200000: about 2.35 M packets, 600 MB)
  --scale K    multiply the connections by K; the capture gets longer, not
               busier, so the number of open connections stays the same
  --seed S     random seed (default 1)
  --pcapng     write pcapng instead of pcap
  -q           print nothing when done

Examples:
  synfin gen -w ref.pcap                       the benchmark's reference workload
  synfin gen -w small.pcapng --conns 1000 --pcapng
  synfin gen -w - --conns 100 | synfin conns -r -
`

func runGen(env *Env, args []string) error {
	var (
		out, seed    string
		conns, scale int
		pcapng, q    bool
	)
	fs := newFlags("gen", genUsage, env.Stdout)
	fs.String('w', "", &out)
	fs.Int(0, "conns", &conns)
	fs.Int(0, "scale", &scale)
	fs.String(0, "seed", &seed)
	fs.Bool(0, "pcapng", &pcapng)
	fs.Bool('q', "quiet", &q)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(fs.Args()) > 0 {
		return usagef("unexpected argument %q", fs.Args()[0])
	}
	if out == "" {
		return usagef("-w FILE is required")
	}
	cfg := gen.Config{Conns: conns, Scale: scale, Seed: 1, PcapNG: pcapng}
	if fs.Seen("conns") && conns <= 0 {
		return usagef("--conns must be positive")
	}
	if fs.Seen("scale") && scale <= 0 {
		return usagef("--scale must be positive")
	}
	if seed != "" {
		s, err := strconv.ParseUint(seed, 0, 64)
		if err != nil {
			return usagef("--seed takes a whole number, not %q", seed)
		}
		cfg.Seed = s
	}

	var w io.Writer = env.Stdout
	var f *outfile.File
	if out != outfile.Stdout {
		// In place of the file only once it is whole.
		var err error
		if f, err = outfile.Create(out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	start := time.Now()
	st, err := gen.Write(w, cfg)
	if err == nil && f != nil {
		err = f.Commit()
	}
	if err != nil {
		return unprefix(err, "gen: ")
	}
	if !q {
		bw := bufio.NewWriter(env.Stderr)
		fmt.Fprintf(bw, "synfin gen: wrote %d connections, %d packets, %.1f MB in %.2fs (%s of traffic, at most %d open at once)\n",
			st.Conns, st.Packets, float64(st.Bytes)/1e6, time.Since(start).Seconds(),
			st.Last.Sub(st.First).Round(time.Second), st.MaxOpen)
		fmt.Fprintf(bw, "synfin gen: IPv4 %d, IPv6 %d;", st.IPv4, st.IPv6)
		for l := range gen.NumLifecycles {
			fmt.Fprintf(bw, " %s %d", l, st.Lifecycles[l])
		}
		fmt.Fprintf(bw, "\nsynfin gen: client-first %d, server-first %d; SYN retransmits %d, data retransmits %d, out-of-order %d\n",
			st.ClientFirst, st.ServerFirst, st.SYNRetransmits, st.Retransmits, st.OutOfOrder)
		return bw.Flush()
	}
	return nil
}
