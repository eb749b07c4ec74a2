#!/usr/bin/env bash
# Installs what Ember needs on a Debian machine (apt packages when root and
# missing, Python packages into .venv) and builds it into build/.
# Sourced by scripts/test.sh and scripts/demo.sh; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="gcc meson ninja-build pkg-config protobuf-c-compiler libprotobuf-c-dev \
libopenblas-dev libdnnl-dev libcmocka-dev python3 python3-venv python3-pip"

install_apt() {
    local missing=()
    for p in $APT_PACKAGES; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing Debian packages: ${missing[*]} (run as root or install them)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_python() {
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check -r tests/requirements.txt
}

build() {
    local dir=$1; shift
    [ -f "$dir/build.ninja" ] || PATH="$PWD/.venv/bin:$PATH" meson setup "$dir" "$@" >/dev/null
    ninja -C "$dir" >/dev/null
}

install_apt
install_python
build build
