#!/usr/bin/env bash
# nbd.export latency: RUNS (default 1000) sessions of hive-health's NBD client (handshake, 4 KiB read at offset 0,
# disconnect) against a local nbdkit memory export on a unix socket, side by side with `qemu-img info` on the same
# export (a process per check, what a script-based check would do). Prints p50/p99 of both and the ratio.
# Usage: scripts/bench-nbd.sh [RUNS]   Environment: NBD_LATENCY=PATH (the NBDLatency binary; default: debug build).
# Only the nbdkit this script started is stopped (by its pid); loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000}
if [[ ! "$runs" =~ ^[0-9]+$ ]] || (( runs < 10 || runs > 100000 )); then
    echo "usage: $0 [RUNS]   (10 to 100000)" >&2
    exit 2
fi
binary=${NBD_LATENCY:-$(swift build --show-bin-path)/NBDLatency}
if [ ! -x "$binary" ]; then
    swift build --product NBDLatency
fi
[ -x "$binary" ] || { echo "no NBDLatency binary at $binary" >&2; exit 1; }
command -v nbdkit >/dev/null || { echo "nbdkit is not installed (apt-get install nbdkit)" >&2; exit 1; }
command -v qemu-img >/dev/null || { echo "qemu-img is not installed (apt-get install qemu-utils)" >&2; exit 1; }

work=$(mktemp -d /tmp/hh-nbd-XXXXXX)
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
nbdkit --foreground --unix "$work/vol.sock" memory 1G >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -S "$work/vol.sock" ] && break; sleep 0.05; done
[ -S "$work/vol.sock" ] || { echo "nbdkit did not create its socket" >&2; exit 1; }
uri="nbd+unix:///?socket=$work/vol.sock"

# p50 and p99 (in ms) of the seconds in file $1, one per line.
percentiles() {
    sort -g "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan nan"; exit }
        i50 = int((NR + 1) / 2); i99 = int(NR * 0.99 + 0.999999); if (i99 < 1) i99 = 1; if (i99 > NR) i99 = NR
        printf "%.3f %.3f\n", v[i50] * 1000, v[i99] * 1000 }'
}

"$binary" "nbd:unix:$work/vol.sock" "$runs" > "$work/client.txt" 2> "$work/client.err" || {
    cat "$work/client.err" >&2
    exit 1
}
for _ in $(seq 1 "$runs"); do
    t0=$(date +%s.%N)
    qemu-img info --output=json "$uri" > /dev/null
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc >> "$work/qemu-img.txt"
done
read -r client50 client99 < <(percentiles "$work/client.txt")
read -r img50 img99 < <(percentiles "$work/qemu-img.txt")
printf 'runs: %d against nbdkit memory 1G on a unix socket\n' "$runs"
printf 'nbd.export client   p50 %8.3f ms   p99 %8.3f ms\n' "$client50" "$client99"
printf 'qemu-img info       p50 %8.3f ms   p99 %8.3f ms\n' "$img50" "$img99"
printf 'ratio (qemu-img / client)   p50 %.1fx   p99 %.1fx\n' \
    "$(echo "$img50 / $client50" | bc -l)" "$(echo "$img99 / $client99" | bc -l)"
