#!/usr/bin/env bash
# The demo: a small local Hive node and hive-health on it. Installs what it needs with apt when missing (Debian 12),
# builds, then runs hive-health-demo: nats-server, Open vSwitch in a network namespace of its own, three instances
# (QEMU with NBD volumes served by nbdkit, a guest agent, a tap on br-int), `hive-health run`, and the statuses through
# the EC2 API. It prints how to break an instance. Ctrl-C stops everything it started.
# Arguments go to hive-health-demo: --duration SECONDS (stop by itself), --interval SECONDS (check interval).
# Needs root (network namespace, tap devices).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

if [ "$(id -u)" -ne 0 ]; then
    echo "error: the demo needs root (it makes a network namespace and tap devices): sudo $0" >&2
    exit 1
fi
ensure_swift
ensure_build_packages
ensure_packages ip=iproute2 nats-server=nats-server qemu-system-x86_64=qemu-system-x86 qemu-ga=qemu-guest-agent \
    nbdkit=nbdkit ovsdb-server=openvswitch-switch
ensure_pip aws=awscli
swift build --product hive-health
swift build --product hive-health-demo
exec "$(swift build --show-bin-path)/hive-health-demo" --checks ./checks.d "$@"
