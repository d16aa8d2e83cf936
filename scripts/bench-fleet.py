#!/usr/bin/env python3
"""The fleet benchmark (issues 10 and 17): three nats-server in a JetStream cluster, AGENTS (default 3) `hive-health
run` agents with INSTANCES simulated instances each (the benchmark-only `stub.file` probe: a flag file per instance
flips its check), replicas 3. Measures, over TRANSITIONS transitions made on node-a (flag file created or removed):
the time until node-a's own EC2 API shows it (the check's interval and thresholds), and from then until node-b's
EC2 API shows it (the propagation: node-a's KV write, the cluster, node-b's watch and index), p50 and p99; each
agent's CPU and RSS from /proc/<pid>, and its NATS traffic from the servers' /connz (connections are named
`hive-health <node>`). Every process started here is stopped by its pid. Loopback only. Run by
scripts/bench-fleet.sh.
"""
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BINARY = sys.argv[1]
INSTANCES = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
TRANSITIONS = int(sys.argv[3]) if len(sys.argv) > 3 else 60
INTERVAL = os.environ.get("CHECK_INTERVAL", "2s")
AGENTS = int(os.environ.get("AGENTS", "3"))
NODES = [f"node-{chr(ord('a') + i)}" if i < 26 else f"node-{i}" for i in range(AGENTS)]
monitors = []
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

work = tempfile.mkdtemp(prefix="hh-bench-fleet-")
children = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv, log):
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    children.append(process)
    return process


def cleanup():
    for process in children:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.time() + 15
    for process in children:
        try:
            process.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    shutil.rmtree(work, ignore_errors=True)


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def wait_for(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise SystemExit(f"timeout: {what}")


def nats_server():
    for candidate in ["/usr/sbin/nats-server", "/usr/bin/nats-server", shutil.which("nats-server") or ""]:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit("nats-server not found")


def start_cluster():
    members = [dict(name=f"n{i + 1}", client=free_port(), route=free_port(), http=free_port()) for i in range(3)]
    for member in members:
        routes = ", ".join(f'"nats-route://127.0.0.1:{m["route"]}"' for m in members if m is not member)
        config = os.path.join(work, member["name"] + ".conf")
        with open(config, "w") as f:
            f.write(f"""server_name: "{member['name']}"
listen: "127.0.0.1:{member['client']}"
http: "127.0.0.1:{member['http']}"
jetstream {{ store_dir: "{work}/{member['name']}-store" }}
cluster {{ name: "bench", listen: "127.0.0.1:{member['route']}", routes: [{routes}] }}
""")
        start([nats_server(), "-c", config], os.path.join(work, member["name"] + ".log"))

    def leader():
        return all(json.loads(get(f"http://127.0.0.1:{m['http']}/jsz")).get("meta_cluster", {}).get("leader")
                   for m in members)
    wait_for(leader, 60, "JetStream meta leader")
    monitors.extend(f"http://127.0.0.1:{m['http']}" for m in members)
    return ",".join(f"nats://127.0.0.1:{m['client']}" for m in members)


def write_node(index, name, urls):
    folder = os.path.join(work, name)
    os.makedirs(os.path.join(folder, "checks.d"))
    flags = os.path.join(work, "flags")
    os.makedirs(flags, exist_ok=True)
    with open(os.path.join(folder, "checks.d", "10-bench.yaml"), "w") as f:
        f.write(f"""checks:
  - name: bench.flag
    description: Fails while the instance's flag file exists (benchmark only).
    category: system
    probe: stub.file
    target: instance
    interval: {INTERVAL}
    timeout: 500ms
    params:
      path: "{flags}/{{{{instance.id}}}}"
""")
    launched = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    ids = [f"i-{index:02x}{n:08x}" for n in range(INSTANCES)]
    vms = {i: {"id": i, "status": "running", "instance": {"LaunchTime": launched}} for i in ids}
    with open(os.path.join(folder, "instances.json"), "w") as f:
        json.dump({"vms": vms}, f)
    port = free_port()
    with open(os.path.join(folder, "hive.toml"), "w") as f:
        f.write(f"""node = "{name}"
[nodes.{name}.nats]
host = "{urls}"
[health]
recovery_enabled = false
launch_grace_period = "0s"
max_concurrency = 64
[health.thresholds]
consecutive_failures = 1
consecutive_successes = 1
[health.api]
listen = "127.0.0.1:{port}"
[health.nats]
replicas = 3
shared_catalogue = false
""")
    return dict(name=name, folder=folder, port=port, ids=ids, flags=flags)


def start_agent(node):
    folder = node["folder"]
    node["process"] = start([
        BINARY, "run", "--config", f"{folder}/hive.toml", "--checks", f"{folder}/checks.d",
        "--inventory", f"file:{folder}/instances.json", "--state-dir", f"{folder}/state", "--log-level", "warning",
    ], os.path.join(folder, "agent.log"))


def describe(node, ids=None):
    query = "Action=DescribeInstanceStatus&Version=2016-11-15&IncludeAllInstances=true"
    for n, i in enumerate(ids or []):
        query += f"&InstanceId.{n + 1}={i}"
    body = get(f"http://127.0.0.1:{node['port']}/?{query}", timeout=30)
    return dict(re.findall(r"<instanceId>([^<]+)</instanceId>.*?<systemStatus><status>([^<]+)</status>", body))


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def traffic():
    """Bytes and messages in and out per agent (summed over its connections on every server), from /connz."""
    totals = {}
    for monitor in monitors:
        for c in json.loads(get(f"{monitor}/connz?limit=1024")).get("connections", []):
            name = c.get("name", "")
            if not name.startswith("hive-health "):
                continue
            t = totals.setdefault(name.split(" ", 1)[1], [0, 0, 0, 0])
            for n, key in enumerate(("in_bytes", "out_bytes", "in_msgs", "out_msgs")):
                t[n] += c.get(key, 0)
    return totals


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    urls = start_cluster()
    nodes = [write_node(i + 1, name, urls) for i, name in enumerate(NODES)]
    for node in nodes:
        start_agent(node)
    a, b = nodes[0], nodes[1]
    everyone = [i for node in nodes for i in node["ids"]]
    started = time.time()
    wait_for(lambda: sum(1 for s in describe(b).values() if s == "ok") >= len(everyone), 600,
             f"node-b's API showing all {len(everyone)} instances ok")
    print(f"fleet up: {len(everyone)} instances ok in node-b's API after {time.time() - started:.1f} s", flush=True)

    # Steady state: CPU over a quiet window, RSS at its end.
    window = 30
    before = {n["name"]: cpu_seconds(n["process"].pid) for n in nodes}
    traffic_before = traffic()
    time.sleep(window)
    idle = {n["name"]: (cpu_seconds(n["process"].pid) - before[n["name"]]) / window * 100 for n in nodes}
    traffic_after = traffic()
    rates = {name: [(after[k] - traffic_before.get(name, [0] * 4)[k]) / window for k in range(4)]
             for name, after in traffic_after.items()}
    rss = {n["name"]: rss_mib(n["process"].pid) for n in nodes}

    # Transitions: a flag created (ok -> impaired) or removed (impaired -> ok) on node-a every 0.5 s; each is timed
    # until node-a's API shows it, and from then until node-b's API shows it. At most 20 outstanding.
    latencies = []
    local = []
    shown_a = {}
    errors = []
    pending = {}
    failing = set()
    rng = random.Random(10)
    made = 0
    next_flip = time.time()
    cpu_start = {n["name"]: cpu_seconds(n["process"].pid) for n in nodes}
    load_started = time.time()
    deadline = time.time() + 600
    while (made < TRANSITIONS or pending) and time.time() < deadline:
        now = time.time()
        if made < TRANSITIONS and now >= next_flip and len(pending) < 20:
            instance = rng.choice([i for i in a["ids"] if i not in pending])
            path = os.path.join(a["flags"], instance)
            if instance in failing:
                os.remove(path)
                failing.discard(instance)
                pending[instance] = (time.time(), "ok")
            else:
                open(path, "w").close()
                failing.add(instance)
                pending[instance] = (time.time(), "impaired")
            made += 1
            next_flip = now + 0.5
        waiting_a = sorted(i for i in pending if i not in shown_a)
        if waiting_a:
            try:
                statuses = describe(a, waiting_a)
            except Exception as error:
                errors.append("node-a: " + (str(getattr(error, "read", lambda: b"")()[:300]) or str(error)))
                statuses = {}
            seen = time.time()
            for instance in waiting_a:
                at, expected = pending[instance]
                if statuses.get(instance) == expected:
                    shown_a[instance] = seen
                    local.append(seen - at)
        waiting_b = sorted(i for i in pending if i in shown_a)
        if waiting_b:
            try:
                statuses = describe(b, waiting_b)
            except Exception as error:  # e.g. an instance missing from a partial fleet read: counted, retried
                errors.append("node-b: " + (str(getattr(error, "read", lambda: b"")()[:300]) or str(error)))
                statuses = {}
            seen = time.time()
            for instance in waiting_b:
                at, expected = pending[instance]
                if statuses.get(instance) == expected:
                    latencies.append(seen - shown_a.pop(instance))
                    del pending[instance]
        time.sleep(0.05)
    load_window = time.time() - load_started
    busy = {n["name"]: (cpu_seconds(n["process"].pid) - cpu_start[n["name"]]) / load_window * 100 for n in nodes}
    peak = {n["name"]: max(rss[n["name"]], rss_mib(n["process"].pid)) for n in nodes}

    print(f"instances: {INSTANCES} per agent x {AGENTS} agents, check interval {INTERVAL}, replicas 3, 3 servers")
    print(f"transitions: {len(latencies)} of {TRANSITIONS} seen in node-b's API ({len(pending)} not seen in time)")
    print(f"API errors while polling: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    if local:
        print(f"flag -> node-a API: p50 {percentile(local, 50):.2f} s, p99 {percentile(local, 99):.2f} s "
              f"(the check's interval {INTERVAL})")
    if latencies:
        print(f"node-a -> node-b API: p50 {percentile(latencies, 50):.2f} s, p99 {percentile(latencies, 99):.2f} s, "
              f"min {min(latencies):.2f} s, max {max(latencies):.2f} s")
    for node in nodes:
        name = node["name"]
        r = rates.get(name, [0] * 4)
        print(f"{name}: CPU {idle[name]:.1f}% steady, {busy[name]:.1f}% during transitions; RSS {rss[name]:.0f} MiB "
              f"steady, {peak[name]:.0f} MiB after; NATS steady {r[0] / 1024:.1f} KiB/s out ({r[2]:.1f} msg/s), "
              f"{r[1] / 1024:.1f} KiB/s in ({r[3]:.1f} msg/s)")
    if AGENTS > 3:
        cpus = sorted(idle.values())
        ins = sorted(rates.get(n["name"], [0] * 4)[0] for n in nodes)
        outs = sorted(rates.get(n["name"], [0] * 4)[1] for n in nodes)
        print(f"per agent (median of {AGENTS}): CPU {percentile(cpus, 50):.1f}% steady, NATS "
              f"{percentile(ins, 50) / 1024:.1f} KiB/s to the servers, {percentile(outs, 50) / 1024:.1f} KiB/s from them")


def stop(*_):
    raise SystemExit("stopped")


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
try:
    main()
finally:
    cleanup()
