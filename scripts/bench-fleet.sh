#!/usr/bin/env bash
# Fleet benchmark (issue 10): three nats-server in a JetStream cluster and three `hive-health run` agents with COUNT
# (default 2,000) simulated instances each (the benchmark-only `stub.file` probe), replicas 3. Prints the time from a
# transition on node-a to its visibility in node-b's EC2 API (p50, p99 over TRANSITIONS, default 60) and each agent's
# CPU and RSS from /proc. Every process started is stopped by its pid on exit. Loopback only.
# Usage: [CONFIGURATION=release|debug] [HIVE_HEALTH=binary] [CHECK_INTERVAL=2s] scripts/bench-fleet.sh [COUNT] [TRANSITIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_swift
ensure_packages nats-server=nats-server
configuration=${CONFIGURATION:-release}
if [[ -n "${HIVE_HEALTH:-}" ]]; then
    binary=$HIVE_HEALTH
else
    swift build -c "$configuration" --product hive-health 2>&1 | tail -n 1
    binary="$(swift build -c "$configuration" --show-bin-path)/hive-health"
fi
echo "== fleet benchmark ($configuration build: $binary)"
python3 scripts/bench-fleet.py "$binary" "${1:-2000}" "${2:-60}"
