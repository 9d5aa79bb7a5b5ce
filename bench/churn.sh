#!/usr/bin/env bash
# Connection churn on loopback in a network namespace of its own: N short
# connections (default 100,000) at R a second (default 5,000) from S
# client addresses (default 64), the server closing each first so that
# its end keeps TIME-WAIT. It reports:
#   - the kernel's own count of state changes of those sockets, from the
#     tracepoint sock/inet_sock_set_state: counted in the kernel by
#     bpftrace when it is installed (exact), and recorded in the ring
#     buffer of a tracefs instance of this script's, read once the churn
#     is over (with what the buffer lost, if it overflowed);
#   - the sockets in TIME-WAIT when the last connection is closed;
#   - what polling ss -tan once a second sees of them, and what that
#     polling costs (CPU time and peak RSS of the ss processes);
#   - with a COMMAND after --, that command's CPU time and peak RSS while
#     it runs through the churn, and the transitions it reports if it
#     prints JSON lines with "type":"transition" (or a screen saying "N
#     seen"), and those it says were lost; with bpftool installed, the
#     run time of its eBPF program synfin_state. {netns} in its
#     arguments becomes the namespace's name, {port} the server port:
#       bench/churn.sh -- synfin watch --netns {netns} --json
# Needs root (namespace, tracefs). Run it from the repository root.
set -euo pipefail

usage() { echo "usage: bench/churn.sh [-n CONNS] [-r RATE] [-s SOURCES] [-- COMMAND ...]" >&2; exit 2; }
n=100000 rate=5000 sources=64
while getopts n:r:s: o; do
	case $o in
	n) n=$OPTARG ;;
	r) rate=$OPTARG ;;
	s) sources=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift
if [ ! -f go.mod ] || [ ! -d bench/churn ]; then
	echo "bench/churn.sh: run me from the repository root" >&2
	exit 2
fi

tmp=$(mktemp -d)
ns=synfin-$$-churn$RANDOM # synfin-PID-...: lab --sweep removes it if this script dies
port=$((20000 + $$ % 20000))
tracefs=/sys/kernel/tracing
[ -d $tracefs/instances ] || tracefs=/sys/kernel/debug/tracing
inst=$tracefs/instances/synfin-$$-churn
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -d "$inst" ] && { echo 0 >"$inst/events/sock/inet_sock_set_state/enable"; rmdir "$inst"; } 2>/dev/null || true
	if [ -n "${stats:-}" ]; then sysctl -qw kernel.bpf_stats_enabled="$stats"; fi
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/churn" ./bench/churn
ip netns add "$ns"
ip -n "$ns" link set lo up
# Room for every connection's TIME-WAIT: a new namespace allows about
# half its established-hash size (32,768 on a small machine).
ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_max_tw_buckets=262144
filter="sport == $port || dport == $port"

# The kernel's count, twice; eBPF programs' run time for bpftool.
stats=
if command -v bpftool >/dev/null && [ $# -gt 0 ]; then
	stats=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
fi
mkdir "$inst"
echo 65536 >"$inst/buffer_size_kb" # per CPU: room for about a million events
echo "$filter" >"$inst/events/sock/inet_sock_set_state/filter"
echo 1 >"$inst/events/sock/inet_sock_set_state/enable"
if command -v bpftrace >/dev/null; then
	bpftrace -e "tracepoint:sock:inet_sock_set_state /args->sport == $port || args->dport == $port/ { @transitions = count(); }" \
		>"$tmp/bpftrace.out" 2>"$tmp/bpftrace.err" &
	pids+=($!)
	for _ in $(seq 100); do grep -q Attaching "$tmp/bpftrace.out" && break; sleep 0.1; done
fi

# The baseline observer, and the command measured.
ip netns exec "$ns" "$tmp/churn" sspoll -port "$port" >"$tmp/ss.out" &
pids+=($!)
if [ $# -gt 0 ]; then
	args=()
	for a in "$@"; do a=${a//\{netns\}/$ns}; args+=("${a//\{port\}/$port}"); done
	"$tmp/churn" measure -- "${args[@]}" >"$tmp/cmd.out" 2>"$tmp/cmd.err" &
	pids+=($!)
	sleep 1
fi

echo "churn: $n connections at $rate/s from $sources addresses on 127.0.0.1:$port in $ns" >&2
# connect() takes ports in turn, in small random steps, for each source
# and destination, and a port that comes back within TIME-WAIT's 60 s
# takes the server's TIME-WAIT over: of 100,000 connections, about 70,000
# stayed in TIME-WAIT from 4 addresses, 96,700 from 32, 98,600 from 64.
ip netns exec "$ns" "$tmp/churn" load -port "$port" -n "$n" -rate "$rate" -sources "$sources" >"$tmp/load.out"
ip netns exec "$ns" ss -tanH state time-wait "sport = :$port" | wc -l >"$tmp/tw.count"
bpfstats=
if command -v bpftool >/dev/null && [ $# -gt 0 ]; then
	bpfstats=$(bpftool prog show name synfin_state 2>/dev/null | grep -o 'run_time_ns [0-9]* run_cnt [0-9]*\|recursion_misses [0-9]*' | tr '\n' ' ' || true)
fi
sleep 2 # the last closes, and a last poll
# SIGTERM: background jobs of a script ignore SIGINT. bpftrace has once
# in a few heavy runs taken minutes to leave: 10 s, then it is killed.
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for _ in $(seq 100); do
	alive=
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ -z "$alive" ] && break
	sleep 0.1
done
for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
wait "${pids[@]}" 2>/dev/null || true
pids=()
echo 0 >"$inst/events/sock/inet_sock_set_state/enable"
lost=0
for f in "$inst"/per_cpu/cpu*/stats; do
	lost=$((lost + $(awk '/^overrun:/ {print $2}' "$f")))
done
grep -c inet_sock_set_state "$inst/trace" >"$tmp/tracefs.count" || true

echo "load:     $(cat "$tmp/load.out")"
if [ -s "$tmp/bpftrace.out" ]; then
	echo "kernel:   bpftrace counted $(awk '/@transitions/ {print $2}' "$tmp/bpftrace.out") transitions"
fi
echo "kernel:   tracefs instance recorded $(cat "$tmp/tracefs.count") transitions, its ring buffer lost $lost"
echo "TIME-WAIT: $(cat "$tmp/tw.count") sockets when the last connection closed"
echo "ss -tan:  $(cat "$tmp/ss.out")"
echo "nstat:    $(ip netns exec "$ns" env NSTAT_HISTORY="$tmp/nstat" nstat -asz TcpActiveOpens TcpExtTW TcpExtTCPTimeWaitOverflow TcpExtListenOverflows | awk '!/^#/ {printf "%s %s ", $1, $2}')"
if [ -s "$tmp/cmd.err" ] || [ -s "$tmp/cmd.out" ]; then
	# The last count of lost transitions: a JSON snapshot's, or the screen's.
	lost=$(grep -o '"lost":[0-9]*\|[0-9]* lost by' "$tmp/cmd.out" | tail -1 | grep -o '[0-9][0-9]*' | head -1 || true)
	seen=$(grep -c '"type":"transition"' "$tmp/cmd.out" || true)
	[ "$seen" = 0 ] && seen=$(grep -o '[0-9]* seen' "$tmp/cmd.out" | tail -1 | cut -d' ' -f1)
	echo "command:  $* -> ${seen:-0} transitions reported, ${lost:-?} lost; $(grep measured "$tmp/cmd.err" || tail -1 "$tmp/cmd.err")"
	if [ -n "$bpfstats" ]; then echo "eBPF:     synfin_state $bpfstats"; fi
fi
