#!/usr/bin/env bash
# Times synfin side by side with cat, tshark, tcptrace and tcpdump on the
# reference capture (written by `synfin gen`) and prints a Markdown table
# of wall time, CPU time, ratios and peak RSS, then how much faster
# `synfin read -n -S` is than `tcpdump -n -S` and whether their outputs are
# identical, how explain's outputs compare with conns --json, and a table
# of the outputs that grow with a connection's segments on one long
# transfer (`synfin gen --transfer`), in order and out of order. Run it
# from the repository root.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/run.sh [--quick] [--skip-slow] [--scale K] [--seed S] [--runs N]
                    [--transfer N]

  --quick      a small workload (10,000 connections, a transfer of
               100,000 segments) for a smoke run
  --skip-slow  leave out tcpdump, the slowest, and the check that
               synfin read -n -S prints what tcpdump -n -S prints
  --scale K    memory check: run cat and synfin (conns, read with and
               without -S, explain) on the 1x and Kx files and print
               synfin's peak RSS at both (the other tools are left out: at
               10x they take minutes and gigabytes)
  --seed S     generator seed (default 1)
  --runs N     time each command N times, in N rounds of all of them,
               and keep its fastest (default 1)
  --transfer N the long transfer's segments (default 1000000; 0: none)

The capture is generated once into bench/out/ and reused while the seed,
scale and generator source stay the same. Commands that synfin does not
have yet, and tools that are not installed, are reported as n/a.
EOF
}

scale=1 quick=0 skip_slow=0 seed=1 runs=1 transfer=''
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--transfer) transfer=${2:?--transfer needs a value}; shift ;;
	--transfer=*) transfer=${1#*=} ;;
	--skip-slow) skip_slow=1 ;;
	--scale) scale=${2:?--scale needs a value}; shift ;;
	--scale=*) scale=${1#*=} ;;
	--seed) seed=${2:?--seed needs a value}; shift ;;
	--seed=*) seed=${1#*=} ;;
	--runs) runs=${2:?--runs needs a value}; shift ;;
	--runs=*) runs=${1#*=} ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench/run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
for v in "$scale" "$seed" "$runs"; do
	[[ $v =~ ^[0-9]+$ && $v -gt 0 ]] || { echo "bench/run.sh: $v is not a positive whole number" >&2; exit 2; }
done
if [ -z "$transfer" ]; then
	transfer=1000000
	[ $quick = 1 ] && transfer=100000
fi
[[ $transfer =~ ^[0-9]+$ ]] || { echo "bench/run.sh: --transfer $transfer is not a whole number" >&2; exit 2; }

if [ ! -f go.mod ] || [ ! -d cmd/synfin ]; then
	echo "bench/run.sh: run me from the repository root" >&2
	exit 2
fi
if ! /usr/bin/time -f %M true >/dev/null 2>&1; then
	echo "bench/run.sh: needs GNU time (apt-get install -y time)" >&2
	exit 2
fi

out=bench/out
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "building synfin (CGO_ENABLED=0)" >&2
CGO_ENABLED=0 go build -o "$out/synfin" ./cmd/synfin
synfin=$out/synfin

# The cache key covers what decides the bytes: seed, size and generator source.
genkey=$(cat $(ls gen/*.go | grep -v _test.go) | sha256sum | cut -c1-10)
conns_flag=()
size=full
if [ $quick = 1 ]; then
	conns_flag=(--conns 10000)
	size=quick
fi

# capture K: the path of the K-times file, generated if not cached.
capture() {
	local k=$1
	local f=$out/ref-$size-seed$seed-x$k-$genkey.pcap
	if [ ! -s "$f" ]; then
		rm -f "$out"/ref-$size-seed$seed-x$k-*.pcap*
		echo "generating $f" >&2
		"$synfin" gen -w "$f.tmp" "${conns_flag[@]}" --seed "$seed" --scale "$k" 2>"$f.gen"
		mv "$f.tmp" "$f"
	fi
	echo "$f"
}

# available CMD...: whether the program (or synfin subcommand) exists.
available() {
	if [ "$1" = "$synfin" ]; then
		"$synfin" "$2" --help >/dev/null 2>&1
	else
		command -v "$1" >/dev/null 2>&1
	fi
}

# transferfile ARGS...: the path of the long transfer gen writes with
# ARGS, generated if not cached.
transferfile() {
	local f=$out/transfer-$transfer$(printf %s "$*" | tr -d ' -')-seed$seed-$genkey.pcap
	if [ ! -s "$f" ]; then
		rm -f "$out"/transfer-$transfer$(printf %s "$*" | tr -d ' -')-seed$seed-*.pcap*
		echo "generating $f" >&2
		"$synfin" gen -w "$f.tmp" --transfer "$transfer" --seed "$seed" "$@" 2>"$f.gen"
		mv "$f.tmp" "$f"
	fi
	echo "$f"
}

# once CMD...: runs CMD once; sets w (seconds), c (CPU seconds, user and
# system) and r (peak RSS, MB), or note when it cannot run or fails.
once() {
	w='' c='' r='' note=''
	if ! available "$@"; then
		note=n/a
		return
	fi
	local t0 t1 rc=0
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%M %U %S' -o "$tmp/rss" timeout 1800 "$@" >/dev/null 2>"$tmp/err" || rc=$?
	t1=$EPOCHREALTIME
	if [ $rc != 0 ]; then
		note="failed (exit $rc): $(grep -v '^Running as user' "$tmp/err" | head -n1 | cut -c1-60)"
		[ $rc = 124 ] && note="timed out"
		return
	fi
	w=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	r=$(awk 'END { printf "%.0f", $1 / 1024 }' "$tmp/rss")
	c=$(awk 'END { printf "%.2f", $2 + $3 }' "$tmp/rss")
}

# faster A B: whether time A is below B (or B is unset).
faster() { [ -z "$2" ] || awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# measure CMD...: sets wall and cpu (the least of runs, seconds) and rss
# (MB), or note when it cannot.
measure() {
	wall='' cpu='' rss='' note=''
	local i
	for ((i = 0; i < runs; i++)); do
		once "$@"
		[ -n "$note" ] && return
		if faster "$w" "$wall"; then
			wall=$w
		fi
		if faster "$c" "$cpu"; then
			cpu=$c
		fi
		rss=$r
	done
}

ratio() { # a b: a/b, or n/a
	if [ -n "$1" ] && [ -n "$2" ]; then
		awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "n/a" }'
	else
		echo n/a
	fi
}

warm() {
	cat "$1" >/dev/null
	cat "$1" >/dev/null
}

describe() { # file
	echo "File: \`$(basename "$1")\`: $(head -n1 "$1.gen" | sed 's/^synfin gen: //')."
}

machine() {
	echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ { print $2 }') GiB, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work running skews the times)."
	echo
}

if [ "$scale" -gt 1 ]; then
	f1=$(capture 1)
	fk=$(capture "$scale")
	echo "## synfin memory at 1× and ${scale}×"
	echo
	describe "$f1"
	describe "$fk"
	machine
	echo "| command | 1× wall (s) | 1× peak RSS (MB) | ${scale}× wall (s) | ${scale}× peak RSS (MB) |"
	echo "|---|---:|---:|---:|---:|"
	for row in "cat" "synfin conns" "synfin conns --json" "synfin read -n -S" "synfin read -n" "synfin explain --json"; do
		cells=()
		for f in "$f1" "$fk"; do
			warm "$f"
			case $row in
			cat) measure cat "$f" ;;
			"synfin conns") measure "$synfin" conns -r "$f" ;;
			"synfin conns --json") measure "$synfin" conns --json -r "$f" ;;
			"synfin explain --json") measure "$synfin" explain --json -r "$f" ;;
			"synfin read -n -S") measure "$synfin" read -n -S -r "$f" ;;
			"synfin read -n") measure "$synfin" read -n -r "$f" ;; # relative numbers: a table of conversations
			esac
			if [ -n "$note" ]; then
				cells+=("$note" "")
			else
				cells+=("$(printf %.3f "$wall")" "$rss")
			fi
		done
		echo "| \`$row\` | ${cells[0]} | ${cells[1]} | ${cells[2]} | ${cells[3]} |"
	done
	exit 0
fi

f=$(capture 1)
warm "$f"
names=("cat FILE > /dev/null" "synfin conns -r FILE" "synfin read -n -S -r FILE"
	"tshark -q -z conv,tcp -r FILE" "tcptrace -n FILE" "tcpdump -n -S -r FILE"
	"synfin conns --json -r FILE" "synfin explain --json -r FILE" "synfin explain -r FILE")
walls=() cpus=() rsss=() notes=()
command_of() { # i: sets cmd to the command of names[i]
	case $1 in
	0) cmd=(cat "$f") ;;
	1) cmd=("$synfin" conns -r "$f") ;;
	2) cmd=("$synfin" read -n -S -r "$f") ;;
	3) cmd=(tshark -q -z conv,tcp -r "$f") ;;
	4) cmd=(tcptrace -n "$f") ;;
	5) cmd=(tcpdump -n -S -r "$f") ;;
	6) cmd=("$synfin" conns --json -r "$f") ;;
	7) cmd=("$synfin" explain --json -r "$f") ;;
	8) cmd=("$synfin" explain -r "$f") ;;
	esac
}
if [ $skip_slow = 1 ]; then
	notes[5]="skipped (--skip-slow)"
fi
# The runs go in rounds, every command once a round, rather than one
# command's runs back to back: on a shared machine a slow spell then
# falls on all of them alike, and each keeps its fastest.
for ((round = 1; round <= runs; round++)); do
	for i in "${!names[@]}"; do
		[ -n "${notes[$i]:-}" ] && continue
		echo "timing ${names[$i]} (round $round of $runs)" >&2
		command_of "$i"
		once "${cmd[@]}"
		if [ -n "$note" ]; then
			notes[$i]=$note
			continue
		fi
		if faster "$w" "${walls[$i]:-}"; then
			walls[$i]=$w
		fi
		if faster "$c" "${cpus[$i]:-}"; then
			cpus[$i]=$c
		fi
		rsss[$i]=$r
	done
done

# same_output FILE: whether synfin read -n -S prints what tcpdump -n -S
# prints, byte for byte (one more, untimed, run of each, streamed to cmp).
same_output() {
	if ! available "$synfin" read || ! available tcpdump; then
		echo "not checked (tcpdump or synfin read missing)"
		return
	fi
	echo "checking that synfin read and tcpdump print the same" >&2
	local size diff
	size=$("$synfin" read -n -S -r "$1" 2>/dev/null | wc -lc | awk '{ printf "%d lines, %d bytes", $1, $2 }')
	if diff=$(cmp <("$synfin" read -n -S -r "$1" 2>/dev/null) <(tcpdump -n -S -r "$1" 2>/dev/null) 2>&1); then
		echo "identical ($size)"
	else
		echo "**different**: $(echo "$diff" | head -n1 | sed 's|/dev/fd/[0-9]*|synfin|; s|/dev/fd/[0-9]*|tcpdump|')"
	fi
}
identity=''
if [ $skip_slow = 0 ]; then
	identity=$(same_output "$f")
fi

echo
describe "$f"
machine
cat_wall=${walls[0]:-} conns_wall=${walls[1]:-}
echo "| command | wall (s) | CPU (s) | × cat | × synfin conns | peak RSS (MB) |"
echo "|---|---:|---:|---:|---:|---:|"
for i in "${!names[@]}"; do
	if [ -n "${notes[$i]:-}" ]; then
		echo "| \`${names[$i]}\` | ${notes[$i]} | | | | |"
		continue
	fi
	printf '| `%s` | %.3f | %.2f | %s | %s | %s |\n' "${names[$i]}" "${walls[$i]}" "${cpus[$i]}" \
		"$(ratio "${walls[$i]}" "$cat_wall")" "$(ratio "${walls[$i]}" "$conns_wall")" "${rsss[$i]}"
done

# explain's outputs against conns --json, measured side by side above.
echo
if [ -n "${walls[6]:-}" ] && [ -n "${walls[7]:-}" ] && [ -n "${walls[8]:-}" ]; then
	echo "\`explain --json\` takes $(ratio "${walls[7]}" "${walls[6]}") the wall time of \`conns --json\` ($(ratio "${cpus[7]}" "${cpus[6]}") its CPU time);" \
		"\`explain\` (text) $(ratio "${walls[8]}" "${walls[7]}") that of \`explain --json\` ($(ratio "${cpus[8]}" "${cpus[7]}") its CPU time)."
else
	echo "explain's outputs against \`conns --json\`: not measured (${notes[8]:-${notes[7]:-${notes[6]:-}}})."
fi

# read against tcpdump: the speed-up and whether the output is the same.
read_wall=${walls[2]:-} tcpdump_wall=${walls[5]:-}
echo
if [ $skip_slow = 1 ]; then
	echo "\`synfin read -n -S\` against \`tcpdump -n -S\`: not measured (--skip-slow)."
elif [ -z "$read_wall" ] || [ -z "$tcpdump_wall" ]; then
	echo "\`synfin read -n -S\` against \`tcpdump -n -S\`: not measured (${notes[5]:-${notes[2]:-}})."
else
	echo "\`synfin read -n -S\` against \`tcpdump -n -S\`: $(ratio "$tcpdump_wall" "$read_wall") faster (wall time); output $identity."
fi

# The outputs that grow with a connection's segments, on one long
# transfer in order and out of order.
[ "$transfer" -gt 0 ] || exit 0
views=("conns --json" "explain --json" "explain" "explain --full" "diagram" "diagram --full" "diagram --format svg" "diagram --format mermaid")
echo
echo "One connection of $transfer segments (\`synfin gen --transfer $transfer\`; its data phase summed up but with \`--full\`):"
echo
echo "| command | in order: wall (s) | CPU (s) | peak RSS (MB) | out of order: wall (s) | CPU (s) | peak RSS (MB) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
t1=$(transferfile)
t2=$(transferfile --reorder)
for v in "${views[@]}"; do
	cells=()
	for tf in "$t1" "$t2"; do
		echo "timing synfin $v on $(basename "$tf")" >&2
		read -ra args <<<"$v"
		measure "$synfin" "${args[@]}" -r "$tf"
		if [ -n "$note" ]; then
			cells+=("$note" "" "")
		else
			cells+=("$(printf %.3f "$wall")" "$cpu" "$rss")
		fi
	done
	echo "| \`synfin $v\` | ${cells[0]} | ${cells[1]} | ${cells[2]} | ${cells[3]} | ${cells[4]} | ${cells[5]} |"
done
