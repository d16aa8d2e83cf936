#!/usr/bin/env bash
# QMP benchmark: N (default 200) `qemu-system-x86_64 -machine none` processes, then one full pass of qmp.status over
# all of them through `hive-health check --inventory file:...`, with the wall time printed. Every QEMU started here
# is stopped by its pid on exit. With AGENTS=1 (the default) each instance also gets a host qemu-ga (every command
# but the read-only ones blocked) and a second pass times qmp.guest-ping. Usage: scripts/bench-qmp.sh [COUNT] [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-200}
binary=${2:-$(swift build --show-bin-path)/hive-health}
[ -x "$binary" ] || { echo "no hive-health binary at $binary (swift build first)" >&2; exit 1; }
work=$(mktemp -d /tmp/hh-bench-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

start=$(date +%s.%N)
for i in $(seq 1 "$count"); do
    qemu-system-x86_64 -machine none -nodefaults -display none \
        -qmp "unix:$work/q$i.sock,server=on,wait=off" >/dev/null 2>&1 &
    pids+=($!)
done
for i in $(seq 1 "$count"); do
    for _ in $(seq 1 600); do [ -S "$work/q$i.sock" ] && break; sleep 0.05; done
    [ -S "$work/q$i.sock" ] || { echo "QEMU $i did not create its socket" >&2; exit 1; }
done
started=$(date +%s.%N)

agents=${AGENTS:-1}
if [ "$agents" = 1 ]; then
    allowed=" guest-sync guest-sync-delimited guest-ping guest-info guest-get-fsinfo guest-fsfreeze-status "
    blocked=$(qemu-ga --block-rpcs=help 2>&1 | tr -s ' \n' '\n' | grep '^guest-' |
        while read -r c; do case "$allowed" in *" $c "*) ;; *) printf '%s,' "$c" ;; esac; done)
    for i in $(seq 1 "$count"); do
        mkdir -p "$work/ga$i"
        qemu-ga --method=unix-listen --path="$work/ga$i.sock" --statedir="$work/ga$i" \
            --pidfile="$work/ga$i/pid" --block-rpcs="${blocked%,}" >/dev/null 2>&1 &
        pids+=($!)
    done
    for i in $(seq 1 "$count"); do
        for _ in $(seq 1 600); do [ -S "$work/ga$i.sock" ] && break; sleep 0.05; done
    done
fi

mkdir -p "$work/checks.d"
cat > "$work/checks.d/qmp.yaml" <<'YAML'
checks:
  - name: qmp.status
    probe: qmp.status
    target: instance
YAML
{
    printf '{"vms": {'
    for i in $(seq 1 "$count"); do
        [ "$i" -gt 1 ] && printf ','
        printf '"i-%05d": {"id": "i-%05d", "status": "running", "config": {"qmp_socket": "%s", "guest_agent_socket": "%s"}}' \
            "$i" "$i" "$work/q$i.sock" "$work/ga$i.sock"
    done
    printf '}}\n'
} > "$work/instances.json"

t0=$(date +%s.%N)
set +e
"$binary" check --format json --checks "$work/checks.d" --inventory "file:$work/instances.json" \
    --state-dir "$work/state" > "$work/result.json"
status=$?
set -e
t1=$(date +%s.%N)
passed=$(grep -o '"status" *: *"passed"' "$work/result.json" | wc -l)
printf 'QEMU processes: %d (started in %.2f s)\n' "$count" "$(echo "$started - $start" | bc)"
printf 'hive-health check, qmp.status on all: %.3f s wall (exit %d), %d checks passed\n' \
    "$(echo "$t1 - $t0" | bc)" "$status" "$passed"

if [ "$agents" = 1 ]; then
    mkdir -p "$work/ping.d"
    cat > "$work/ping.d/ping.yaml" <<'YAML'
checks:
  - name: qmp.guest-ping
    probe: qmp.guest-ping
    target: instance
YAML
    t0=$(date +%s.%N)
    set +e
    "$binary" check --format json --checks "$work/ping.d" --inventory "file:$work/instances.json" \
        --state-dir "$work/state" > "$work/ping.json"
    status=$?
    set -e
    t1=$(date +%s.%N)
    passed=$(grep -o '"status" *: *"passed"' "$work/ping.json" | wc -l)
    printf 'hive-health check, qmp.guest-ping on all: %.3f s wall (exit %d), %d checks passed\n' \
        "$(echo "$t1 - $t0" | bc)" "$status" "$passed"
fi
