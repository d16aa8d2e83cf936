#!/usr/bin/env bash
# Builds hive-health (release) and runs the daemon; arguments go to `hive-health run` (see `--help`).
# With none it runs on built-in defaults: the shipped catalogue, the qemu-scan inventory, a local state file.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_swift
ensure_packages ps=procps
swift build -c release --product hive-health
exec "$(swift build -c release --show-bin-path)/hive-health" run "$@"
