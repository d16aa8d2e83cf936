#!/usr/bin/env bash
# End-to-end detection latency: runs the end-to-end test (HealthE2ETests, real QEMU, nbdkit, qemu-ga, Open vSwitch,
# nats-server and `hive-health run`) RUNS times (default 3) and prints, per fault, the time from the fault to the
# category's `impaired` in the EC2 API (polled every 100 ms), as the test measures it. Needs root and a build with
# tests (`swift build --build-tests`). Usage: scripts/bench-e2e.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
tests="$(swift build --show-bin-path)/HiveHealthPackageTests.xctest"
[ -x "$tests" ] || { echo "no test binary at $tests (swift build --build-tests first)" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for run in $(seq 1 "$runs"); do
    echo "== run $run of $runs"
    "$tests" --testing-library swift-testing --filter "InstanceLifecycleTests/faultsAndRepairs" 2>&1 | tee -a "$out" \
        | grep -E "e2e detection|passed after|failed after" || true
done
echo "== per fault (seconds): min / median / max over $runs runs"
grep -o "e2e detection: .*" "$out" | sed -E 's/e2e detection: (.*): ([0-9.e-]+) seconds \(bound (.*)\)/\1|\2|\3/' \
    | awk -F'|' '{ v[$1] = v[$1] " " $2; b[$1] = $3 } END {
        for (k in v) { n = split(v[k], a, " "); asort(a); printf "%-24s %.2f / %.2f / %.2f   (bound %s)\n", k, a[1], a[int((n+1)/2)], a[n], b[k] } }'
