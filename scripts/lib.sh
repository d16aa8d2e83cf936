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

# ensure_pip CHECK=PIP_PACKAGE...: installs PIP_PACKAGE with python3's pip when CHECK is missing. CHECK is a command
# name, or `py:MODULE` for a Python module (`python3 -c 'import MODULE'`).
ensure_pip() {
    local missing=() pair check package
    command -v python3 >/dev/null 2>&1 || ensure_packages python3=python3 pip3=python3-pip
    for pair in "$@"; do
        check=${pair%%=*}
        package=${pair#*=}
        case "$check" in
            py:*) python3 -c "import ${check#py:}" >/dev/null 2>&1 || missing+=("$package") ;;
            *) command -v "$check" >/dev/null 2>&1 || missing+=("$package") ;;
        esac
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing with pip: ${missing[*]}" >&2
    python3 -m pip install --quiet "${missing[@]}" 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages "${missing[@]}"
    # pyenv puts new console scripts behind shims only after a rehash.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
}

# ensure_build_packages: what building hive-health needs besides the Swift toolchain (the C libraries of its
# systemLibrary targets, found with pkg-config) and procps for its own process checks.
ensure_build_packages() {
    ensure_packages ps=procps pkg-config=pkg-config libnats-dev=libnats-dev libatasmart-dev=libatasmart-dev
}
