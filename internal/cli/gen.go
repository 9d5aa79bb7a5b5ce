package cli

import (
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
                  [--transfer N [--reorder]]

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
  --transfer N instead, one connection of N segments (at least 7): an upload
               of full-size segments, each second one acknowledged
  --reorder    with --transfer, every eighth pair of data segments swapped
  -q           print nothing when done

Examples:
  synfin gen -w ref.pcap                       the benchmark's reference workload
  synfin gen -w small.pcapng --conns 1000 --pcapng
  synfin gen -w - --conns 100 | synfin conns -r -
  synfin gen -w long.pcap --transfer 20000 --reorder
`

func runGen(env *Env, args []string) error {
	var (
		out, seed              string
		conns, scale, transfer int
		pcapng, q, reorder     bool
	)
	fs := newFlags("gen", genUsage, env.Stdout)
	fs.String('w', "", &out)
	fs.Int(0, "conns", &conns)
	fs.Int(0, "scale", &scale)
	fs.String(0, "seed", &seed)
	fs.Bool(0, "pcapng", &pcapng)
	fs.Bool('q', "quiet", &q)
	fs.Int(0, "transfer", &transfer)
	fs.Bool(0, "reorder", &reorder)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(fs.Args()) > 0 {
		return usagef("unexpected argument %q", fs.Args()[0])
	}
	if out == "" {
		return usagef("-w FILE is required")
	}
	cfg := gen.Config{Conns: conns, Scale: scale, Seed: 1, PcapNG: pcapng, Transfer: transfer, Reorder: reorder}
	if fs.Seen("conns") && conns <= 0 {
		return usagef("--conns must be positive")
	}
	if fs.Seen("scale") && scale <= 0 {
		return usagef("--scale must be positive")
	}
	if fs.Seen("transfer") && transfer < gen.MinTransfer || reorder && !fs.Seen("transfer") {
		return usagef("--transfer takes at least %d segments (handshake and close); --reorder needs it", gen.MinTransfer)
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
		_, err = io.WriteString(env.Stderr, st.Report("synfin gen: ", time.Since(start)))
	}
	return err
}
