#!/usr/bin/env bash
# Quick start: the whole test suite. Swift tests (each test run starts its own PostgreSQL), the web app in a real
# Chromium, the terminal client under tmux, schemathesis fuzzing of the OpenAPI contract, a quick benchmark pass (asserts only that nothing was lost), and the swift-format check.
set -euo pipefail
cd "$(dirname "$0")"
WANT_BROWSER=1 WANT_TMUX=1 ./scripts/bootstrap.sh

echo "== swift format lint"
swift format lint --recursive --strict Package.swift Sources Tests

echo "== swift build"
swift build --build-tests

echo "== swift test"
swift test --skip-build

echo "== API contract (OpenAPI document, schemathesis against a live server)"
./scripts/fuzz-api.sh

echo "== terminal client (tmux)"
bash Tests/terminal/run.sh

echo "== browser tests"
bash Tests/browser/run.sh

echo "== benchmark (quick)"
BENCH_CONFIG=debug ./scripts/bench.sh all --quick
