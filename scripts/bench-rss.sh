#!/usr/bin/env bash
# Resident memory and CPU per job run of `hive-health run` at 10,000 running instances x 12 `noop` checks.
#
# Usage: scripts/bench-rss.sh [SECONDS]   (default 180)
# The CPU figure is the steady state: its window opens WARMUP seconds after start (default 90), once every job has
# had its first run (splayed over the 60 s interval; each first result is a transition, journaled at once).
# Environment: WARMUP (seconds before the window, at least 10), SCRATCH (build folder, default .build-bench), INSTANCES (default 10000), CHECKS (default 12),
#              SKIP_BUILD=1 to reuse an existing release build, HIVE_HEALTH=PATH to use that binary instead.
# Only loopback, bounded loops, and only the daemon this script started is stopped.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${1:-180}
WARMUP=${WARMUP:-90}
SCRATCH=${SCRATCH:-.build-bench}
INSTANCES=${INSTANCES:-10000}
CHECKS=${CHECKS:-12}
INTERVAL=60

if [[ ! "$DURATION" =~ ^[0-9]+$ ]] || [[ ! "$WARMUP" =~ ^[0-9]+$ ]] || (( WARMUP < 10 )) || (( DURATION < WARMUP + 30 || DURATION > 3600 )); then
    echo "usage: $0 [SECONDS]   (SECONDS from $((WARMUP + 30)) to 3600)" >&2
    exit 2
fi

if [[ -n "${HIVE_HEALTH:-}" ]]; then
    BIN=$HIVE_HEALTH
else
    if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
        swift build -c release --scratch-path "$SCRATCH" --product hive-health
    fi
    BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/hive-health"
fi
[[ -x "$BIN" ]] || { echo "no release binary at $BIN" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hive-health-bench.XXXXXX")
DAEMON_PID=""
cleanup() {
    if [[ -n "$DAEMON_PID" ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$DAEMON_PID" 2>/dev/null; then
            echo "daemon $DAEMON_PID ignored SIGTERM for 10 s: SIGKILL" >&2
            kill -KILL "$DAEMON_PID" 2>/dev/null || true
        fi
        wait "$DAEMON_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/checks.d" "$WORK/state"

# checks.d: CHECKS instance checks of the no-op probe, every 60 s.
{
    echo "checks:"
    for i in $(seq -w 1 "$CHECKS"); do
        printf '  - name: bench.noop-%s\n    probe: noop\n    target: instance\n    interval: %ss\n' "$i" "$INTERVAL"
    done
} > "$WORK/checks.d/10-bench.yaml"

# Inventory: Hive's VM JSON {"vms": {...}} with INSTANCES running instances, ids i- + 17 hex digits.
python3 - "$INSTANCES" "$WORK/instances.json" <<'PY'
import json, sys
count, path = int(sys.argv[1]), sys.argv[2]
vms = {}
for n in range(count):
    vid = "i-%017x" % (0x0b00000000000000 + n)
    vms[vid] = {
        "id": vid,
        "status": "running",
        "config": {
            "qmp_socket": "/run/hive/qmp-%s.sock" % vid,
            "pid_file": "/run/hive/%s.pid" % vid,
            "serial_socket": "/run/hive/serial-%s.sock" % vid,
            "console_log_path": "/run/hive/console-%s.log" % vid,
        },
        "eni_id": "eni-%017x" % n,
        "eni_mac": "02:00:%02x:%02x:%02x:%02x" % ((n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255),
        "instance": {
            "PrivateIpAddress": "10.%d.%d.%d" % ((n >> 16) & 255, (n >> 8) & 255, n & 255),
            "LaunchTime": "2026-01-01T00:00:00Z",
        },
    }
with open(path, "w") as f:
    json.dump({"vms": vms}, f)
PY

TICKS=$(getconf CLK_TCK)
PAGE_KB=$(( $(getconf PAGESIZE) / 1024 ))

# utime + stime of the daemon, in clock ticks (fields 14 and 15, counted after the ')' of comm).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$DAEMON_PID/stat"; }
status_kb() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$DAEMON_PID/status"; }
# Job runs executed so far: hive_health_check_runs_total of the daemon's /metrics (all probe kinds).
job_runs() {
    { curl -s --max-time 5 "http://127.0.0.1:$API_PORT/metrics" || true; } \
        | awk '/^hive_health_check_runs_total[{ ]/ { total += $NF } END { printf "%d\n", total + 0 }'
}

# A free loopback port for the API (its /metrics counts the job runs).
API_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '[health.api]\nlisten = "127.0.0.1:%s"\n' "$API_PORT" > "$WORK/hive.toml"

"$BIN" run --config "$WORK/hive.toml" --checks "$WORK/checks.d" --inventory "file:$WORK/instances.json" \
    --state-dir "$WORK/state" --log-level warning > "$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
START=$(date +%s.%N)
echo "hive-health run: pid $DAEMON_PID, $INSTANCES instances x $CHECKS checks every ${INTERVAL}s, ${DURATION}s"

peak_rss=0
last_rss=0
t0_cpu=""; t0_runs=""; t0_time=""
for second in $(seq 1 "$DURATION"); do
    sleep 1
    if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
        echo "the daemon exited early; its log:" >&2
        tail -n 20 "$WORK/daemon.log" >&2
        DAEMON_PID=""
        exit 1
    fi
    last_rss=$(status_kb VmRSS)
    (( last_rss > peak_rss )) && peak_rss=$last_rss
    if (( second == WARMUP )); then
        # The API starts once the first plan is made: wait for it (at most 60 s more) before the window opens.
        for _ in $(seq 1 60); do curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$API_PORT/healthz" && break; sleep 1; done
        t0_cpu=$(cpu_ticks); t0_runs=$(job_runs); t0_time=$(date +%s.%N)
    fi
done
t1_cpu=$(cpu_ticks); t1_runs=$(job_runs); t1_time=$(date +%s.%N)
hwm=$(status_kb VmHWM)
total_cpu=$(cpu_ticks)
threads=$(status_kb Threads)
state_bytes=$(du -sb "$WORK/state" | awk '{ print $1 }')

# SIGTERM to exit: the daemon saves its final state on the way out.
term_start=$(date +%s.%N)
kill -TERM "$DAEMON_PID"
for _ in $(seq 1 300); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.02; done
term_end=$(date +%s.%N)
if kill -0 "$DAEMON_PID" 2>/dev/null; then
    term_seconds="more than 6 s"
else
    term_seconds=$(python3 -c "print(f'{$term_end - $term_start:.2f} s')")
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=""
fi

python3 - <<PY
ticks = $TICKS
cpu = ($t1_cpu - $t0_cpu) / ticks
runs = $t1_runs - $t0_runs
window = $t1_time - $t0_time
expected = $INSTANCES * $CHECKS / $INTERVAL * window
print(f"peak VmRSS (sampled each second) : {$peak_rss / 1024:.1f} MiB")
print(f"VmHWM (kernel high-water mark)    : {$hwm / 1024:.1f} MiB")
print(f"VmRSS at the end                  : {$last_rss / 1024:.1f} MiB")
print(f"threads                           : $threads")
print(f"CPU since start                   : {$total_cpu / ticks:.2f} s over {$t1_time - $START:.0f} s")
print(f"measured window                   : {window:.1f} s (after {$WARMUP} s of start-up)")
print(f"CPU in the window                 : {cpu:.2f} s ({100 * cpu / window:.1f}% of one core)")
print(f"job runs in the window            : {runs} (hive_health_check_runs_total; {expected:.0f} expected at the cadence)")
if runs > 0:
    print(f"CPU per job run                   : {cpu / runs * 1e6:.2f} us")
else:
    print("CPU per job run                   : no job runs counted")
print(f"state directory at the end        : {$state_bytes / 1048576:.1f} MiB")
print("SIGTERM to exit                   : $term_seconds")
PY
