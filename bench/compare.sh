#!/usr/bin/env bash
# Runs every reading command of synfin, with the flag sets users run, over
# the shared corpus, the seed capture and generated captures, with two
# builds (the working tree and an earlier one), and reports every output
# that differs: standard output, standard error and exit status. A change
# that means to keep behaviour (a refactor, an optimisation) must leave it
# silent. Run it from the repository root.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/compare.sh [--base REV | --base-bin FILE] [--ref FILE] [--conns N]
                        [--keep DIR]

  --base REV       the earlier build: this git revision (default HEAD,
                   i.e. the working tree's changes against the last commit)
  --base-bin FILE  the earlier build: this synfin binary
  --ref FILE       also run conns, conns --json, read -n -S and
                   explain --json on FILE (e.g. the reference capture
                   written by synfin gen)
  --conns N        the generated captures' connections (default 3000)
  --keep DIR       keep both builds' outputs in DIR

Inputs: every pcap and pcapng file of the shared corpus (SYNFIN_SHARED, or
../shared beside the repository), the seed's tcpdump text, and two
generated captures (synfin gen --conns N, seeds 1 and 2).
Exit status: 0 when every output is the same, 1 when any differs.
EOF
}

base=HEAD base_bin= ref= keep= conns=3000
while [ $# -gt 0 ]; do
	case $1 in
	--base) base=${2:?--base needs a revision}; shift ;;
	--base-bin) base_bin=${2:?--base-bin needs a file}; shift ;;
	--ref) ref=${2:?--ref needs a file}; shift ;;
	--conns) conns=${2:?--conns needs a number}; shift ;;
	--keep) keep=${2:?--keep needs a folder}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench/compare.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
if [ ! -f go.mod ] || [ ! -d cmd/synfin ]; then
	echo "bench/compare.sh: run me from the repository root" >&2
	exit 2
fi
shared=${SYNFIN_SHARED:-../shared}
if [ ! -d "$shared/testdata/corpus" ]; then
	echo "bench/compare.sh: no shared corpus at $shared (set SYNFIN_SHARED)" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "$keep" ]; then
	mkdir -p "$keep"
	out=$keep
else
	out=$tmp/out
fi
mkdir -p "$out/old" "$out/new"

echo "building the working tree" >&2
CGO_ENABLED=0 go build -o "$tmp/new" ./cmd/synfin
if [ -n "$base_bin" ]; then
	cp "$base_bin" "$tmp/old"
else
	echo "building $base" >&2
	mkdir "$tmp/src"
	git archive "$base" | tar -x -C "$tmp/src"
	(cd "$tmp/src" && CGO_ENABLED=0 go build -o "$tmp/old" ./cmd/synfin)
fi

inputs=()
while IFS= read -r f; do inputs+=("$f"); done < <(find "$shared/testdata/corpus" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
inputs+=("$shared/seed/capture.txt")
for s in 1 2; do
	"$tmp/new" gen -w "$tmp/gen$s.pcap" --conns "$conns" --seed $s 2>/dev/null
	inputs+=("$tmp/gen$s.pcap")
done

# Flag sets, one a line; FILE stands for the input, OUT for an output file.
cases=$(cat <<'EOF'
read -r FILE
read -r FILE -n
read -r FILE -n -S
read -r FILE -n -tt -v
read -r FILE -n -e -#
read -r FILE -ttt -S
read -r FILE -tttt -x
read -r FILE -n --annotate
read -r FILE -n tcp[13] & 2 != 0
conns -r FILE
conns -r FILE --json
conns -r FILE --max-conns 3
explain -r FILE
explain -r FILE --lang zh
explain -r FILE --json
diagram -r FILE
diagram -r FILE --format svg -o OUT
diagram -r FILE --format mermaid
diagram -r FILE --format html -o OUT
EOF
)
if [ -n "$ref" ]; then
	cases+=$'\n'"REF conns -r FILE"$'\n'"REF conns -r FILE --json"$'\n'"REF read -r FILE -n -S"$'\n'"REF explain -r FILE --json"
fi

n=0 differ=0
run() { # run BIN DIR NAME ARGS...: output, error and status into DIR/NAME.*
	local bin=$1 dir=$2 name=$3
	shift 3
	local args=() a
	for a in "$@"; do
		case $a in
		OUT) args+=("$dir/$name.file") ;;
		*) args+=("$a") ;;
		esac
	done
	set +e
	"$bin" "${args[@]}" >"$dir/$name.out" 2>"$dir/$name.err" </dev/null
	echo $? >"$dir/$name.status"
	set -e
}
while IFS= read -r line; do
	[ -n "$line" ] || continue
	list=("${inputs[@]}")
	if [[ $line == REF\ * ]]; then
		line=${line#REF }
		list=("$ref")
	fi
	for f in "${list[@]}"; do
		n=$((n + 1))
		name=$n
		read -r -a words <<<"$line"
		args=()
		for w in "${words[@]}"; do
			if [ "$w" = FILE ]; then args+=("$f"); else args+=("$w"); fi
		done
		run "$tmp/old" "$out/old" "$name" "${args[@]}"
		run "$tmp/new" "$out/new" "$name" "${args[@]}"
		for ext in out err status file; do
			a=$out/old/$name.$ext b=$out/new/$name.$ext
			[ -e "$a" ] || [ -e "$b" ] || continue
			# Paths of output files name their build's folder.
			if ! cmp -s <(sed "s|$out/old/|OUT/|g" "$a" 2>/dev/null) <(sed "s|$out/new/|OUT/|g" "$b" 2>/dev/null); then
				differ=$((differ + 1))
				echo "DIFFERS ($ext): synfin ${args[*]}"
				diff <(sed "s|$out/old/|OUT/|g" "$a" 2>/dev/null) <(sed "s|$out/new/|OUT/|g" "$b" 2>/dev/null) | head -5 || true
				break
			fi
		done
		[ -n "$keep" ] || rm -f "$out"/old/"$name".* "$out"/new/"$name".*
	done
done <<<"$cases"
echo "$n runs, $differ differing"
[ $differ = 0 ]
