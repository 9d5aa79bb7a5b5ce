package cli

import (
	"io"
	"strconv"
	"time"

	"synfin/gen"
	"synfin/internal/outfile"
)

func runGen(env *Env, args []string) error {
	var (
		out, seed              string
		conns, scale, transfer int
		pcapng, q, reorder     bool
	)
	fs := newFlags("gen", env.Stdout)
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
