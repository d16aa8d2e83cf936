#!/usr/bin/env bash
# Every benchmark in release, each beside its peer, and one table of ratios from this one run:
#   fleet run    `hive-health run`, 10,000 instances x 12 noop checks (scripts/bench-rss.sh): CPU per job run,
#                against a process per check (`/bin/true` started from a shell loop): CPU per process
#   net.icmp     scripts/bench-icmp.sh against fping (needs root, fping)
#   ovs.port     scripts/bench-ovs.sh against a process of ovs-vsctl per port (needs openvswitch-switch)
#   nbd.export   scripts/bench-nbd.sh against qemu-img info (needs nbdkit, qemu-utils)
#   propagation  scripts/bench-fleet.sh: 3 agents x 2,000 instances on a 3-server JetStream cluster, a transition on
#                node-a until node-b's EC2 API shows it (needs nats-server; no peer: the goal is p99 <= 1 s)
#   EC2 API      scripts/bench-api.sh against moto_server: one id at 16 connections, and a full paginated listing
#                (needs wrk, moto)
# A benchmark whose tools are missing is reported as skipped, with the reason; the others still run.
#
# Usage: scripts/bench.sh [SECONDS]   (the fleet run's length, default 180)
# Environment: ONLY="fleet icmp ovs nbd api propagation" (a subset), SCRATCH (release build folder, default .build-bench),
#              TRUE_RUNS (processes of /bin/true, default 2000). Logs are kept in $TMPDIR/hive-health-bench.*.
set -euo pipefail

cd "$(dirname "$0")/.."
SECONDS_FLEET=${1:-180}
ONLY=${ONLY:-fleet icmp ovs nbd api propagation}
SCRATCH=${SCRATCH:-.build-bench}
TRUE_RUNS=${TRUE_RUNS:-2000}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/hive-health-bench.XXXXXX")
wants() { [[ " $ONLY " == *" $1 "* ]]; }

echo "== release build (scratch $SCRATCH)"
swift build -c release --scratch-path "$SCRATCH" --product hive-health
swift build -c release --scratch-path "$SCRATCH" --product NBDLatency
BIN_DIR=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)
HIVE_HEALTH=$BIN_DIR/hive-health

rows=()
row() { rows+=("$(printf '%-34s | %-28s | %-30s | %s' "$1" "$2" "$3" "$4")"); }
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.1f}x' if b > 0 else '-')" "$1" "$2"; }
field() { grep -m1 "$1" "$2" | sed -E "s/^[^:]*: *//"; }

if wants fleet; then
    echo "== fleet run: hive-health run, 10,000 instances x 12 noop checks, ${SECONDS_FLEET}s"
    if HIVE_HEALTH=$HIVE_HEALTH scripts/bench-rss.sh "$SECONDS_FLEET" | tee "$LOGS/fleet.txt"; then
        ours=$(field "CPU per job run" "$LOGS/fleet.txt" | awk '{ print $1 }')
        echo "== a process per check: $TRUE_RUNS x /bin/true"
        start=$(awk '{ print $14 + $15 + $16 + $17 }' /proc/$$/stat)
        for _ in $(seq 1 "$TRUE_RUNS"); do /bin/true; done
        end=$(awk '{ print $14 + $15 + $16 + $17 }' /proc/$$/stat)
        peer=$(python3 -c "print(f'{($end - $start) / $(getconf CLK_TCK) / $TRUE_RUNS * 1e6:.1f}')")
        echo "CPU per process: $peer us" | tee -a "$LOGS/fleet.txt"
        row "fleet run: CPU per check run" "$ours us" "/bin/true per check: $peer us" "$(ratio "$peer" "$ours")"
        row "fleet run: peak RSS" "$(field "VmHWM" "$LOGS/fleet.txt")" "-" "goal 60 MB"
        row "fleet run: SIGTERM to exit" "$(field "SIGTERM to exit" "$LOGS/fleet.txt")" "-" "goal 2 s"
    else
        row "fleet run" "failed (log $LOGS/fleet.txt)" "-" "-"
    fi
fi

if wants icmp; then
    echo "== net.icmp against fping"
    if [[ $(id -u) != 0 ]] || ! command -v fping >/dev/null; then
        row "net.icmp, 1,000 addresses" "skipped: needs root and fping" "-" "-"
    elif scripts/bench-icmp.sh 1000 "$HIVE_HEALTH" | tee "$LOGS/icmp.txt"; then
        # CPU seconds of the round, per address, in microseconds (process start removed from ours).
        per_address() { grep -m1 "$1" "$LOGS/icmp.txt" | sed -E 's/.*cpu ([0-9.]+) s.*/\1/' \
            | awk '{ printf "%.0f us", $1 / 1000 * 1e6 }'; }
        ours_icmp=$(per_address "net.icmp itself")
        fping_icmp=$(per_address "fping -c1")
        row "net.icmp, 1,000 addresses: CPU/addr" "$ours_icmp" "fping: $fping_icmp" \
            "$(ratio "${fping_icmp% us}" "${ours_icmp% us}")"
    else
        row "net.icmp" "failed (log $LOGS/icmp.txt)" "-" "-"
    fi
fi

if wants ovs; then
    echo "== ovs.port against ovs-vsctl"
    if ! command -v ovs-vsctl >/dev/null || ! command -v ovsdb-server >/dev/null; then
        row "ovs.port, 1,000 ports" "skipped: needs openvswitch-switch" "-" "-"
    elif scripts/bench-ovs.sh 1000 "$HIVE_HEALTH" | tee "$LOGS/ovs.txt"; then
        row "ovs.port, 1,000 ports (wall)" "$(grep -m1 "ovs.port itself" "$LOGS/ovs.txt" | sed -E 's/.*ovs.port itself: //')" \
            "1,000 x ovs-vsctl: $(field "x ovs-vsctl get" "$LOGS/ovs.txt")" \
            "$(field "ratio per-port processes / ovs.port" "$LOGS/ovs.txt" | awk '{ print $1 "x" }')"
    else
        row "ovs.port" "failed (log $LOGS/ovs.txt)" "-" "-"
    fi
fi

if wants nbd; then
    echo "== nbd.export against qemu-img"
    if ! command -v nbdkit >/dev/null || ! command -v qemu-img >/dev/null; then
        row "nbd.export, 1,000 sessions" "skipped: needs nbdkit and qemu-utils" "-" "-"
    elif NBD_LATENCY=$BIN_DIR/NBDLatency scripts/bench-nbd.sh 1000 | tee "$LOGS/nbd.txt"; then
        row "nbd.export, 1,000 sessions (p50)" "$(grep -m1 "nbd.export client" "$LOGS/nbd.txt" | awk '{ print $4 " ms" }')" \
            "qemu-img info: $(grep -m1 "qemu-img info" "$LOGS/nbd.txt" | awk '{ print $4 " ms" }')" \
            "$(grep -m1 "ratio" "$LOGS/nbd.txt" | awk '{ print $6 }')"
    else
        row "nbd.export" "failed (log $LOGS/nbd.txt)" "-" "-"
    fi
fi

if wants api; then
    echo "== EC2 API against moto_server"
    if ! command -v wrk >/dev/null || ! command -v moto_server >/dev/null; then
        row "DescribeInstanceStatus" "skipped: needs wrk and moto_server" "-" "-"
    elif CONFIGURATION=release scripts/bench-api.sh | tee "$LOGS/api.txt"; then
        one() { grep -m1 "^one id $1" "$LOGS/api.txt" | awk '{ print $4 " req/s, p99 " $10 " ms" }'; }
        listing() { grep -m1 "^pages  $1" "$LOGS/api.txt" | sed -E 's/.*full listing of [0-9]+: *([0-9.inf]+) ms.*/\1 ms/'; }
        row "DescribeInstanceStatus, one id" "$(one hive-health)" "moto: $(one moto)" \
            "$(grep -m1 "^ratio one id" "$LOGS/api.txt" | sed 's/.*: //')"
        row "full listing of 10,000 (pages)" "$(listing hive-health)" "moto: $(listing moto)" \
            "$(grep -m1 "^ratio pages\|^moto finished" "$LOGS/api.txt" | sed 's/.*: //')"
    else
        row "DescribeInstanceStatus" "failed (log $LOGS/api.txt)" "-" "-"
    fi
fi

if wants propagation; then
    echo "== fleet propagation: 3 agents x 2,000 instances, 3 nats-server"
    if ! command -v nats-server >/dev/null; then
        row "propagation node-a -> node-b API" "skipped: needs nats-server" "-" "-"
    elif HIVE_HEALTH=$HIVE_HEALTH scripts/bench-fleet.sh 2000 60 | tee "$LOGS/propagation.txt"; then
        row "propagation node-a -> node-b API" \
            "$(grep -m1 "^node-a -> node-b API" "$LOGS/propagation.txt" | sed -E 's/^node-a -> node-b API: //; s/, min.*//')" \
            "-" "goal p99 1 s"
    else
        row "propagation" "failed (log $LOGS/propagation.txt)" "-" "-"
    fi
fi

echo
echo "== one run, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); logs in $LOGS"
printf '%-34s | %-28s | %-30s | %s\n' "benchmark" "hive-health (release)" "peer" "ours better by"
printf '%s\n' "-----------------------------------+------------------------------+--------------------------------+----------"
for line in "${rows[@]}"; do echo "$line"; done
