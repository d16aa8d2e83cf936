#!/usr/bin/env bash
# ICMP benchmark: COUNT (default 1000) addresses on a dummy interface in a test namespace, one round of one echo
# each, paced 1 ms apart: ours (`hive-health check` with one net.icmp node check over all of them) against
# `fping -c1 -i1` on the same list, both run inside the prober namespace. Wall and CPU time, answers and the ratio
# are printed. Traffic stays inside the two namespaces made here, which are deleted on exit.
# Each of the three commands (ours, ours with the noop probe, fping) runs REPEAT times (default 5), taking turns; the
# figures are each one's median (a single round's CPU is tens of milliseconds: one run's noise is a tenth of it).
# Usage: REPEAT=5 scripts/bench-icmp.sh [COUNT] [BINARY]   (needs root, iproute2, fping)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
binary=${2:-$(swift build --show-bin-path)/hive-health}
[ -x "$binary" ] || { echo "no hive-health binary at $binary (swift build first)" >&2; exit 1; }
command -v fping >/dev/null || { echo "fping is not installed" >&2; exit 1; }
tag=$(printf '%08x' $((RANDOM * 65536 + RANDOM)))
host=hh-bench-$tag-h
inst=hh-bench-$tag-i
work=$(mktemp -d /tmp/hh-bench-icmp-XXXXXX)
cleanup() {
    ip netns del "$host" 2>/dev/null || true
    ip netns del "$inst" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$host"
ip netns add "$inst"
ip -n "$host" link set lo up
ip -n "$inst" link set lo up
ip -n "$host" link add hhb-host type veth peer name hhb-inst netns "$inst"
ip -n "$host" addr add 10.231.0.1/24 dev hhb-host
ip -n "$inst" addr add 10.231.0.2/24 dev hhb-inst
ip -n "$host" link set hhb-host up
ip -n "$inst" link set hhb-inst up
# The addresses live on a dummy interface; where the kernel has no dummy driver, on the instance's veth.
target=hhb-dummy
if ip -n "$inst" link add hhb-dummy type dummy 2>/dev/null; then
    ip -n "$inst" link set hhb-dummy up
else
    target=hhb-inst
    echo "(no dummy interface driver: the addresses go on the veth)" >&2
fi
: > "$work/addresses"
: > "$work/batch"
for i in $(seq 0 $((count - 1))); do
    address="10.232.$((i / 250)).$((i % 250 + 1))"
    echo "$address" >> "$work/addresses"
    echo "address add $address/32 dev $target" >> "$work/batch"
done
ip -n "$inst" -batch "$work/batch"
ip -n "$host" route add 10.232.0.0/16 via 10.231.0.2
# Warm the neighbour entries both ways, so neither side pays ARP in the timed round.
ip netns exec "$host" fping -q -c1 10.231.0.2 >/dev/null 2>&1 || true

mkdir -p "$work/checks.d"
{
    echo "checks:"
    echo "  - name: icmp.bench"
    echo "    probe: net.icmp"
    echo "    target: node"
    echo "    timeout: 20s"
    echo "    interval: 60s"
    echo "    params:"
    echo "      count: 1"
    echo "      max_loss_percent: 0"
    printf '      addresses: ['
    paste -sd, "$work/addresses" | sed 's/,/, /g' | tr -d '\n'
    echo "]"
} > "$work/checks.d/icmp.yaml"
echo '{"vms": {}}' > "$work/instances.json"

measure() { # label, command...: prints "wall user sys" in seconds (bash's time: the command and its children)
    local label=$1
    shift
    local TIMEFORMAT='%R %U %S'
    { time "$@" > "$work/$label.out" 2> "$work/$label.err"; } 2> "$work/$label.time" || true
    tail -n 1 "$work/$label.time"
}

mkdir -p "$work/noop.d"
printf 'checks:\n  - name: noop\n    probe: noop\n    target: node\n' > "$work/noop.d/noop.yaml"
repeat=${REPEAT:-5}
[[ "$repeat" =~ ^[0-9]+$ ]] && (( repeat >= 1 && repeat <= 50 )) || { echo "REPEAT must be 1 to 50" >&2; exit 2; }
: > "$work/noop.runs"; : > "$work/ours.runs"; : > "$work/fping.runs"
for run in $(seq 1 "$repeat"); do
    # The same command with a probe that does nothing: what process start, catalogue and reporting cost.
    measure noop ip netns exec "$host" "$binary" check --format json \
        --checks "$work/noop.d" --inventory "file:$work/instances.json" --state-dir "$work/state-noop" >> "$work/noop.runs"
    measure ours ip netns exec "$host" "$binary" check --format json \
        --checks "$work/checks.d" --inventory "file:$work/instances.json" --state-dir "$work/state" >> "$work/ours.runs"
    measure fping ip netns exec "$host" fping -c1 -i1 -t2000 -q -f "$work/addresses" >> "$work/fping.runs"
done
# The median of each column (wall, user, system) over the runs.
median() { python3 -c 'import statistics, sys
rows = [list(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
print(" ".join("%.3f" % statistics.median(column) for column in zip(*rows)))' "$1"; }
read -r base_wall base_user base_sys < <(median "$work/noop.runs")
read -r ours_wall ours_user ours_sys < <(median "$work/ours.runs")
read -r fping_wall fping_user fping_sys < <(median "$work/fping.runs")
ours_cpu=$(echo "$ours_user + $ours_sys" | bc -l)
fping_cpu=$(echo "$fping_user + $fping_sys" | bc -l)
ours_status=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["node"]["system"]["checks"][0]; print(c["status"], "-", c["message"][:100])' "$work/ours.out")
fping_ok=$(grep -c 'xmt/rcv/%loss = 1/1/0%' "$work/fping.err" || true)

printf 'addresses                : %d (each figure the median of %d runs)\n' "$count" "$repeat"
printf 'hive-health (net.icmp)   : wall %.3f s, cpu %.3f s, %s\n' "$ours_wall" "$ours_cpu" "$ours_status"
base_cpu=$(echo "$base_user + $base_sys" | bc -l)
printf 'the same, noop probe     : wall %.3f s, cpu %.3f s (process start, catalogue, report)\n' "$base_wall" \
    "$base_cpu"
printf 'net.icmp itself          : wall %.3f s, cpu %.3f s (the difference)\n' \
    "$(echo "$ours_wall - $base_wall" | bc -l)" "$(echo "$ours_cpu - $base_cpu" | bc -l)"
printf 'fping -c1 -i1            : wall %.3f s, cpu %.3f s, %d of %d answered\n' "$fping_wall" "$fping_cpu" \
    "$fping_ok" "$count"
# Where the CPU goes: over a veth pair the other namespace's answer is kernel work (softirq) that mostly runs on
# the sending CPU when the send returns, so it counts as the sender's system time, for us and for fping alike.
printf 'user / system, per addr  : net.icmp %.0f / %.0f us, fping %.0f / %.0f us\n' \
    "$(echo "($ours_user - $base_user) * 1000000 / $count" | bc -l)" \
    "$(echo "($ours_sys - $base_sys) * 1000000 / $count" | bc -l)" \
    "$(echo "$fping_user * 1000000 / $count" | bc -l)" "$(echo "$fping_sys * 1000000 / $count" | bc -l)"
printf 'ratio fping/ours         : wall %.2f, cpu %.2f (above 1: ours is faster)\n' \
    "$(echo "$fping_wall / $ours_wall" | bc -l)" "$(echo "$fping_cpu / ($ours_cpu + 0.0001)" | bc -l)"
printf 'ratio fping/net.icmp     : wall %.2f, cpu %.2f (process overhead removed)\n' \
    "$(echo "$fping_wall / ($ours_wall - $base_wall)" | bc -l)" \
    "$(echo "$fping_cpu / ($ours_cpu - $base_cpu + 0.0001)" | bc -l)"
