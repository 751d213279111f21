#!/usr/bin/env bash
# Browser tests for the web app: a real messenger server + headless Chromium driven by selenium.
# Installs what is missing (Debian's chromium + chromium-driver when root, selenium + pytest +
# axe-selenium-python), then runs pytest. Exits non-zero on failure.
#   MESSENGER_BIN   server binary (default: .build/debug/messenger under the repo root)
#   extra arguments are passed to pytest (e.g. -k restart, -x)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

need_apt=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
# An emoji font so screenshots show emoji instead of empty boxes (optional).
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need_apt+=(fonts-noto-color-emoji)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing ${need_apt[*]} and not root: install them with apt-get" >&2
  fi
fi

PY="${PYTHON:-python3}"
# axe-selenium-python bundles axe-core (the accessibility audit in test_issue18.py).
if ! "$PY" -c 'import selenium, pytest, axe_selenium_python' >/dev/null 2>&1; then
  "$PY" -m pip install -q selenium pytest axe-selenium-python
fi

mkdir -p artifacts/screenshots
exec "$PY" -m pytest -q -p no:cacheprovider "$here" "$@"
