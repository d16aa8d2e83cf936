#!/usr/bin/env bash
# EC2 API benchmark over COUNT (default 10,000) instances, side by side with moto_server answering the same calls
# for COUNT instances of its own, both driven by wrk:
#   one id   DescribeInstanceStatus of one instance id, ONE_CONNECTIONS (default 16) connections, SECONDS each
#   pages    full paginated listings (MaxResults 1000, NextToken) on CONNECTIONS (default 1) connections: the time
#            of one listing (moto ignores MaxResults: its every answer is a full listing; MOTO_SECONDS, default 60)
# Prints requests/s, p50/p99, the time of a full listing and the ratios. Every server started here is stopped by its
# pid on exit. Loopback only.
# Usage: [CONFIGURATION=release|debug] [MOTO_SECONDS=60] [ONE_CONNECTIONS=16] scripts/bench-api.sh [COUNT] [CONNECTIONS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
count=${1:-10000}
connections=${2:-1}
one_connections=${ONE_CONNECTIONS:-16}
seconds=${3:-15}
moto_seconds=${MOTO_SECONDS:-60}
ensure_swift
ensure_packages wrk=wrk
ensure_pip moto_server="moto[server]" py:boto3=boto3

work=$(mktemp -d /tmp/hh-bench-api-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 600); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}

configuration=${CONFIGURATION:-release}
echo "== building APIBenchServer ($configuration)"
swift build -c "$configuration" --product APIBenchServer 2>&1 | tail -n 2
server=$(swift build -c "$configuration" --show-bin-path)/APIBenchServer

ours=$(free_port)
"$server" "$ours" "$count" >"$work/ours.log" 2>&1 &
pids+=($!)
wait_port "$ours"

moto=$(free_port)
moto_server -H 127.0.0.1 -p "$moto" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_port "$moto"
echo "== creating $count instances in moto"
HOME="$work" AWS_CONFIG_FILE="$work/none" AWS_SHARED_CREDENTIALS_FILE="$work/none" AWS_ACCESS_KEY_ID=testing \
    AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true python3 - "$moto" "$count" "$work/moto-id" <<'PY'
import sys
import boto3
port, count = int(sys.argv[1]), int(sys.argv[2])
ec2 = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
image = ec2.describe_images()["Images"][0]["ImageId"]
made = 0
while made < count:
    batch = min(1000, count - made)
    ec2.run_instances(ImageId=image, MinCount=batch, MaxCount=batch, InstanceType="t3.micro")
    made += batch
statuses = ec2.describe_instance_status(IncludeAllInstances=True)["InstanceStatuses"]
print(f"moto has {len(statuses)} instances")
with open(sys.argv[3], "w") as f:
    f.write(statuses[len(statuses) // 2]["InstanceId"])
PY

# One full listing from each, to be sure both answer with every instance.
items() {
    curl -s -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00' \
        -d 'Action=DescribeInstanceStatus&Version=2016-11-15&IncludeAllInstances=true' "http://127.0.0.1:$1/" \
        | grep -o '<instanceId>' | wc -l
}
echo "one unpaginated answer: hive-health $(items "$ours") instances, moto $(items "$moto") instances"

run() {
    wrk -t "$3" -c "$3" -d "${2}s" --timeout 60s -s "$4" "http://127.0.0.1:$1/" | grep '^RESULT'
}
# An instance of the middle of each fleet (APIBenchServer's ids are i- and 17 hex digits of their index).
our_id=$(printf 'i-%017x' $((count / 2)))
moto_id=$(cat "$work/moto-id")
echo "== one id: hive-health ($our_id), $one_connections connections, ${seconds}s"
ours_one=$(BENCH_INSTANCE_ID=$our_id run "$ours" "$seconds" "$one_connections" scripts/bench-api-one.lua)
echo "$ours_one"
echo "== one id: moto_server ($moto_id), $one_connections connections, ${seconds}s"
moto_one=$(BENCH_INSTANCE_ID=$moto_id run "$moto" "$seconds" "$one_connections" scripts/bench-api-one.lua)
echo "$moto_one"
echo "== pages: hive-health, $count instances, MaxResults 1000, $connections connections, ${seconds}s"
ours_result=$(run "$ours" "$seconds" "$connections" scripts/bench-api.lua)
echo "$ours_result"
echo "== pages: moto_server, $count instances (moto ignores MaxResults: one answer is a full listing), ${moto_seconds}s"
moto_result=$(run "$moto" "$moto_seconds" "$connections" scripts/bench-api.lua)
echo "$moto_result"

python3 - "$ours_one" "$moto_one" "$ours_result" "$moto_result" "$count" "$connections" <<'PY'
import sys
def parse(line):
    return {k: float(v) for k, v in (p.split("=") for p in line.split()[1:])}
ours_one, moto_one, ours, moto = (parse(a) for a in sys.argv[1:5])
count, connections = int(sys.argv[5]), int(sys.argv[6])
for name, r in (("hive-health", ours_one), ("moto", moto_one)):
    print(f"one id {name:12} {r['requests'] / r['seconds']:9.1f} req/s  p50 {r['p50_ms']:8.2f} ms  "
          f"p99 {r['p99_ms']:8.2f} ms  failures {int(r['failures'])}")
print(f"ratio one id (req/s, hive-health / moto): "
      f"{(ours_one['requests'] / ours_one['seconds']) / max(moto_one['requests'] / moto_one['seconds'], 1e-9):.1f}x")
def listing_ms(r):
    return r["seconds"] * connections / r["listings"] * 1000 if r["listings"] else float("inf")
for name, r in (("hive-health", ours), ("moto", moto)):
    print(f"pages  {name:12} {r['requests'] / r['seconds']:9.1f} req/s  p99 {r['p99_ms']:8.2f} ms  "
          f"full listing of {count}: {listing_ms(r):9.1f} ms  failures {int(r['failures'])}")
if moto["listings"] == 0:
    bound = (ours["listings"] / ours["seconds"]) * moto["seconds"]
    print(f"moto finished no listing in {moto['seconds']:.0f} s: ratio above {bound:.0f}x")
else:
    ratio = (ours["listings"] / ours["seconds"]) / (moto["listings"] / moto["seconds"])
    print(f"ratio pages (full listings of {count} instances per second, hive-health / moto): {ratio:.1f}x")
PY
