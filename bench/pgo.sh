#!/usr/bin/env bash
# Rewrites cmd/synfin/default.pgo, the CPU profile that go build uses for
# profile-guided optimisation of the synfin binary (about 3% faster on the
# reference workload). The profile comes from BenchmarkConnsFile (table and
# JSON, one and two trackers) and BenchmarkReadNS over the reference
# capture that bench/run.sh generates. Run it from the repository root
# after changing the hot path, then bench/run.sh to see the effect.
set -euo pipefail

if [ ! -f go.mod ] || [ ! -d cmd/synfin ]; then
	echo "bench/pgo.sh: run me from the repository root" >&2
	exit 2
fi
ref=$(ls bench/out/ref-full-seed1-x1-*.pcap 2>/dev/null | head -n1 || true)
if [ -z "$ref" ]; then
	echo "bench/pgo.sh: no reference capture in bench/out/; run bench/run.sh --skip-slow first" >&2
	exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SYNFIN_BENCH_FILE=$PWD/$ref
go test -run '^$' -bench 'ConnsFile' -benchtime 3x -cpuprofile "$tmp/conns.prof" -o "$tmp/cli.test" ./internal/cli/ >&2
go test -run '^$' -bench 'ReadNS' -benchtime 3x -cpuprofile "$tmp/read.prof" -o "$tmp/cli.test" ./internal/cli/ >&2
go tool pprof -proto "$tmp/conns.prof" "$tmp/read.prof" >cmd/synfin/default.pgo 2>/dev/null
echo "wrote cmd/synfin/default.pgo ($(wc -c <cmd/synfin/default.pgo) bytes)" >&2
