#!/usr/bin/env bash
# The terminal client for real: `messenger chat` runs under tmux against a live server on its own embedded
# PostgreSQL; keys go in with send-keys, the screen is read with capture-pane. Uses .build/debug/messenger.
set -euo pipefail
cd "$(dirname "$0")/../.."
WANT_TMUX=1 ./scripts/bootstrap.sh
if [ ! -x .build/debug/messenger ]; then swift build --product messenger; fi
exec python3 Tests/terminal/test_chat.py "$@"
