#!/usr/bin/env bash
# Builds a Debian package of hive-health: the binary (release, Swift runtime linked in), the systemd unit, the shipped
# catalogue as /etc/hive-health/checks.d (conffiles), a commented [health] example, the Prometheus rules, the Grafana
# dashboard and the docs. Installs with apt what the build needs when missing (Debian 12).
#
#   scripts/package.sh [--output DIR] [--version VERSION] [--binary PATH] [--compression xz|gzip|zstd|none]
#
# --binary packages an existing hive-health instead of building one (the tests package their debug build this way;
# a binary linked against the toolchain's Swift runtime then needs that toolchain where it is installed, as the
# warning says). Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

output=.build-package
version=""
binary=""
compression=xz
while [ $# -gt 0 ]; do
    case "$1" in
        --output) output=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        --compression) compression=$2; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done
ensure_packages dpkg-deb=dpkg
if [ -z "$binary" ]; then
    ensure_swift
    ensure_build_packages
    swift build -c release --product hive-health --static-swift-stdlib
    binary="$(swift build -c release --show-bin-path)/hive-health"
fi
[ -x "$binary" ] || { echo "error: $binary is not an executable" >&2; exit 1; }
if [ -z "$version" ]; then
    if git rev-parse HEAD >/dev/null 2>&1; then
        version="0.1.0+git$(git rev-list --count HEAD).$(git rev-parse --short=7 HEAD)"
    else
        version="0.1.0"
    fi
fi
case "$version" in
    [0-9]*) ;;
    *) echo "error: a Debian version starts with a digit: $version" >&2; exit 64 ;;
esac
arch=$(dpkg --print-architecture)

mkdir -p "$output"
stage=$(mktemp -d "${TMPDIR:-/tmp}/hive-health-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/hive-health_${version}_${arch}"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/hive-health" \
    "$root/usr/share/doc/hive-health/examples" "$root/usr/share/hive-health"
install -m 0755 "$binary" "$root/usr/bin/hive-health"
# The unit as shipped, with the packaged binary's path.
sed 's#/usr/local/bin/hive-health#/usr/bin/hive-health#' contrib/systemd/hive-health.service \
    > "$root/lib/systemd/system/hive-health.service"
chmod 0644 "$root/lib/systemd/system/hive-health.service"
cp -r checks.d "$root/etc/hive-health/checks.d"
find "$root/etc/hive-health" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
install -m 0644 contrib/health.toml.example "$root/usr/share/doc/hive-health/examples/health.toml"
install -m 0644 README.md docs/*.md "$root/usr/share/doc/hive-health/"
cp -r contrib/prometheus contrib/grafana "$root/usr/share/hive-health/"
find "$root/usr/share" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +

# Depends: the Debian packages that own the shared libraries the binary loads.
depends=()
unowned=()
while read -r library; do
    [ -n "$library" ] || continue
    real=$(readlink -f "$library")
    owner=$(dpkg-query -S "$library" 2>/dev/null || dpkg-query -S "$real" 2>/dev/null || true)
    owner=${owner%%:*}
    if [ -n "$owner" ]; then
        case " ${depends[*]} " in *" $owner "*) ;; *) depends+=("$owner") ;; esac
    else
        unowned+=("$library")
    fi
done < <(ldd "$binary" | awk '/=> \// { print $3 } /^\t\// { print $1 }')
if [ ${#unowned[@]} -gt 0 ]; then
    echo "warning: not from a Debian package, needed where the package is installed: ${unowned[*]}" >&2
    echo "warning: (the Swift runtime: build without --binary, which links it in with --static-swift-stdlib)" >&2
fi
depends_line=$(IFS=','; echo "${depends[*]}" | sed 's/,/, /g')
size=$(du -sk "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: hive-health
Version: $version
Architecture: $arch
Maintainer: hive-health developers <hive-health@localhost>
Installed-Size: $size
Depends: ${depends_line}
Recommends: qemu-guest-agent, nbdkit, openvswitch-switch, monitoring-plugins-basic
Section: admin
Priority: optional
Homepage: https://github.com/mulgadc/spinifex
Description: EC2-compatible instance status checks for MulgaOS Spinifex (Hive)
 Checks every running instance of a node in EC2's three categories (system,
 instance, attached EBS), keeps the state, publishes on NATS, answers
 DescribeInstanceStatus and the CloudWatch StatusCheckFailed metrics, exports
 Prometheus metrics and can recover instances.
CONTROL
find "$root/etc" -type f | sed "s#^$root##" | sort > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
# The service user; systemd learns of the unit. Nothing starts by itself: configure [health], then
# `systemctl enable --now hive-health`. DPKG_ROOT is set when dpkg installs into another root: nothing to do then.
set -e
if [ "$1" = configure ] && [ -z "${DPKG_ROOT:-}" ]; then
    if ! getent passwd hive-health >/dev/null; then
        adduser --system --group --home /var/lib/hive-health --no-create-home hive-health >/dev/null 2>&1 \
            || useradd --system --user-group --home-dir /var/lib/hive-health --shell /usr/sbin/nologin hive-health
    fi
    if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
fi
exit 0
POSTINST
cat > "$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl stop hive-health.service >/dev/null 2>&1 || true
fi
exit 0
PRERM
cat > "$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
if [ "$1" = purge ] && [ -z "${DPKG_ROOT:-}" ]; then rm -rf /var/lib/hive-health; fi
exit 0
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
deb="$output/hive-health_${version}_${arch}.deb"
dpkg-deb --root-owner-group "-Z$compression" --build "$root" "$deb" >/dev/null
echo "$deb"
