#!/usr/bin/env bash
# The whole test suite: installs what the tests need when it is missing (Debian 12), builds the package and its
# tests (a compiler warning in this package's own code fails the build), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_swift
ensure_build_packages
# Components the tests start for real (COMMAND=DEBIAN-PACKAGE). The foundation needs only coreutils and procps;
# NATS: nats-server and libnats-dev (a library: checked with dpkg, the "command" never exists); QEMU: the emulator,
# qemu-img and the guest agent; storage: nbdkit, qemu-nbd, losetup, libatasmart-dev; network: iproute2 (test
# namespaces), openvswitch-switch (ovsdb-server, ovs-vsctl), fping and arping (benchmarks and comparisons);
# the EC2 API: promtool (prometheus); the fleet page: chromium (headless); the Debian package: dpkg-deb;
# Spinifex's TLS nats-server: openssl (the tests make a CA and a server cert). The Linux guest
# (HealthTestKit.LinuxGuestImage) downloads its kernel and busybox with `apt-get download` and unpacks the kernel
# with xz.
ensure_packages sleep=coreutils nats-server=nats-server \
    qemu-system-x86_64=qemu-system-x86 qemu-img=qemu-utils qemu-ga=qemu-guest-agent qemu-nbd=qemu-utils \
    nbdkit=nbdkit losetup=mount \
    ip=iproute2 ovsdb-server=openvswitch-switch ovs-vswitchd=openvswitch-switch fping=fping arping=arping \
    check_load=monitoring-plugins-basic \
    promtool=prometheus chromium=chromium dpkg-deb=dpkg openssl=openssl xz=xz-utils apt-get=apt ldd=libc-bin
# The Linux guest's kernel and busybox are downloaded when a test first needs them: apt's lists must know them.
if ! apt-cache show linux-image-amd64 busybox-static >/dev/null 2>&1; then
    env DEBIAN_FRONTEND=noninteractive apt-get update -qq
fi
# The EC2 API's tests drive it with the real clients: the aws CLI and boto3 (PyPI).
ensure_pip aws=awscli py:boto3=boto3

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== swift build --build-tests"
swift build --build-tests 2>&1 | tee "$log"
root=$(pwd)
if grep -E "^${root}/(Sources|Tests|Plugins)/[^:]+:[0-9]+:[0-9]+: warning:" "$log" >/dev/null; then
    echo "error: the build has warnings in this package's code:" >&2
    grep -E "^${root}/(Sources|Tests|Plugins)/[^:]+:[0-9]+:[0-9]+: warning:" "$log" | sort -u >&2
    exit 1
fi
echo "== NATSLoopCheck with AddressSanitizer (the leak test of the NATS layer runs it)"
swift build --sanitize=address --product NATSLoopCheck --build-path .build-asan 2>&1 | tail -n 3
# The tests start real servers, VMs and clients; run all at once on a 2-core machine they starve each other's
# timers. The test binary is run directly (what `swift test --skip-build` runs) to cap how many run at once
# (HIVE_HEALTH_TEST_WIDTH, default 6); it takes swift-testing's options, e.g. `--filter Scheduler`.
width=${HIVE_HEALTH_TEST_WIDTH:-6}
tests="$(swift build --show-bin-path)/HiveHealthPackageTests.xctest"
echo "== tests ($tests, at most $width at once)"
"$tests" --testing-library swift-testing --experimental-maximum-parallelization-width "$width" "$@"
