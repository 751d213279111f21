#!/usr/bin/env bash
# The API contract in CI: checks that every file derived from docs/openapi.yaml is current, then fuzzes a live
# server with schemathesis — the real `messenger` executable on its own embedded PostgreSQL, with real tokens —
# and fails on any 5xx, any response that violates the document, or any status it does not list.
#   MESSENGER_BIN          server binary (default .build/debug/messenger)
#   FUZZ_MAX_EXAMPLES      cases per operation in the fuzzing phase (default 300)
#   FUZZ_SEED              hypothesis seed (default: random; printed, so a failure can be replayed)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bin="${MESSENGER_BIN:-$repo/.build/debug/messenger}"
venv="$repo/.build/fuzz-venv"

# schemathesis (and PyYAML for the generator) in a virtualenv of their own, pinned.
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "4.32.5"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==4.32.5" "PyYAML>=6"
fi
"$venv/bin/python" scripts/openapi.py check

work="$(mktemp -d /tmp/messenger-fuzz.XXXXXX)"
# The embedded PostgreSQL runs as `postgres` when we are root: it must be able to reach the data folder.
chmod 755 "$work"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
metrics_port="$(free_port)"
url="http://127.0.0.1:$port"
# bcrypt at its lowest cost and a generous login limit, so that register and login are fuzzed rather than mostly
# refused (the limiter itself has its own tests); dev login is on (embedded database, loopback).
"$bin" serve --port "$port" --metrics-port "$metrics_port" --data-dir "$work/data" --bcrypt-cost 4 \
    --login-attempts-per-minute 100000 --log-level warning >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
    curl -sf "$url/readyz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "fuzz: the server did not start" >&2; exit 1; }
    sleep 0.1
done

# Users the document's examples name, and one conversation between them, so that examples and links hit real data.
login() { curl -sf -H 'Content-Type: application/json' -d "{\"username\":\"$1\"}" "$url/api/login"; }
login bob >/dev/null
token="$(login alice | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"username":"bob"}' "$url/api/conversations" >/dev/null

seed="${FUZZ_SEED:-$RANDOM$RANDOM}"
echo "fuzz: schemathesis against $url (seed $seed)"
# Checks: everything except `unsupported_method` and `allow_header_conformance` — an undocumented method on a known
# path is a JSON 404 here (the tutorial's behaviour), not a 405 with `Allow`.
status=0
MESSENGER_FUZZ_URL="$url" SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$repo/Tests/fuzz" \
    "$venv/bin/schemathesis" --config-file "$repo/Tests/fuzz/schemathesis.toml" run "$url/api/openapi.json" --url "$url" \
    --checks all --exclude-checks unsupported_method,allow_header_conformance \
    --phases examples,coverage,fuzzing,stateful --max-examples "${FUZZ_MAX_EXAMPLES:-300}" --seed "$seed" \
    --workers 2 --request-timeout 10 --no-color --report junit --report-dir "$work/report" || status=$?

# The server's own count of what it answered, from its metrics listener: no 5xx may appear there either.
metrics="$(curl -sf "http://127.0.0.1:$metrics_port/metrics")"
requests="$(grep '^messenger_http_requests_total' <<<"$metrics" | awk '{s+=$2} END {print s+0}')"
errors="$( (grep "^messenger_http_requests_total" <<<"$metrics" || true) | (grep "status=\"5" || true) | awk "{s+=\$2} END {print s+0}")"
echo "fuzz: the server answered $requests requests, $errors of them 5xx"
if [ "$errors" != 0 ]; then grep 'status="5' <<<"$metrics" >&2; status=1; fi
if grep -q 'unexpected error\|database error' "$work/server.log"; then
    echo "fuzz: the server logged errors:" >&2; grep 'unexpected error\|database error' "$work/server.log" | head -20 >&2; status=1
fi
exit "$status"
