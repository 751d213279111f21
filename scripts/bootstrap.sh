#!/usr/bin/env bash
# Installs the system packages the server, its tests and its benchmark need, when they are missing.
# As root it runs apt-get; otherwise it prints the exact command and stops.
set -euo pipefail

want_browser=${WANT_BROWSER:-0}
want_tmux=${WANT_TMUX:-0}
packages=()
dpkg -s libpq-dev >/dev/null 2>&1 || packages+=(libpq-dev)
dpkg -s pkg-config >/dev/null 2>&1 || packages+=(pkg-config)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
command -v pgbench >/dev/null 2>&1 || packages+=(postgresql-contrib)
if [ "$want_browser" = 1 ]; then
    command -v chromium >/dev/null 2>&1 || packages+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || packages+=(chromium-driver)
fi

if [ "$want_tmux" = 1 ]; then
    command -v tmux >/dev/null 2>&1 || packages+=(tmux)
fi

if [ ${#packages[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing: ${packages[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${packages[@]}"
    else
        echo "missing system packages; run:"
        echo "  sudo apt-get update && sudo apt-get install -y ${packages[*]}"
        exit 1
    fi
fi
