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
out=$(mktemp /tmp/hh-bench-e2e-XXXXXX.log)
echo "full output: $out"
for run in $(seq 1 "$runs"); do
    echo "== run $run of $runs"
    "$tests" --testing-library swift-testing --filter "InstanceLifecycleTests/faultsAndRepairs" 2>&1 | tee -a "$out" \
        | grep -E "e2e detection|passed after|failed after" || true
done
echo "== per fault (seconds): min / median / max over the passing runs"
grep -o "e2e detection: .*" "$out" | sed -E 's/e2e detection: (.*): ([0-9.e-]+) seconds \(bound (.*)\)/\1|\2|\3/' \
    | sort -t'|' -k1,1 -k2,2n | awk -F'|' '
        function flush() { if (n) printf "%-24s %.2f / %.2f / %.2f   (bound %s)\n", key, v[1], v[int((n+1)/2)], v[n], bound }
        $1 != key { flush(); key = $1; n = 0 }
        { v[++n] = $2; bound = $3 }
        END { flush() }'
