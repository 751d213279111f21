#!/usr/bin/env bash
# Quick start: build and run the server on its embedded PostgreSQL (http://127.0.0.1:3000, dev login on).
# Extra arguments go to `messenger serve` (see `--help`).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/bootstrap.sh
swift build -c release --product messenger
exec .build/release/messenger serve "$@"
