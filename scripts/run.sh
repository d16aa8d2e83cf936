#!/usr/bin/env bash
# Builds hive-health (release) and runs the daemon; arguments go to `hive-health run` (see `--help`).
# With none it runs on built-in defaults: the shipped catalogue, the qemu-scan inventory, a local state file.
# Needs nothing installed beforehand but the Swift toolchain: it installs with apt what the build needs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_swift
ensure_build_packages
swift build -c release --product hive-health
exec "$(swift build -c release --show-bin-path)/hive-health" run "$@"
