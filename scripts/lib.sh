# Shared by the scripts: find the Swift toolchain, install Debian packages that are missing.
# shellcheck shell=bash

ensure_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        for dir in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
            if [ -x "$dir/swift" ]; then export PATH="$dir:$PATH"; break; fi
        done
    fi
    if ! command -v swift >/dev/null 2>&1; then
        echo "error: no Swift toolchain found (swift 6.1 or newer); install it from swift.org and put it on PATH" >&2
        exit 1
    fi
}

# ensure_packages COMMAND=PACKAGE...: installs PACKAGE with apt-get when COMMAND is not found.
ensure_packages() {
    local missing=() pair command package
    for pair in "$@"; do
        command=${pair%%=*}
        package=${pair#*=}
        if ! command -v "$command" >/dev/null 2>&1 && ! dpkg -s "$package" >/dev/null 2>&1; then
            missing+=("$package")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    echo "installing: ${missing[*]}" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
