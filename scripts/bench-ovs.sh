#!/usr/bin/env bash
# OVS benchmark: COUNT (default 1000) tap ports on br-int in a fresh database served by our own ovsdb-server (temp
# folder, never the system one). Status of every port three ways: ours (`hive-health check`, one ovs.port check per
# instance, all answered from one OVSDB monitor), COUNT `ovs-vsctl get Interface` processes (one per port), and one
# `ovs-vsctl --format=json list Interface`. Wall times and ratios are printed.
# Usage: scripts/bench-ovs.sh [COUNT] [BINARY]   (needs openvswitch-switch)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
binary=${2:-$(swift build --show-bin-path)/hive-health}
[ -x "$binary" ] || { echo "no hive-health binary at $binary (swift build first)" >&2; exit 1; }
work=$(mktemp -d /tmp/hh-bench-ovs-XXXXXX)
server=
cleanup() {
    [ -n "$server" ] && kill -9 "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ovsdb-tool create "$work/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$work/conf.db" --remote="punix:$work/db.sock" --unixctl="$work/ctl" --no-chdir \
    --log-file="$work/ovsdb.log" --pidfile="$work/ovsdb.pid" >/dev/null 2>&1 &
server=$!
for _ in $(seq 1 400); do [ -S "$work/db.sock" ] && break; sleep 0.05; done
vsctl() { ovs-vsctl --db="unix:$work/db.sock" --no-wait --timeout=60 "$@"; }
vsctl init
vsctl add-br br-int
args=()
for i in $(seq 1 "$count"); do
    eni=$(printf 'eni-%08x' "$i")
    tap="tap${eni#eni-}"
    args+=(-- add-port br-int "$tap" -- set Interface "$tap" "external_ids:iface-id=port-$eni" "ofport=$i"
        admin_state=up link_state=up)
done
vsctl "${args[@]}"

mkdir -p "$work/checks.d"
cat > "$work/checks.d/ovs.yaml" <<YAML
checks:
  - name: ovs.port
    probe: ovs.port
    target: instance
    timeout: 30s
    interval: 60s
    params: {db_socket: "$work/db.sock", fallback: false}
YAML
{
    printf '{"vms": {'
    for i in $(seq 1 "$count"); do
        [ "$i" -gt 1 ] && printf ','
        printf '"i-%08x": {"id": "i-%08x", "status": "running", "eni_id": "eni-%08x"}' "$i" "$i" "$i"
    done
    printf '}}\n'
} > "$work/instances.json"

mkdir -p "$work/noop.d"
cat > "$work/noop.d/noop.yaml" <<YAML
checks:
  - name: noop
    probe: noop
    target: instance
    timeout: 30s
    interval: 60s
YAML

now() { date +%s.%N; }
# The same command with a probe that does nothing: what process start, inventory and reporting cost.
start=$(now)
"$binary" check --format json --checks "$work/noop.d" --inventory "file:$work/instances.json" \
    --state-dir "$work/state-noop" > /dev/null || true
baseline=$(echo "$(now) - $start" | bc -l)

start=$(now)
"$binary" check --format json --checks "$work/checks.d" --inventory "file:$work/instances.json" \
    --state-dir "$work/state" > "$work/ours.json" || true
ours=$(echo "$(now) - $start" | bc -l)
passed=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for i in d["instances"] for c in i["instance"]["checks"] if c["status"] == "passed"))' "$work/ours.json")

start=$(now)
for i in $(seq 1 "$count"); do
    ovs-vsctl --db="unix:$work/db.sock" --timeout=10 get Interface "tap$(printf '%08x' "$i")" ofport link_state \
        admin_state error external_ids:iface-id > /dev/null
done
per_port=$(echo "$(now) - $start" | bc -l)

start=$(now)
ovs-vsctl --db="unix:$work/db.sock" --timeout=10 --format=json list Interface > "$work/list.json"
one_list=$(echo "$(now) - $start" | bc -l)

printf 'ports                                 : %d\n' "$count"
printf 'hive-health check (ovs.port, monitor)  : %.3f s (%d of %d passed; includes process start and sync)\n' \
    "$ours" "$passed" "$count"
printf 'the same with the noop probe (baseline): %.3f s -> ovs.port itself: %.3f s\n' "$baseline" \
    "$(echo "$ours - $baseline" | bc -l)"
printf '%d x ovs-vsctl get                   : %.3f s\n' "$count" "$per_port"
printf '1 x ovs-vsctl --format=json list       : %.3f s\n' "$one_list"
printf 'ratio per-port processes / ours        : %.1f\n' "$(echo "$per_port / $ours" | bc -l)"
printf 'ratio one list / ours                  : %.2f\n' "$(echo "$one_list / $ours" | bc -l)"
incremental=$(echo "$ours - $baseline" | bc -l)
if [ "$(echo "$incremental > 0.001" | bc -l)" = 1 ]; then
    printf 'ratio per-port processes / ovs.port    : %.1f (the probe alone, baseline removed)\n' \
        "$(echo "$per_port / $incremental" | bc -l)"
fi
